"""Frame level: every documented column, flags instead of exceptions, shared keys."""

import pandas as pd
import pytest

from resolver.standardize import ids, standardize_records
from resolver.standardize.columns import ENTERPRISE_COLUMNS, PERSON_COLUMNS
from resolver.standardize.tokens import NameTokenizer


@pytest.fixture(scope="module")
def tokenizer():
    return NameTokenizer()


def frame(**columns):
    n = len(next(iter(columns.values())))
    return pd.DataFrame({"source": ["tax"] * n, "source_record_id": [str(i) for i in range(n)],
                         "row_number": list(range(2, n + 2)), **columns}, dtype=object)


def test_enterprise_columns_and_values(tokenizer):
    df = frame(
        name=["杭州海康威视数字技术股份有限公司", "海康威视（杭州）数字技术有限公司", "*", None],
        uscc=["91330000733796106P", None, "91330000733796106Q", "92330106MA2B00000X"],
        tax_id=[None, "330100733796106", None, None],
        address=["杭州市江干区凯旋路一百二十号", None, "xx", None],
        phone=["87654321", "13812345678", "12", None],
        established=["2014/7/15", "41835", "2014-02-30", None],
        status=["存续", "在营", "??", None],
        registered_capital=["100万", "1,000", "x", None],
    )
    out = standardize_records(df, "enterprise", value_maps={"status": {"在营": "active"}},
                              tokenizer=tokenizer)
    assert list(out.columns) == ENTERPRISE_COLUMNS
    assert out["unique_id"].tolist() == ["tax:0", "tax:1", "tax:2", "tax:3"]
    assert out["name_core"][0] == out["name_core"][1] == "海康威视数字技术"
    assert out["name_tokens"][0] == ["海康威视", "数字", "技术"]
    # the USCC and the old tax number give one organization code
    assert out["org_code"][0] == out["org_code"][1] == "733796106"
    assert bool(out["org_code_valid"][0]) and bool(out["uscc_valid"][0])
    assert out["district"][0] == "上城区" and out["district_code"][0] == "330102"
    assert out["house_number"][0] == "120号"
    assert out["phone"].tolist()[:2] == ["0571-87654321", "13812345678"]
    assert out["established"].tolist()[:2] == ["2014-07-15", "2014-07-15"]
    assert out["status"].tolist()[:2] == ["active", "active"]
    assert out["registered_capital"].tolist()[:2] == [1_000_000.0, 1000.0]
    assert out["entity_kind"][2] == "individual_business" and pd.isna(out["name"][2])
    assert out["std_flags"][0] == "" and out["std_flags"][1] == ""
    flags = set(out["std_flags"][2].split(";"))
    assert flags == {"name_missing", "uscc_invalid", "phone_unparseable",
                     "date_unparseable:established", "status_unknown",
                     "number_unparseable:registered_capital"}
    assert out["uscc"][2] == "91330000733796106Q"  # kept raw, not repaired
    assert pd.isna(out["org_code"][2])  # nothing derived from an invalid code
    # missing inputs are nulls, never empty strings
    assert out["legal_rep"].isna().all() and out["revenue"].isna().all()
    assert out.loc[3, ["name", "phone", "established", "status"]].isna().all()


def test_individual_business_from_uscc_prefix(tokenizer):
    # USCC positions 1-2 = 92: an individual business; a name alone would say "other".
    body = "92330106MA2B0000"
    org = body[8:] + ids.org_code_check_char(body[8:])
    code = body[:8] + org + ids.uscc_check_char(body[:8] + org)
    out = standardize_records(frame(name=["杭州华新科技"], uscc=[code]), "enterprise",
                              tokenizer=tokenizer)
    assert out["entity_kind"][0] == "individual_business"


def test_org_code_conflict_flagged(tokenizer):
    out = standardize_records(frame(uscc=["91330000733796106P"], org_code=["60003734-1"]),
                              "enterprise", tokenizer=tokenizer)
    assert out["org_code"][0] == "600037341"
    assert "org_code_conflict" in out["std_flags"][0]


def test_person_frame():
    df = frame(
        name=["於 小明", "單田芳", None],
        id_number=["110105491231002", "11010519491231002X", "123"],
        sex=["女", "男", "?"],
        birth_date=["1949-12-31", "19491231", "x"],
        address=["西湖区文三路1号", None, None],
        phone=["13812345678", None, None],
    )
    out = standardize_records(df, "person")
    assert list(out.columns) == PERSON_COLUMNS
    assert out["name"].tolist()[:2] == ["於小明", "单田芳"]
    assert out["name_pinyin"].tolist()[:2] == ["yuxiaoming", "shantianfang"]
    assert out["id_number"].tolist()[:2] == ["11010519491231002X"] * 2
    assert out["id_birth_date"][0] == "1949-12-31" and out["id_sex"][0] == "F"
    assert out["std_flags"][0] == ""
    assert "id_sex_mismatch" in out["std_flags"][1]
    assert set(out["std_flags"][2].split(";")) == {
        "name_missing", "id_number_invalid", "sex_unknown", "date_unparseable:birth_date"}


def test_birth_date_any_holds_the_stated_date_else_the_one_in_the_id():
    """One column for blocking: a record stating only its birth date meets one whose date is
    only in its ID; an ID whose check fails still gives its birth section when it is a date."""
    df = frame(
        name=["甲", "乙", "丙", "丁", "戊"],
        id_number=[None, "11010519491231002X", "110105194912310021", "11010519491331002X",
                   "11010519491231002X"],
        birth_date=["1990-01-02", None, None, None, "1950-01-01"],
    )
    out = standardize_records(df, "person")
    assert out["birth_date_any"].fillna("-").tolist() == ["1990-01-02", "1949-12-31", "1949-12-31", "-",
                                              "1950-01-01"]
    assert pd.isna(out["id_birth_date"][2])  # the check fails: nothing derived for comparison


def test_missing_columns_and_odd_values_never_raise(tokenizer):
    df = frame(name=[1.5, float("nan"), "  "], uscc=[pd.NA, 12345, "x"])
    out = standardize_records(df, "enterprise", tokenizer=tokenizer)
    assert len(out) == 3 and out["address"].isna().all()


def test_unknown_domain():
    with pytest.raises(ValueError, match="domain"):
        standardize_records(frame(name=["x"]), "animal")


def test_second_process_gives_the_same_frame(monkeypatch, tokenizer):
    from resolver.standardize import frame as frame_module

    monkeypatch.setattr(frame_module, "_PARALLEL_MIN_ITEMS", 2)
    df = frame(name=["杭州华新科技有限公司", "杭州華新電子有限公司", "西湖区张三小吃店", None],
               uscc=["91330000733796106P", "x", None, "91110000600037341L"],
               address=["江干区凯旋路1号", "余杭区塘栖镇", None, "x"],
               phone=["87654321", "1", None, "13812345678"])
    serial = standardize_records(df, "enterprise", tokenizer=tokenizer, workers=1)
    parallel = standardize_records(df, "enterprise", tokenizer=tokenizer, workers=2)
    pd.testing.assert_frame_equal(serial, parallel)
