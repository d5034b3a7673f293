"""Reading department exports and applying source mappings: encodings, title lines, bad rows."""

import textwrap

import pandas as pd
import pytest

from resolver.canonical import apply_mapping
from resolver.errors import ConfigError, InputError
from resolver.mapping import load_mapping
from resolver.readers import detect_encoding, read_export

MAPPING = """
source: tax
domain: enterprise
record_id: 记录编号
encoding: {encoding}
header_row: {header_row}
columns:
  纳税人识别号: tax_id
  纳税人名称: name
  登记日期: established
values:
  status: {{}}
"""


def _mapping(tmp_path, encoding="auto", header_row=1, body=None):
    path = tmp_path / "tax.yaml"
    text = body if body is not None else MAPPING.format(encoding=encoding, header_row=header_row)
    path.write_text(textwrap.dedent(text).replace("values:\n  status: {}\n", ""), encoding="utf-8")
    return load_mapping(path)


ROWS = "记录编号,纳税人识别号,纳税人名称,登记日期,备注\nT1,91330106MA2B000001,杭州华新科技有限公司,2014/7/15,甲\nT2,,西湖区张三小吃店,20140715,\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_each_encoding_reads_back_with_auto_detection(tmp_path, encoding):
    path = tmp_path / "tax.csv"
    path.write_bytes(ROWS.encode(encoding))
    frame, rejections = read_export(path, _mapping(tmp_path))
    assert rejections == []
    assert frame["纳税人名称"].tolist() == ["杭州华新科技有限公司", "西湖区张三小吃店"]
    assert frame["纳税人识别号"].tolist()[1] is None
    assert frame["_row_number"].tolist() == [2, 3]
    assert detect_encoding(path.read_bytes()) == encoding


def test_title_line_above_header_and_row_numbers_are_physical(tmp_path):
    path = tmp_path / "tax.csv"
    path.write_bytes(("2026年6月纳税人登记信息导出\n" + ROWS).encode("gb18030"))
    frame, _ = read_export(path, _mapping(tmp_path, header_row=2))
    assert frame["_row_number"].tolist() == [3, 4]


def test_undecodable_and_ragged_lines_are_rejected_not_lost(tmp_path):
    path = tmp_path / "tax.csv"
    good = ROWS.encode("utf-8")
    broken = "T3,x,坏行,2014-01-01,\n".encode("gb18030")  # a GB18030 line inside a UTF-8 file
    ragged = b"T4,only,three\n"
    path.write_bytes(good + broken + ragged)
    frame, rejections = read_export(path, _mapping(tmp_path, encoding="utf-8"))
    assert len(frame) == 2
    assert [(r.row_number, r.field) for r in rejections] == [(4, "*"), (5, "*")]
    assert "cannot decode as utf-8" in rejections[0].reason
    assert "has 3 fields" in rejections[1].reason


def test_mapping_keeps_unmapped_columns_and_rejects_missing_or_duplicate_ids(tmp_path):
    path = tmp_path / "tax.csv"
    path.write_text(ROWS + ",91330106MA2B000002,无编号公司,2014-01-01,\nT1,x,重复,2014-01-01,\n", encoding="utf-8")
    mapping = _mapping(tmp_path)
    raw, _ = read_export(path, mapping)
    records, rejections = apply_mapping(raw, mapping, path)
    assert records["source_record_id"].tolist() == ["T1", "T2"]
    assert '"备注":"甲"' in records.loc[0, "raw"]
    assert [(r.row_number, r.field) for r in rejections] == [(4, "记录编号"), (5, "记录编号")]
    assert "missing record id" in rejections[0].reason
    assert "duplicate record id 'T1' (first at row 2)" in rejections[1].reason


def test_a_mapped_column_missing_from_the_header_names_file_and_column(tmp_path):
    path = tmp_path / "tax.csv"
    path.write_text("记录编号,纳税人名称\nT1,甲\n", encoding="utf-8")
    mapping = _mapping(tmp_path)
    with pytest.raises(InputError, match=r"tax\.csv: line 1: the header lacks column\(s\) 纳税人识别号, 登记日期 "
                       r"named in .*tax\.yaml.*Line 1 has: 记录编号, 纳税人名称"):
        read_export(path, mapping)


