"""relations.yaml is validated like the other rule files (every problem at once, naming file and
key), and a relation added in YAML alone is built."""

from __future__ import annotations

import shutil

import pytest
import yaml
from relations_support import relation_pairs

from resolver.errors import ConfigError
from resolver.paths import rules_dir
from resolver.relations.build import relations_to_rebuild
from resolver.relations.rules import load_relations
from resolver.store import open_store


@pytest.fixture
def rules_copy(tmp_path):
    root = tmp_path / "rules"
    shutil.copytree(rules_dir(), root)
    return root


def _edit(root, change):
    path = root / "relations.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")


def test_the_reference_file_loads():
    rules = load_relations()
    assert {"legal_representative", "operator", "employer"} <= set(rules.relations)
    assert rules.verification is not None and rules.pairs() == [("enterprise", "person")]


def test_every_problem_is_named_with_file_and_key(rules_copy):
    def break_it(doc):
        doc["relations"]["legal_representative"]["to"] = "household"
        doc["relations"]["employer"]["match"][0]["keys"] = {"employer_uscc": "no_such_column"}
        doc["relations"]["operator"]["colour"] = "red"
        doc["verification"]["checks"][0]["relations"] = ["spouse"]
        doc["verification"]["bands"]["revenue"][0].pop("below")
    _edit(rules_copy, break_it)
    with pytest.raises(ConfigError) as caught:
        load_relations(rules_copy)
    text = str(caught.value)
    assert str(rules_copy / "relations.yaml") in text
    for expected in ("relations.legal_representative.to: 'household' is not a domain",
                     "relations.employer.match[0].keys: 'no_such_column' is not a column of enterprise records",
                     "relations.operator.colour: unknown key",
                     "verification.checks[0].relations: 'spouse' is not a relation",
                     "verification.bands.revenue[0]: needs `label`, and `below`"):
        assert expected in text, text


def test_a_relation_added_in_yaml_is_built(rules_copy, sample_store, tmp_path):
    def add(doc):
        doc["relations"]["named_contact"] = {
            "label": "登记联系人", "from": "enterprise", "to": "person", "single": False,
            "match": [{"confidence": "name_only", "keys": {"legal_rep": "name"}}]}
    _edit(rules_copy, add)
    db = tmp_path / "m.duckdb"
    shutil.copy(sample_store.db, db)
    store = open_store(db)
    try:
        clusters = store.membership("enterprise").rename(columns={"entity_id": "cluster_id"})
        summary = store.save_resolution("enterprise", clusters, None, "test-yaml",
                                        relations=relations_to_rebuild("enterprise", rules_copy))
    finally:
        store.close()
    assert summary.relations.get("named_contact", 0) > 100
    rows = relation_pairs(db)
    assert set(rows.loc[rows["relation"] == "named_contact", "confidence"]) == {"name_only"}


def test_revenue_is_shown_as_its_band_never_the_figure():
    from resolver.relations.verification import band

    bands = load_relations().verification.bands["revenue"]
    assert [band(v, bands) for v in (0, 0.0, 999.9, 1000, 4999, 20000, 10**6, "12.5", None, "n/a")] == [
        "无营业收入", "无营业收入", "100万元以下", "100-500万元", "100-500万元", "2000万-1亿元", "1亿元以上",
        "100万元以下", None, None]
