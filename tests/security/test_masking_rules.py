"""Masking by field (finding 1) and raw rows through the mapping (finding 2), without HTTP."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from resolver.access.masking import mask_conflicts, mask_fields, mask_phone, withhold_personal
from resolver.access.raw_rows import forget_plans, mask_raw
from resolver.errors import ConfigError
from resolver.exports import masked_golden
from resolver.ingest import ingest_file
from resolver.lookup.entity import member_view
from resolver.mapping import load_mapping
from resolver.paths import rules_dir
from resolver.store import open_store

ID = "33018219791005148X"


def test_an_id_keeps_only_its_region_and_the_birth_date_only_its_year():
    row = {"name": "姚瑾", "id_number": ID, "id_number_valid": True, "id_birth_date": "1979-10-05",
           "id_sex": "F", "id_region": "330182", "sex": "F", "birth_date": "1979-10-05",
           "phone": "15946325453", "phone_kind": "mobile", "phone_valid": True}
    masked = mask_fields("person", row, unmasked=False)
    assert masked == {"name": "姚瑾", "id_number": "330182************", "id_number_valid": True, "sex": "F",
                      "birth_date": "1979-**-**", "phone": "159****5453", "phone_valid": True}
    assert mask_fields("person", row, unmasked=True) == row


@pytest.mark.parametrize("tax_id,shown", [
    ("33018219791005148X01", "330182**************"),  # individual business: operator's ID + 2 digits
    (ID, "330182************"),  # an individual filing under the ID itself
    ("33018219791005148Y", "330182************"),  # a mistyped ID is nearly the ID
    ("91330105307973923G", "91330105307973923G"),  # a company's USCC is public
    ("330106307973923", "330106307973923"),  # region + organization code
])
def test_a_tax_number_is_personal_when_it_embeds_a_resident_id(tax_id, shown):
    assert mask_fields("enterprise", {"tax_id": tax_id}, unmasked=False)["tax_id"] == shown


# Values that also pass a company check: the standardizer reads them as the operator's ID from
# the record (fields.reads_as_operator_id), so masking must not read them as a company's.
@pytest.mark.parametrize("tax_id,shown", [
    ("330182199608104375", "330182************"),  # a real ID that also passes the USCC check
    ("341002801012298", "341002*********"),  # an old 15-digit ID that passes the org code check
    ("34100280101229801", "341002***********"),  # that old ID + 2 digits
])
def test_a_resident_id_is_masked_even_when_it_also_reads_as_a_company_code(tax_id, shown):
    assert mask_fields("enterprise", {"tax_id": tax_id}, unmasked=False)["tax_id"] == shown
    raw = mask_raw("enterprise", _member("tax", {"纳税人识别号": tax_id}, tax_id=tax_id), unmasked=False)
    assert raw == {"纳税人识别号": shown}


def test_an_org_code_read_from_a_tax_number_that_is_an_id_is_part_of_that_id():
    # 341002801012298 is an old 15-digit ID and passes the org code check: read as region + org
    # code, its "org code" is the ID's birth date and sequence number
    row = {"name": "杭州测试贸易有限公司", "tax_id": "341002801012298", "tax_id_kind": "region_org",
           "org_code": "801012298", "org_code_valid": True}
    masked = mask_fields("enterprise", row, unmasked=False)
    assert masked["tax_id"] == "341002*********" and masked["org_code"] == "*********"
    raw = mask_raw("enterprise", _member("tax", {"纳税人识别号": "341002801012298"}, **row), unmasked=False)
    assert raw == {"纳税人识别号": "341002*********"}
    frame = masked_golden(pd.DataFrame([row, {"tax_id": "330106307973923", "org_code": "307973923"}]), "enterprise")
    assert list(frame["org_code"]) == ["*********", "307973923"]  # a company's stays readable
    assert mask_fields("enterprise", row, unmasked=True) == row


def test_a_conflicting_org_code_read_from_an_id_like_tax_number_is_masked_too():
    members = [{"tax_id": "341002801012298", "org_code": "801012298"}, {"org_code": "123456789"}]
    conflicts = [{"field": "org_code", "value": v, "source": "tax", "source_record_id": "1"}
                 for v in ("801012298", "123456789")]
    shown = mask_conflicts("enterprise", conflicts, unmasked=False, members=members)
    assert [c["value"] for c in shown] == ["*********", "123456789"]


@pytest.mark.parametrize("phone,shown", [
    ("13812345678", "138****5678"), ("0571-87654321", "0571-****4321"), ("87654321", "****4321"),
    ("12345", "*****"), ("1381234567", "**********"),
])
def test_phone_forms(phone, shown):
    assert mask_phone(phone) == shown


def test_conflicts_are_masked_as_their_field():
    conflicts = [{"field": "birth_date", "value": "1979-10-06", "source": "police", "source_record_id": "1"},
                 {"field": "id_birth_date", "value": "1979-10-06", "source": "police", "source_record_id": "1"},
                 {"field": "name", "value": "姚瑾", "source": "police", "source_record_id": "1"}]
    assert [c["value"] for c in mask_conflicts("person", conflicts, unmasked=False)] == ["1979-**-**", "姚瑾"]


def _member(source: str, raw: dict[str, object], **fields: object) -> dict[str, object]:
    return {"unique_id": f"{source}:1", "source": source, "source_record_id": "1", "file": "/srv/exports/x.csv",
            "raw": json.dumps(raw, ensure_ascii=False), **fields}


def test_raw_rows_are_masked_through_the_mapping_whatever_the_value_looks_like():
    raw = {"人员编号": "GA1", "公民身份号码": "330182791005148", "出生日期": "19791005", "联系电话": "159 4632 5453",
           "姓名": "姚瑾", "民族": "汉族", "备注": "电话 0571-8765 4321", "登记单位": "杭州市公安局西湖区分局"}
    member = _member("police", raw, id_number=ID, birth_date="1979-10-05", phone="15946325453", name="姚瑾")
    assert mask_raw("person", member, unmasked=False) == {
        "人员编号": "GA1", "公民身份号码": "330182************", "出生日期": "1979-**-**", "联系电话": "159****5453",
        "姓名": "姚瑾", "登记单位": "杭州市公安局西湖区分局"}  # 民族 and 备注 are unmapped and not public
    assert mask_raw("person", member, unmasked=True) == raw


def test_a_landline_and_a_value_the_standardizer_could_not_read_are_masked_too():
    raw = {"记录编号": "SW1", "联系电话": "0571-8765-4321", "法定代表人身份证件号码": "3301 8219 7910 0514 8X"}
    member = _member("tax", raw, phone="0571-87654321", legal_rep_id=None)
    assert mask_raw("enterprise", member, unmasked=False) == {
        "记录编号": "SW1", "联系电话": "0571-****4321", "法定代表人身份证件号码": "*" * 22}


def test_rows_written_through_the_api_use_canonical_names_and_are_masked_as_fields():
    raw = {"source_record_id": "t9", "legal_rep_id": "3301 8219 7910 0514 8X", "name": "x", "note": "y"}
    member = _member("tax", raw, legal_rep_id=ID)
    assert mask_raw("enterprise", member, unmasked=False) == {
        "source_record_id": "t9", "legal_rep_id": "330182************", "name": "x"}


def test_member_records_show_the_file_name_not_the_server_path():
    view = member_view("person", _member("police", {"人员编号": "GA1"}), unmasked=True)
    assert view["file"] == "x.csv"


def test_public_columns_are_validated_at_load(tmp_path: Path):
    path = tmp_path / "police.yaml"
    path.write_text("source: police\ndomain: person\nrecord_id: 公民身份号码\n"
                    "columns: {公民身份号码: id_number, 姓名: name}\n"
                    "public_columns: [姓名, 民族, 民族, 公民身份号码]\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_mapping(path)
    text = str(err.value)
    assert "record_id: column '公民身份号码' is mapped to personal field 'id_number'" in text
    assert "public_columns.姓名: column is mapped to 'name'" in text
    assert "public_columns: '民族' is listed more than once" in text
    path.write_text("source: police\ndomain: person\nrecord_id: 编号\ncolumns: {姓名: name}\n"
                    "public_columns: 民族\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="public_columns: must be a list"):
        load_mapping(path)


def test_every_committed_mapping_loads_and_hides_what_it_does_not_list():
    forget_plans()
    for path in sorted((Path(__file__).resolve().parents[2] / "matching_rules" / "sources").glob("*.yaml")):
        mapping = load_mapping(path)
        assert "备注" not in mapping.public_columns and "经办人" not in mapping.public_columns


def test_a_caller_without_pii_matches_without_personal_fields():
    record = {"name": "姚瑾", "id_number": ID, "birth_date": "1979-10-05", "phone": "15946325453", "sex": "F"}
    kept, withheld = withhold_personal("person", record, unmasked=False)
    assert kept == {"name": "姚瑾", "sex": "F"} and withheld == ["birth_date", "id_number", "phone"]
    assert withhold_personal("person", record, unmasked=True) == (record, [])
    kept, withheld = withhold_personal("enterprise", {"name": "x", "tax_id": "91330105307973923G"}, unmasked=False)
    assert withheld == [] and kept["tax_id"] == "91330105307973923G"


def test_a_record_id_that_is_a_resident_id_is_refused_on_write():
    from resolver.errors import InputError
    from resolver.lookup.incremental import ingest_records

    with pytest.raises(InputError, match="holds a resident ID") as err:
        ingest_records(None, "enterprise", "tax", [{"source_record_id": ID, "name": "x"}], "税务")  # type: ignore[arg-type]
    assert ID not in str(err.value)


def test_a_second_column_of_a_personal_field_is_hidden_not_shown_as_an_unmapped_one(tmp_path: Path, monkeypatch):
    # the reader keeps a repeated column as `group/name` (two-line header) or `name#2`: neither
    # is mapped nor listed public, so a caller without the scope does not see it
    rules = tmp_path / "rules" / "sources"
    rules.mkdir(parents=True)
    shutil.copytree(rules_dir() / "person", tmp_path / "rules" / "person")
    (rules / "police.yaml").write_text(
        "source: police\ndomain: person\nrecord_id: 人员编号\nheader_rows: 2\n"
        "columns: {公民身份号码: id_number, 姓名: name, 联系电话: phone}\npublic_columns: [登记单位]\n",
        encoding="utf-8")
    data = tmp_path / "police.csv"
    data.write_text("人员编号,基本信息,,,联系人,,\n,姓名,公民身份号码,公民身份号码,联系电话,联系电话,登记单位\n"
                    "GA1,张三,330103196709156511,330103196709156512,13812345678,13987654321,西湖派出所\n"
                    "GA2,李四,330103196709156520,,13812345679,,,13987654322\n", encoding="utf-8")
    monkeypatch.setenv("RESOLVER_RULES", str(tmp_path / "rules"))
    forget_plans()
    store = open_store(tmp_path / "m.duckdb")
    try:
        ingest_file(store, rules / "police.yaml", data)
        rows = store.load_records("person").to_dict("records")
    finally:
        store.close()
        forget_plans()
    assert len(rows) == 1  # GA2 has a cell right of the header: quarantined with its line
    assert set(json.loads(rows[0]["raw"])) == {"人员编号", "姓名", "公民身份号码", "基本信息/公民身份号码", "联系电话",
                                               "联系人/联系电话", "登记单位"}
    monkeypatch.setenv("RESOLVER_RULES", str(tmp_path / "rules"))
    try:
        shown = mask_raw("person", rows[0], unmasked=False)
    finally:
        forget_plans()
    assert shown == {"人员编号": "GA1", "姓名": "张三", "公民身份号码": "330103************", "联系电话": "138****5678",
                     "登记单位": "西湖派出所"}