def test_mapping_file_problems_are_reported_all_at_once(tmp_path):
    body = """
    source: tax bureau
    domain: enterprise
    label: ""
    roles: [tax_registration, taxes]
    encodng: utf-8
    header_row: 0
    columns:
      纳税人名称: nmae
      名称: name
      名称2: name
    """
    with pytest.raises(ConfigError) as err:
        _mapping(tmp_path, body=body)
    text = str(err.value)
    for expected in ["unknown key 'encodng'", "missing required key 'record_id'",
                     "source: 'tax bureau' must be a plain name", "label: must be", "roles: unknown role 'taxes'",
                     "header_row", "columns.纳税人名称: 'nmae'", "'name' is mapped more than once"]:
        assert expected in text
    assert "tax.yaml" in text


def test_every_reference_mapping_names_its_department_and_roles():
    from resolver.paths import REPO_ROOT

    mappings = [load_mapping(p) for p in sorted((REPO_ROOT / "matching_rules" / "sources").glob("*.yaml"))]
    assert len(mappings) >= 12
    for m in mappings:
        assert m.label and m.label != m.source and m.roles, m.path
    enterprise_roles = {r for m in mappings if m.domain == "enterprise" for r in m.roles}
    assert {"business_registry", "tax_registration", "activity", "inspection", "revenue_report",
            "permit"} <= enterprise_roles


def test_any_department_may_be_a_source_with_its_label_and_roles(tmp_path):
    body = MAPPING.format(encoding="auto", header_row=1).replace(
        "source: tax", "source: work_safety\nlabel: 安监\nroles: [activity, permit]")
    mapping = _mapping(tmp_path, body=body)
    assert (mapping.source, mapping.label, mapping.roles) == ("work_safety", "安监", ("activity", "permit"))
    plain = _mapping(tmp_path)
    assert (plain.label, plain.roles) == ("tax", ())  # a mapping without them: its name, no roles


def test_excel_and_parquet_exports(tmp_path):
    frame = pd.DataFrame({"记录编号": ["T1", "T2"], "纳税人识别号": ["a", None],
                          "纳税人名称": ["甲", "乙"], "登记日期": [pd.Timestamp("2014-07-15"), None]})
    mapping = _mapping(tmp_path)
    frame.to_excel(tmp_path / "tax.xlsx", index=False)
    frame.to_parquet(tmp_path / "tax.parquet", index=False)
    for name in ("tax.xlsx", "tax.parquet"):
        raw, rejections = read_export(tmp_path / name, mapping)
        assert raw["纳税人名称"].tolist() == ["甲", "乙"], name
        assert raw["登记日期"].tolist()[0].startswith("2014-07-15"), name
        assert raw["_row_number"].tolist() == ([2, 3] if name.endswith("xlsx") else [1, 2])


def test_parquet_row_without_record_id_is_quarantined(tmp_path):
    """An empty record-id cell (None in Parquet, NaN once pandas reads it) is quarantined naming
    file, row and field; the other rows load."""
    frame = pd.DataFrame({"记录编号": ["T1", None, "T3"], "纳税人识别号": ["a", "b", None],
                          "纳税人名称": ["甲", "乙", "丙"], "登记日期": ["2014-07-15", None, None]})
    path = tmp_path / "tax.parquet"
    frame.to_parquet(path, index=False)
    mapping = _mapping(tmp_path)
    raw, rejections = read_export(path, mapping)
    assert rejections == []
    assert raw["_row_number"].tolist() == [1, 2, 3]
    assert raw["纳税人识别号"].tolist() == ["a", "b", None]
    records, rejected = apply_mapping(raw, mapping, path)
    assert records["source_record_id"].tolist() == ["T1", "T3"]
    assert [(r.file, r.row_number, r.field, r.reason) for r in rejected] == [
        (str(path), 2, "记录编号", "missing record id")]
