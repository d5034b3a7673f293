"""The inventory's figures against counts made here another way: with pandas from the raw
fixture files (read by tests/fixtures/fixture_io, not by resolver's reader), the identifier
validators applied to the raw values, the fixture's truth for overlaps, and pandas over the
stored records for disagreements."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest
from inventory_store import BAD_ROWS, Built

from resolver.domains import load_schema
from resolver.inventory import DomainInventory
from resolver.standardize import ids
from resolver.standardize.phone import parse_phone
from resolver.store import open_store

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))
from fixture_io import SAMPLE, manifest, read_rows  # noqa: E402


def raw_frame(source: str) -> pd.DataFrame:
    entry = next(e for e in manifest(SAMPLE)["files"] if e["source"] == source)
    header, rows = read_rows(SAMPLE, entry)
    return pd.DataFrame(rows, columns=header).astype(str).apply(lambda c: c.str.strip())


def domain_of(built: Built, source: str) -> DomainInventory:
    return next(d for d in built.inventory.domains if source in set(d.sources["source"]))


def field_row(built: Built, source: str, field: str) -> pd.Series:
    fields = domain_of(built, source).fields
    return fields[(fields["source"] == source) & (fields["field"] == field)].iloc[0]


def source_row(built: Built, source: str) -> pd.Series:
    sources = domain_of(built, source).sources
    return sources[sources["source"] == source].iloc[0]


def test_records_and_quarantine_share_per_department(built: Built):
    for entry in manifest(SAMPLE)["files"]:
        rows = len(raw_frame(entry["source"]))
        row = source_row(built, entry["source"])
        bad = BAD_ROWS if entry["source"] == "tax" else 0
        assert (row["records"], row["quarantined"], row["read"]) == (rows, bad, rows + bad), entry["source"]
        assert row["quarantine_share"] == pytest.approx(bad / (rows + bad))
    assert source_row(built, "tax")["quarantine_share"] > 0


# (source, raw column, field): non-empty share of the raw column is the field's completeness
# (fields read from another one when absent, such as org_code from a USCC, are not among them).
DIRECT = [("commerce", "统一社会信用代码", "uscc"), ("commerce", "法定代表人", "legal_rep"), ("commerce", "注册号", "reg_no"),
          ("commerce", "住所", "address"), ("tax", "纳税人识别号", "tax_id"), ("tax", "联系电话", "phone"),
          ("statistics", "行业代码", "industry_code"), ("police", "公民身份号码", "id_number"),
          ("police", "联系电话", "phone"), ("social_security", "通讯地址", "address"), ("housing_fund", "手机号", "phone")]


@pytest.mark.parametrize(("source", "column", "field"), DIRECT)
def test_completeness_is_the_raw_columns_non_empty_share(built: Built, source: str, column: str, field: str):
    raw = raw_frame(source)[column]
    row = field_row(built, source, field)
    assert row["filled"] == (raw != "").sum()
    assert row["completeness"] == pytest.approx((raw != "").mean())
    assert 0 < row["completeness"] <= 1


def test_a_name_written_as_a_star_is_not_a_name(built: Built):
    for source, column in (("commerce", "企业名称"), ("tax", "纳税人名称")):
        raw = raw_frame(source)[column]
        assert field_row(built, source, "name")["filled"] == (~raw.isin(["", "*"])).sum()


def _valid_share(values: pd.Series, check) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    given = values[values != ""]
    return int(sum(bool(check(v)) for v in given)), len(given)


CHECKS = {
    "uscc": lambda v: ids.normalize_uscc(v)[1],
    "id_number": lambda v: ids.normalize_resident_id(v)[1],
    "phone": lambda v: (p := parse_phone(v)) is not None and p.kind is not None,
}


@pytest.mark.parametrize(("source", "column", "field"), [
    ("commerce", "统一社会信用代码", "uscc"), ("statistics", "统一社会信用代码", "uscc"),
    ("police", "公民身份号码", "id_number"), ("social_security", "社会保障号码", "id_number"),
    ("housing_fund", "证件号码", "id_number"), ("police", "联系电话", "phone"), ("civil_affairs", "联系电话", "phone")])
def test_validity_is_the_share_passing_the_identifier_check(built: Built, source: str, column: str, field: str):
    valid, given = _valid_share(raw_frame(source)[column], CHECKS[field])
    row = field_row(built, source, field)
    assert (row["valid"], row["checked"]) == (valid, given)
    assert row["validity"] == pytest.approx(valid / given)
    assert valid < given  # the sample carries bad check characters: the figure is not trivially 100 %


@pytest.mark.parametrize(("source", "column", "field", "normal"), [
    ("commerce", "统一社会信用代码", "uscc", lambda v: ids.normalize_uscc(v)[0]),
    ("police", "公民身份号码", "id_number", lambda v: ids.normalize_resident_id(v)[0]),
    ("commerce", "登记状态", "status", str)])
def test_distinct_counts(built: Built, source: str, column: str, field: str, normal):  # type: ignore[no-untyped-def]
    raw = raw_frame(source)[column]
    assert field_row(built, source, field)["distinct"] == len({normal(v) for v in raw if v != ""}) or field == "status"
    if field == "status":  # several words map onto one status: 存续 and 在业 are both active
        mapped = {"存续": "active", "在业": "active", "存续（在营、开业、在册）": "active", "注销": "cancelled",
                  "吊销": "revoked", "吊销，未注销": "revoked", "迁出": "moved_out"}
        assert field_row(built, source, field)["distinct"] == len({mapped[v] for v in raw if v != ""})


def test_freshness_is_the_newest_date_of_the_mappings_record_date_column(built: Built):
    commerce = pd.to_datetime(raw_frame("commerce")["核准日期"], errors="coerce")
    tax = pd.to_datetime(raw_frame("tax")["登记日期"], errors="coerce", format="mixed")
    row = source_row(built, "commerce")
    assert (row["record_date_column"], row["latest"]) == ("核准日期", commerce.max().date().isoformat())
    assert row["earliest"] == commerce.min().date().isoformat()
    assert source_row(built, "tax")["latest"] == tax.max().date().isoformat()
    assert source_row(built, "tax")["record_date_field"] == "activity_date"
    years = raw_frame("statistics")["报告期"].str.extract(r"(\d{4})")[0].astype(int)
    assert source_row(built, "statistics")["latest"] == f"{years.max()}-12-31"
    police = source_row(built, "police")
    assert pd.isna(police["latest"]) and "无记录日期列" in police["note"]


def test_overlaps_match_the_fixture_truth(built: Built):
    truth = pd.read_csv(SAMPLE / "truth_members.csv", dtype=str)
    held = truth.groupby(["domain", "source"])["entity_id"].apply(set)
    checked = 0
    for inv in built.inventory.domains:
        for row in inv.overlaps.to_dict("records"):
            mine, other = held[(inv.domain, row["source"])], held[(inv.domain, row["other"])]
            assert row["source_entities"] == len(mine)
            assert row["shared"] == len(mine & other), (row["source"], row["other"])
            assert row["share"] == pytest.approx(len(mine & other) / len(mine))
            checked += 1
    assert checked == 8 * 7 + 4 * 3


def test_disagreements_match_pandas_over_the_stored_records(built: Built):
    store = open_store(built.db, read_only=True)
    try:
        records = store.load_records("enterprise").merge(store.membership("enterprise"), on="unique_id")
    finally:
        store.close()
    inv = domain_of(built, "commerce")
    for field in ("uscc", "name", "legal_rep", "status"):
        given = records.dropna(subset=[field]).groupby(["source", "entity_id"])[field].apply(set).to_dict()
        for a, b in (("commerce", "tax"), ("commerce", "quality"), ("quality", "tax")):
            left = {e: v for (s, e), v in given.items() if s == a}
            right = {e: v for (s, e), v in given.items() if s == b}
            both = left.keys() & right.keys()
            disagree = sum(not (left[e] & right[e]) for e in both)
            row = inv.disagreements[(inv.disagreements["source"] == a) & (inv.disagreements["other"] == b)
                                    & (inv.disagreements["field"] == field)]
            if not len(both):
                assert row.empty
                continue
            assert (int(row["compared"].iloc[0]), int(row["disagree"].iloc[0])) == (len(both), disagree), (a, b, field)
    names = inv.disagreements[(inv.disagreements["field"] == "name") & (inv.disagreements["source"] == "commerce")
                              & (inv.disagreements["other"] == "tax")]
    assert names["disagree"].iloc[0] > 0  # tax keeps names from before renames


def test_every_canonical_field_of_every_department_is_profiled(built: Built):
    for inv in built.inventory.domains:
        fields = set(load_schema(inv.domain).canonical_fields())
        for source in inv.sources["source"]:
            assert set(inv.fields.loc[inv.fields["source"] == source, "field"]) == fields
