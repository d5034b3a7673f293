"""Standardizers chosen by field type: the schema, not a field's or a domain's name, decides
how a field is read, which columns it makes and which other fields it reads."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import yaml

from resolver.canonical import apply_mapping
from resolver.domains import load_schema
from resolver.errors import ConfigError
from resolver.mapping import load_mapping
from resolver.paths import REPO_ROOT
from resolver.readers import read_export
from resolver.standardize import standardize_one, standardize_records
from resolver.standardize.plan import plan_of
from resolver.standardize.tokens import NameTokenizer

AMBIGUOUS = "330106800101109"  # region + a valid org code, and a real 15-digit resident ID
SEX_F_ID = "11010519491231002X"  # GB 11643: sequence digit 2 is female

# The enterprise domain with every field renamed and the fields in another order.
FIRM = {"name": "company", "uscc": "credit_code", "org_code": "orgcode", "reg_no": "regno",
        "tax_id": "taxno", "legal_rep": "boss", "legal_rep_id": "boss_id", "address": "site",
        "phone": "tel", "established": "founded", "status": "state", "industry_code": "trade",
        "registered_capital": "capital", "employees": "staff", "revenue": "sales",
        "activity_date": "last_seen", "entity_kind": "kind"}
PARTS = {"name_core": "company_core", "trade_name": "company_trade", "name_region": "company_region",
         "org_form": "company_form", "parent_name": "company_parent", "name_tokens": "company_tokens",
         "tax_id_kind": "taxno_kind"}


def _firm_schema(root):
    text = (REPO_ROOT / "matching_rules" / "enterprise" / "schema.yaml").read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    fields = {}
    for old, spec in reversed(list(raw["fields"].items())):
        spec = dict(spec)
        for key in ("fill_from",):
            if key in spec:
                spec[key] = [FIRM[f] for f in spec[key]]
        if "from" in spec:
            spec["from"] = {k: FIRM[v] for k, v in spec["from"].items()}
        if "derived" in spec:
            spec["derived"] = {p: PARTS.get(c, c) for p, c in spec["derived"].items()}
        fields[FIRM[old]] = spec
    folder = root / "firm"
    folder.mkdir()
    (folder / "schema.yaml").write_text(yaml.safe_dump(
        {"domain": "firm", "id_prefix": "F", "fields": fields}, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_schema("firm", root)


def _sample(source: str, file: str, n: int = 400) -> pd.DataFrame:
    mapping = load_mapping(REPO_ROOT / "matching_rules" / "sources" / f"{source}.yaml")
    raw, _ = read_export(REPO_ROOT / "fixtures" / "sample" / file, mapping)
    frame, _ = apply_mapping(raw.head(n), mapping, file)
    return frame.drop(columns=["raw", "record_hash"])


TRICKY = pd.DataFrame([
    # 15 digits that read both ways: an individual business's tax number is its operator's ID
    {"name": "拱墅区李四五金店", "tax_id": AMBIGUOUS},
    # ... a company's is region + organization code, which fills the org code
    {"name": "杭州华新科技有限公司", "tax_id": AMBIGUOUS},
    # an org code given beside a USCC holding another one: kept, flagged as a conflict
    {"name": "杭州华新科技有限公司", "uscc": "91330000733796106P", "org_code": "60003734-1"},
    # a raw '*' name: an individual business; a stated kind wins over everything
    {"name": "*", "uscc": "91330000733796106Q", "status": "吊销,未注销"},
    {"name": "杭州华新科技有限公司", "entity_kind": "branch", "status": "??"},
], dtype=object)
TRICKY.insert(0, "source_record_id", [str(i) for i in range(len(TRICKY))])
TRICKY.insert(0, "source", "tax")


def test_tricky_enterprise_records_by_type():
    out = standardize_records(TRICKY, "enterprise")
    assert out["tax_id_kind"].fillna("-").tolist() == ["personal", "region_org", "-", "-", "-"]
    assert out["legal_rep_id"][0] == "330106198001011091" and bool(out["legal_rep_id_valid"][0])
    assert pd.isna(out["org_code"][0]) and out["org_code"][1] == "800101109"
    assert out["org_code"][2] == "600037341"
    assert out["entity_kind"].tolist() == ["individual_business", "company", "company",
                                           "individual_business", "branch"]
    assert out["status"].fillna("-").tolist() == ["-", "-", "-", "revoked", "-"]
    assert out["std_flags"].tolist() == [
        "", "", "org_code_conflict", "name_missing;uscc_invalid", "status_unknown"]


def test_person_sex_checked_against_the_id_and_either_date():
    df = pd.DataFrame({"source": ["police"] * 2, "source_record_id": ["1", "2"],
                       "name": ["張偉", "李娜"], "id_number": [SEX_F_ID, None],
                       "sex": ["男", "女"], "birth_date": [None, "1990-01-02"]}, dtype=object)
    out = standardize_records(df, "person")
    assert out["std_flags"].tolist() == ["id_sex_mismatch", ""]
    assert out["birth_date_any"].tolist() == ["1949-12-31", "1990-01-02"]
    assert out["name_pinyin"].tolist() == ["zhangwei", "lina"]


def _same(a, b):
    if a is None or a is pd.NA or (isinstance(a, float) and math.isnan(a)):
        return b is None or b is pd.NA or (isinstance(b, float) and math.isnan(b))
    if isinstance(a, list) or isinstance(b, list):
        return list(a) == list(b)
    return a == b


def test_a_renamed_domain_standardizes_as_its_types_say(tmp_path):
    """Every enterprise field renamed, the fields in reverse order: the same values, the
    renamed columns, the flags under the new names (fill, conflict, kind, operator ID)."""
    firm = _firm_schema(tmp_path)
    records = pd.concat([TRICKY, _sample("tax", "tax_taxpayers.csv"),
                         _sample("commerce", "commerce_registry.csv")], ignore_index=True)
    records["row_number"] = range(2, len(records) + 2)
    expected = standardize_records(records, "enterprise", value_maps={"status": {"在营": "active"}})
    renamed = records.rename(columns=FIRM)
    ours = standardize_records(renamed, firm, value_maps={"state": {"在营": "active"}})
    assert list(ours.columns) == firm.columns()
    fields_back = {new: old for old, new in FIRM.items()}
    back = {**fields_back, **{new: old for old, new in PARTS.items()},
            **{f"{new}_{part}": f"{old}_{part}" for old, new in FIRM.items() for part in ("valid", "kind")}}
    theirs = ours.rename(columns=back)
    assert set(theirs.columns) == set(expected.columns)
    for column in expected.columns.drop("std_flags"):
        diff = [i for i, (a, b) in enumerate(zip(expected[column], theirs[column], strict=True))
                if not _same(a, b)]
        assert diff == [], (column, diff[:5])

    def flags(text):  # the firm's flag codes under the enterprise names, as a set
        out = set()
        for flag in filter(None, text.split(";")):
            head, colon, field = flag.partition(":")
            if colon:
                out.add(f"{head}:{fields_back[field]}")
                continue
            new = max((n for n in fields_back if flag.startswith(n + "_")), key=len)
            out.add(fields_back[new] + flag[len(new):])
        return out

    assert [set(filter(None, f.split(";"))) for f in expected["std_flags"]] == \
        [flags(f) for f in ours["std_flags"]]
    assert (expected["std_flags"] != "").sum() > 10  # the sample has flagged rows to compare
    tokenizer = NameTokenizer()  # the one-record path follows the same schema
    for i in range(8):
        record = {k: v for k, v in renamed.iloc[i].to_dict().items() if v is not None and v == v}
        one = standardize_one(firm, record, tokenizer)
        assert list(one) == firm.columns()
        assert [c for c in one if c != "company_tokens" and not _same(one[c], ours[c][i])] == []


def test_unknown_domain_names_the_domains():
    with pytest.raises(ValueError, match="enterprise"):
        standardize_records(TRICKY, "animal")


def test_a_link_the_standardizer_cannot_follow_is_a_config_error(tmp_path):
    folder = tmp_path / "shop"
    folder.mkdir()
    (folder / "schema.yaml").write_text(yaml.safe_dump({"domain": "shop", "id_prefix": "S", "fields": {
        "name": {"type": "text"}, "tel": {"type": "phone"},
        "code": {"type": "identifier", "standard": "org_code", "fill_from": ["tel"]},
        "when": {"type": "date", "either_with": "tel"}}}, sort_keys=False), encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        plan_of(load_schema("shop", tmp_path), "杭州市", "0571")
    assert "fields.code.fill_from" in str(error.value) and "fields.when.either_with" in str(error.value)


def test_generic_types_dispatch(tmp_path):
    folder = tmp_path / "shop"
    folder.mkdir()
    (folder / "schema.yaml").write_text(yaml.safe_dump({"domain": "shop", "id_prefix": "S", "fields": {
        "owner": {"type": "name", "search": "name"}, "licence": {"type": "identifier"},
        "grade": {"type": "code", "values": ["A", "B"]}, "note": {"type": "text"},
        "opened": {"type": "date"}, "area": {"type": "number"}}}, sort_keys=False), encoding="utf-8")
    df = pd.DataFrame({"owner": ["  O'Brien, Mary ", None], "licence": ["ab-12 3", "--"],
                       "grade": [" b", "C"], "note": ["Corner Shop", None],
                       "opened": ["20140715", "2014-02-30"], "area": ["1,250", "big"]}, dtype=object)
    out = standardize_records(df, load_schema("shop", tmp_path))
    assert out["owner"].tolist()[0] == "o brien mary" and out["licence"][0] == "AB123"
    assert out["grade"][0] == "b" and pd.isna(out["grade"][1]) and out["note"][0] == "Corner Shop"
    assert out["opened"][0] == "2014-07-15" and out["area"][0] == 1250.0
    assert out["licence_valid"].isna().all()
    assert out["std_flags"].tolist() == ["", "owner_missing;grade_unknown;date_unparseable:opened;"
                                             "number_unparseable:area"]
