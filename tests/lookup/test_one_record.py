"""standardize_one (the match path) gives exactly what standardize_records gives, on real
fixture exports of both domains: every column, every flag."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from resolver.canonical import apply_mapping
from resolver.domains import load_schema
from resolver.lookup.one_record import Standardizer, standardize_one
from resolver.mapping import load_mapping
from resolver.paths import REPO_ROOT
from resolver.readers import read_export
from resolver.standardize import ids
from resolver.standardize.one import standardize_one as one_standardize_one
from resolver.standardize.records import standardize_records
from resolver.standardize.tokens import NameTokenizer

SAMPLE = REPO_ROOT / "fixtures" / "sample"


def _canonical(source: str, file: str, domain: str, n: int) -> pd.DataFrame:
    mapping = load_mapping(REPO_ROOT / "matching_rules" / "sources" / f"{source}.yaml")
    raw, _ = read_export(SAMPLE / file, mapping)
    frame, _ = apply_mapping(raw.head(n), mapping, file)
    keep = ["source", "source_record_id", *[c for c in load_schema(domain).canonical_fields() if c in frame.columns]]
    return frame[keep].reset_index(drop=True)


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if hasattr(a, "__len__") and not isinstance(a, str):
        return list(a) == list(b)  # type: ignore[arg-type]
    return a == b


@pytest.mark.parametrize("source,file,domain", [
    ("commerce", "commerce_registry.csv", "enterprise"),
    ("tax", "tax_taxpayers.csv", "enterprise"),
    ("police", "police_household.csv", "person"),
    ("housing_fund", "housing_fund_accounts.csv", "person"),
])
def test_one_record_equals_the_frame_standardizer(source, file, domain):
    raw = _canonical(source, file, domain, 300)
    tokenizer = NameTokenizer()
    # the frame call teaches the tokenizer every trade name of the batch; the single-record
    # calls then see the same dictionary, so token lists are comparable
    expected = standardize_records(raw, domain, tokenizer=tokenizer)
    flagged = 0
    for i, record in enumerate(raw.to_dict("records")):
        ours = standardize_one(domain, {k: v for k, v in record.items() if v is not None and v == v},
                               tokenizer)
        want = {k: (None if v is pd.NA or (isinstance(v, float) and math.isnan(v)) else v)
                for k, v in expected.iloc[i].to_dict().items()}
        assert set(ours) == set(want)
        diff = {k: (ours[k], want[k]) for k in want
                if not (ours[k] is None and want[k] is None) and not _same(ours[k], want[k])}
        assert diff == {}, (record, diff)
        flagged += bool(ours["std_flags"])
    assert flagged > 0  # the sample's noise exercises the flags too


# --- hard cases, written by hand -----------------------------------------------------------

def _uscc(first17: str) -> str:
    return first17 + ids.uscc_check_char(first17)


def _resident(first17: str) -> str:
    return first17 + ids.resident_id_check_char(first17)


USCC_A = "91330000733796106P"  # valid, organization code 733796106
USCC_92 = _uscc("92330106MA2B00000")  # an individual business by its code
RESIDENT = _resident("33010619900102123")  # male, born 1990-01-02
RESIDENT_F = _resident("33010619851231124")  # female

ENTERPRISE_CASES: list[dict[str, object]] = [
    {"name": "杭州華新科技有限公司", "legal_rep": "張偉", "address": "杭州市西湖區文三路1號",
     "phone": "0571-87654321", "uscc": USCC_A},
    {"name": "杭州华新科技有限公司西湖分公司", "address": "（杭州）西湖区文三路一百二十号",
     "phone": "87654321"},
    {"name": "中国银行股份有限公司杭州分行", "phone": "0571 8765 4321 转 123"},
    {"name": "华新科技（杭州）有限公司", "phone": "+86 138 1234 5678"},
    {"name": "华新（浙江）科技有限公司", "phone": "13812345678/0571-87654321"},
    {"name": "【杭州】华新科技有限公司", "phone": 13812345678},
    {"name": "杭州银行股份有限公司", "address": "浙江省杭州市上城区庆春路46号"},
    {"name": "杭州西湖区张三小吃店（个体工商户）", "uscc": USCC_92},
    {"name": "*", "uscc": USCC_92, "legal_rep": "张三"},
    {"name": "西湖分公司", "uscc": USCC_92},
    {"name": "杭州华新科技有限公司萧山分公司", "uscc": USCC_92},  # a branch stays a branch
    {"name": "ＡＢＣ　科技\n有限公司", "legal_rep": "阿卜杜 · 热合曼"},
    {"name": "杭州 华新 贸易 有限合伙（有限合伙）", "legal_rep": "於小明"},
    {"name": "华新", "entity_kind": "branch"},
    {"name": "华新科技有限公司", "entity_kind": "bogus", "uscc": USCC_92},
    {"name": "无", "uscc": "91330000733796106Q", "phone": "12"},
    {"name": "", "uscc": " 9133 0000 7337 9610 6p "},
    {"name": "杭州华新科技有限公司", "tax_id": "330106733796106", "org_code": "73379610-6"},
    {"name": "杭州华新科技有限公司", "uscc": USCC_A, "org_code": "12345678-9"},
    {"name": "杭州华新科技有限公司", "org_code": "12345678X"},
    {"name": "杭州华新科技有限公司", "tax_id": RESIDENT, "legal_rep_id": "330106900102123"},
    {"name": "杭州华新科技有限公司", "tax_id": RESIDENT + "01", "legal_rep_id": "123"},
    {"name": "杭州华新科技有限公司", "tax_id": "abc", "reg_no": "330100000012345"},
    {"name": "杭州华新科技有限公司", "established": "41835", "activity_date": 41835},
    {"name": "杭州华新科技有限公司", "established": 41835.0, "activity_date": "2014年7月15日"},
    {"name": "杭州华新科技有限公司", "established": "2014-02-30", "activity_date": "20140715"},
    {"name": "杭州华新科技有限公司", "status": "在营", "registered_capital": "100万元",
     "employees": 12, "revenue": "1,000.5"},
    {"name": "杭州华新科技有限公司", "status": "??", "registered_capital": "abc",
     "employees": "-", "revenue": "", "industry_code": " I65 "},
    {"name": "杭州华新科技有限公司", "status": "吊销，未注销", "address": "", "phone": "无",
     "legal_rep": "  "},
    {"name": "杭州华新科技有限公司", "unknown_field": "x", "another": 3, "row_number": 7},
    {"address": "西湖区文三路1号", "phone": "87654321"},  # no name at all
]

PERSON_CASES: list[dict[str, object]] = [
    {"name": "張偉", "id_number": RESIDENT, "sex": "男", "birth_date": "1990-01-02",
     "phone": "13812345678", "address": "杭州市西湖區文三路1號"},
    {"name": "於小明", "id_number": "330106900102123", "sex": "女"},  # 15 digits; sex mismatch
    {"name": "乾隆", "id_number": RESIDENT.lower(), "birth_date": "19900102"},
    {"name": "阿卜杜 • 热合曼", "id_number": RESIDENT_F, "sex": "2", "birth_date": "31047"},
    {"name": "王 伟", "id_number": RESIDENT[:-1] + "0", "sex": "未知", "birth_date": "1990-02-30"},
    {"name": "王伟", "id_number": "123", "sex": "F", "birth_date": 32874},
    {"name": "", "id_number": "", "sex": "", "birth_date": "", "phone": "", "address": ""},
    {"name": "无", "phone": "87654321", "address": "（杭州）文三路一百号"},
    {"name": "李四", "phone": "0571-8765432", "address": "上海市浦东新区世纪大道100号"},
    {"name": "李四", "phone": "12", "address": "xx"},
    {"name": "单田芳", "sex": "M", "unknown_field": "x", "row_number": 3},
    {"id_number": RESIDENT},  # no name at all
]


def _record(i: int, case: dict[str, object]) -> dict[str, object]:
    return {"source": "query", "source_record_id": str(i), **case}


def _row(frame: pd.DataFrame, i: int) -> dict[str, object]:
    return {k: (None if v is pd.NA or (isinstance(v, float) and math.isnan(v)) else v)
            for k, v in frame.iloc[i].to_dict().items()}


@pytest.mark.parametrize("domain,cases", [("enterprise", ENTERPRISE_CASES),
                                          ("person", PERSON_CASES)])
def test_one_record_equals_the_frame_on_hard_cases(domain, cases):
    records = [_record(i, c) for i, c in enumerate(cases)]
    tokenizer = NameTokenizer()
    value_maps = {"status": {"在营": "active"}, "sex": {"M": "男"}}
    expected = standardize_records(pd.DataFrame(records, dtype=object), domain,
                                   value_maps=value_maps, tokenizer=tokenizer)
    for i, record in enumerate(records):
        ours = one_standardize_one(domain, record, tokenizer, value_maps=value_maps)
        want = _row(expected, i)
        assert list(ours) == list(want)
        diff = {k: (ours[k], want[k]) for k in want
                if not (ours[k] is None and want[k] is None) and not _same(ours[k], want[k])}
        assert diff == {}, (record, diff)
        # the same row standardized alone, as a one-row frame
        alone = _row(standardize_records(pd.DataFrame([record], dtype=object), domain,
                                         value_maps=value_maps, tokenizer=tokenizer), 0)
        assert {k: v for k, v in alone.items() if v is not None} == \
            {k: v for k, v in ours.items() if v is not None}


def test_one_record_types():
    tokenizer = NameTokenizer()
    row = one_standardize_one("enterprise", _record(0, {
        "name": "杭州华新科技有限公司", "uscc": USCC_A, "registered_capital": "100万",
        "row_number": "7"}), tokenizer)
    assert type(row["uscc_valid"]) is bool and type(row["registered_capital"]) is float
    assert row["name_tokens"] == ["华新", "科技"] and row["row_number"] == 7
    assert row["unique_id"] == "query:0" and row["std_flags"] == ""
    assert set(row["std_flags"].split(";")) - {""} == set()
    person = one_standardize_one("person", {"name": "張偉", "sex": "女", "id_number": RESIDENT},
                                 tokenizer)
    assert person["name"] == "张伟" and person["std_flags"] == "id_sex_mismatch"
    assert person["source"] is None and person["unique_id"] is None
    with pytest.raises(ValueError):
        one_standardize_one("vehicle", {}, tokenizer)


def test_standardizer_wraps_standardize_one():
    s = Standardizer()
    record = _record(0, {"name": "杭州華新科技有限公司", "legal_rep": "王伟",
                         "address": "杭州市西湖区文三路1号", "phone": "0571-87654321"})
    assert s.one("enterprise", record) == one_standardize_one("enterprise", record, s._ready())
    assert s.frame("enterprise", [record])["name"].tolist() == ["杭州华新科技有限公司"]
