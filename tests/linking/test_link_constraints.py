"""Hard constraints (resolver.linking.constraints): one rule, three forms that agree.

The parity test runs on the committed sample's real standardized records: for many pairs,
`conflicts(a, b)` equals the SQL form evaluated by DuckDB and the clustering's integer codes.
"""

import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from resolver.ingest import prepare
from resolver.linking import constraints as hard
from resolver.linking.constraints import DistinctKinds, DistinctWhenValid
from resolver.linking.rules import load_rules
from resolver.unregistered.facts import VETO_CONSTRAINTS

pytestmark = pytest.mark.slow  # make test-slow; see tests/conftest.py

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "fixtures" / "sample"


def _records(domain: str) -> pd.DataFrame:
    manifest = json.loads((SAMPLE / "manifest.json").read_text(encoding="utf-8"))
    frames = [prepare(ROOT / "matching_rules" / "sources" / f"{f['source']}.yaml", SAMPLE / f["file"]).records
              for f in manifest["files"] if f["domain"] == domain]
    return pd.concat(frames, ignore_index=True)


def _pairs(names: pd.Series, rng: np.random.Generator) -> pd.DataFrame:
    """Random pairs plus pairs that share a name (where different codes and kinds meet)."""
    n = len(names)
    left, right = rng.integers(0, n, 3000), rng.integers(0, n, 3000)
    same = pd.Series(range(n)).groupby(names.to_numpy()).apply(list)
    for members in same[same.map(len) > 1].head(1500):
        left = np.append(left, members[0])
        right = np.append(right, members[-1])
    return pd.DataFrame({"i": left, "j": right})


@pytest.mark.parametrize("domain", ["enterprise", "person"])
def test_conflicts_equals_sql_and_codes_on_sample_records(domain):
    records = _records(domain)
    cons = list(hard.of(load_rules(domain).clustering))
    if domain == "enterprise":  # the 漏管户 vetoes' forms, read on the raw columns here
        cons += [DistinctWhenValid("uscc"), DistinctWhenValid("org_code", "org_code_valid"),
                 VETO_CONSTRAINTS["branch_mismatch"]]
    columns = sorted({c for con in cons for c in con.columns})
    frame = records[columns].reset_index(drop=True).assign(idx=range(len(records)))
    pairs = _pairs(records["name"].reset_index(drop=True), np.random.default_rng(7))
    con = duckdb.connect()
    con.register("r", frame)
    con.register("p", pairs)
    sql = ", ".join(f"{c.sql('a', 'b')} AS c{k}" for k, c in enumerate(cons))
    by_sql = con.execute(f"SELECT p.i, p.j, {sql} FROM p JOIN r a ON a.idx = p.i JOIN r b ON b.idx = p.j "
                         "ORDER BY p.i, p.j").df()
    rows = frame.to_dict("records")
    hits = {k: 0 for k in range(len(cons))}
    for k, c in enumerate(cons):
        codes = c.codes(frame)
        for i, j, want in zip(by_sql["i"], by_sql["j"], by_sql[f"c{k}"], strict=True):
            got = c.conflicts(rows[i], rows[j])
            assert got == bool(want), f"{c}: {rows[i]} vs {rows[j]}: pure {got}, SQL {want}"
            assert got == (codes[i] >= 0 and codes[j] >= 0 and codes[i] != codes[j]), f"{c}: codes disagree"
            hits[k] += got
    # the pairs reach both answers of every constraint (a parity test that could not fail would say nothing)
    assert all(hits[k] > 0 for k in hits), {str(cons[k]): hits[k] for k in hits}
    assert all(hits[k] < len(by_sql) for k in hits)


def test_constraints_come_from_the_schema():
    assert hard.of(load_rules("enterprise").clustering) == (
        DistinctWhenValid("uscc", "uscc_valid"), DistinctKinds("entity_kind", ("branch",)))
    assert hard.of(load_rules("person").clustering) == (DistinctWhenValid("id_number", "id_number_valid"),)


def test_model_json_of_older_versions_still_loads():
    old = [{"kind": "different_valid", "column": "uscc", "valid_flag": "uscc_valid", "why": "…"},
           {"kind": "branch_vs_head_office", "kind_column": "entity_kind"}]
    assert hard.from_dicts(old) == hard.of(load_rules("enterprise").clustering)
    assert hard.from_dicts(hard.to_dicts(hard.from_dicts(old))) == hard.from_dicts(old)


def test_pure_form_on_a_record_and_a_golden_record():
    uscc = DistinctWhenValid("uscc", "uscc_valid")
    branch = DistinctKinds("entity_kind", ("branch",))
    golden = {"uscc": "91330106MA2B00001X", "entity_kind": "company"}  # a golden record carries no flags
    row = {"uscc": "91330106MA2B00002X", "uscc_valid": True, "entity_kind": "company"}
    assert uscc.conflicts(row, golden) and not branch.conflicts(row, golden)
    assert not uscc.conflicts({**row, "uscc_valid": False}, golden)
    assert not uscc.conflicts({**row, "uscc": golden["uscc"]}, golden)
    assert branch.conflicts({"entity_kind": "branch"}, golden)
    assert not branch.conflicts({"entity_kind": None}, golden)
    assert not branch.conflicts({"entity_kind": "individual_business"}, golden)  # neither is a branch
    assert hard.first_conflict([uscc, branch], {"entity_kind": "branch"}, golden) == branch


def test_constraints_key_in_clustering_yaml_is_refused(tmp_path):
    import shutil

    from resolver.errors import ConfigError

    shutil.copytree(ROOT / "matching_rules" / "enterprise", tmp_path / "enterprise")
    path = tmp_path / "enterprise" / "clustering.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "constraints: []\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_rules("enterprise", tmp_path)
    assert any("clustering.yaml: key 'constraints'" in p and "schema.yaml" in p for p in err.value.problems)
