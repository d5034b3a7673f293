"""`resolver export open` on the sample store: enterprises as public golden records only, people
only as counts that identify no one, and a schema that names a personal field refused at load."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest
from inventory_store import Built

from resolver.access.sensitivity import embeds_resident_id
from resolver.cli.app import run
from resolver.domains import load_schema
from resolver.errors import ConfigError
from resolver.paths import rules_dir
from resolver.store import open_store

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "open_data"))
from attacker import pinned  # noqa: E402

AS_OF = "2026-06-30"


def golden_long(built: Built, domain: str) -> pd.DataFrame:
    """Golden values of active entities, wide, made here with pandas from the long table."""
    store = open_store(built.db, read_only=True)
    try:
        long = store.golden(domain)
        active = set(store.reader().active_entities(domain)["entity_id"])
    finally:
        store.close()
    wide = long.pivot(index="entity_id", columns="field", values="value")
    return wide[wide.index.isin(active)]


@pytest.fixture(scope="module")
def enterprise_open(built: Built) -> pd.DataFrame:
    out = built.work / "open_enterprise.csv"
    assert run(["export", "open", "--db", str(built.db), "--domain", "enterprise", "--out", str(out)]) == 0
    return pd.read_csv(out, dtype=str, encoding="utf-8-sig")


@pytest.fixture(scope="module")
def person_open(built: Built) -> pd.DataFrame:
    out = built.work / "open_person.csv"
    assert run(["export", "open", "--db", str(built.db), "--domain", "person", "--out", str(out),
                "--as-of", AS_OF]) == 0
    return pd.read_csv(out, dtype={"district": str, "age_band": str}, encoding="utf-8-sig")


def test_enterprises_are_active_non_individual_golden_records_with_public_fields(built: Built,
                                                                                enterprise_open: pd.DataFrame):
    assert list(enterprise_open.columns) == ["entity_id", "name", "uscc", "status", "district", "industry_code",
                                             "established", "model_version"]
    golden = golden_long(built, "enterprise")
    individual = individual_by_a_record(built.db)
    kept = golden[(golden["status"] == "active") & (golden["entity_kind"] != "individual_business")
                  & ~golden.index.isin(individual)]
    assert set(enterprise_open["entity_id"]) == set(kept.index)
    assert (enterprise_open["status"] == "active").all()
    by_id = enterprise_open.set_index("entity_id")
    for field in ("name", "uscc", "district", "industry_code", "established"):
        assert by_id[field].fillna("").to_dict() == kept[field].fillna("").to_dict(), field
    # the sample's individual businesses are there to be left out
    assert (golden["entity_kind"] == "individual_business").sum() > 0


def individual_by_a_record(db: Path) -> set[str]:
    """Entities one of whose member records is an individual business, by pandas over the records."""
    store = open_store(db, read_only=True)
    try:
        records = store.load_records("enterprise").merge(store.membership("enterprise"), on="unique_id")
    finally:
        store.close()
    return set(records.loc[records["entity_kind"] == "individual_business", "entity_id"])


def test_one_record_saying_individual_business_is_enough_to_leave_an_entity_out(built: Built, tmp_path: Path):
    # At 1M, 29 individual businesses named 修理部 had golden entity_kind `other`: tax and quality
    # read the name without an organisation form and outvoted the register. Make one such here.
    db = tmp_path / "master.duckdb"
    shutil.copy(built.db, db)
    target = sorted(individual_by_a_record(db))[0]
    store = open_store(db)
    try:
        with store.transaction() as con:
            con.execute("UPDATE golden_values SET value = 'other' WHERE entity_id = ? AND field = 'entity_kind'",
                        [target])
            con.execute("UPDATE golden_values SET value = 'active' WHERE entity_id = ? AND field = 'status'", [target])
    finally:
        store.close()
    out = tmp_path / "open.csv"
    assert run(["export", "open", "--db", str(db), "--domain", "enterprise", "--out", str(out)]) == 0
    assert target not in set(pd.read_csv(out, dtype=str, encoding="utf-8-sig")["entity_id"])


def test_no_enterprise_cell_holds_a_personal_value(built: Built, enterprise_open: pd.DataFrame):
    golden = golden_long(built, "enterprise")
    personal = set()
    for field in ("legal_rep", "legal_rep_id", "phone", "address"):
        personal |= set(golden[field].dropna())
    # a company's 18-character tax number is its USCC (public); an individual's is the operator's ID
    personal |= {v for v in golden["tax_id"].dropna() if embeds_resident_id(v)}
    cells = set(enterprise_open.drop(columns=["entity_id", "model_version"]).stack())
    assert personal and not cells & personal
    assert not enterprise_open["uscc"].dropna().str.startswith("92").any()  # 个体工商户's code


def test_people_are_counts_only_and_no_count_under_k_is_shown(person_open: pd.DataFrame):
    assert list(person_open.columns) == ["district", "age_band", "count", "suppressed", "model_version"]
    shown = person_open.loc[~person_open["suppressed"], "count"]
    assert shown.notna().all() and person_open.loc[person_open["suppressed"], "count"].isna().all()
    assert ((shown == 0) | (shown >= load_schema("person").open_data.min_cell)).all()  # type: ignore[union-attr]
    assert person_open["suppressed"].sum() > 0  # the sample has small cells: suppression is exercised


def test_the_counts_are_the_golden_records_counts(built: Built, person_open: pd.DataFrame):
    golden = golden_long(built, "person")
    born = pd.to_datetime(golden["birth_date"], errors="coerce")
    age = [2026 - b.year - ((b.month, b.day) > (6, 30)) if pd.notna(b) else None for b in born]
    band = ["未知" if a is None else "0-17" if a < 18 else "18-34" if a < 35 else "35-59" if a < 60 else "60+"
            for a in age]
    truth = pd.crosstab(golden["district"].fillna("未知"), pd.Series(band, index=golden.index), margins=True,
                        margins_name="合计")
    for row in person_open.to_dict("records"):
        expected = truth.loc[row["district"], row["age_band"]] if row["age_band"] in truth.columns else 0
        if not row["suppressed"]:
            assert row["count"] == expected, (row["district"], row["age_band"])
    assert person_open.loc[(person_open["district"] == "合计") & (person_open["age_band"] == "合计"), "count"].iloc[0] \
        == len(golden)


def test_totals_give_no_withheld_count_back(built: Built, person_open: pd.DataFrame):
    golden = golden_long(built, "person")
    rows = list(dict.fromkeys(person_open["district"]))
    cols = list(dict.fromkeys(person_open["age_band"]))
    assert rows[-1] == cols[-1] == "合计"
    cell = person_open.set_index(["district", "age_band"])
    shown = [[None if cell.loc[(r, c), "suppressed"] else int(cell.loc[(r, c), "count"]) for c in cols] for r in rows]
    # the true counts, recomputed here, for the attacker to test each withheld one against
    born = pd.to_datetime(golden["birth_date"], errors="coerce")
    age = [2026 - b.year - ((b.month, b.day) > (6, 30)) if pd.notna(b) else None for b in born]
    band = pd.Series(["未知" if a is None else "0-17" if a < 18 else "18-34" if a < 35 else "35-59" if a < 60
                      else "60+" for a in age], index=golden.index)
    truth = pd.crosstab(golden["district"].fillna("未知"), band, margins=True, margins_name="合计")
    true = [[int(truth.loc[r, c]) if c in truth.columns else 0 for c in cols] for r in rows]
    assert pinned(shown, true) == []


def test_no_row_identifies_a_person(built: Built, person_open: pd.DataFrame):
    schema = load_schema("person")
    assert not set(person_open.columns) & (set(schema.canonical_fields()) - {"district"}) - {"district"}
    assert not set(person_open.columns) & set(schema.personal())
    golden = golden_long(built, "person")
    personal = {str(v) for f in ("name", "id_number", "phone", "birth_date", "address") for v in golden[f].dropna()}
    cells = {str(v) for v in person_open.drop(columns=["model_version"]).stack()}
    assert not cells & personal
    # every row is a group: a disclosed count is 0 or at least k, never one person
    assert not ((person_open["count"] > 0) & (person_open["count"] < 10)).any()


def test_xlsx_shows_chinese_headers(built: Built):
    out = built.work / "open_person.xlsx"
    assert run(["export", "open", "--db", str(built.db), "--domain", "person", "--out", str(out),
                "--as-of", AS_OF]) == 0
    assert list(pd.read_excel(out, engine="openpyxl").columns) == ["区县", "年龄段", "数量", "已抑制", "模型版本"]


def _rules_with(tmp_path: Path, domain: str, old: str, new: str) -> Path:
    root = tmp_path / "rules"
    shutil.copytree(rules_dir(), root)
    path = root / domain / "schema.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    return root


@pytest.mark.parametrize(("field", "why"), [
    ("legal_rep", "person_name"), ("legal_rep_id", "pii"), ("phone", "pii"), ("address", "address"),
    ("road", "address"), ("tax_id", "pii"), ("no_such", "not a field")])
def test_a_schema_naming_a_personal_field_is_refused(tmp_path: Path, field: str, why: str):
    root = _rules_with(tmp_path, "enterprise", "records: [name, uscc,", f"records: [name, {field}, uscc,")
    with pytest.raises(ConfigError) as info:
        load_schema("enterprise", root)
    assert f"'{field}'" in str(info.value) and why in str(info.value)


@pytest.mark.parametrize(("old", "new", "says"), [
    ("min_cell: 10", "min_cell: 5", "min_cell"), ("counts_by: [district, age_band]", "counts_by: [address, age_band]",
                                                  "address"),
    ("counts_by: [district, age_band]", "counts_by: [id_number, age_band]", "pii"),
    ("counts_by: [district, age_band]", "counts_by: [district]", "two dimensions")])
def test_person_counts_must_be_coarse_and_k_at_least_10(tmp_path: Path, old: str, new: str, says: str):
    root = _rules_with(tmp_path, "person", old, new)
    with pytest.raises(ConfigError) as info:
        load_schema("person", root)
    assert says in str(info.value)


def test_a_domain_without_open_data_is_refused_with_a_reason(built: Built, capsys: pytest.CaptureFixture[str]):
    assert run(["export", "open", "--db", str(built.db), "--domain", "resident", "--out",
                str(built.work / "x.csv")]) == 1
    assert "declares no open data" in capsys.readouterr().err
