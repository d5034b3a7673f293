"""Exports as departments really send them (issue 15): total rows, title rows, a header over two
rows (a group row, merged cells in XLSX), dates as Excel serials or 2019年3月5日 or 20190305,
full-width digits, a lowercase x in resident IDs."""

from __future__ import annotations

import subprocess
import sys

from openpyxl import Workbook

from resolver.ingest import ingest_file
from resolver.standardize import ids
from resolver.store import open_store

MAPPING = """\
source: tax
domain: enterprise
record_id: 记录编号
header_row: {header_row}
header_rows: {header_rows}
columns:
  纳税人识别号: tax_id
  纳税人名称: name
  登记日期: activity_date
  {rep}: legal_rep
  法定代表人身份证件号码: legal_rep_id
"""
HEADER = "记录编号,纳税人识别号,纳税人名称,登记日期,法定代表人,法定代表人身份证件号码"


def _uscc(n: int) -> str:
    org = f"{n:08d}"
    org += ids.org_code_check_char(org)
    body = "91330106" + org
    return body + ids.uscc_check_char(body)


def _id_ending_in_x() -> str:
    for seq in range(100, 1000):
        first17 = f"33010619800101{seq}"
        if ids.resident_id_check_char(first17) == "X":
            return first17 + "X"
    raise AssertionError("no check character X in range")


def _ingest(tmp_path, name: str, data: bytes | None = None, header_row: int = 1, header_rows: int = 1,
            rep: str = "法定代表人"):
    (tmp_path / "tax.yaml").write_text(MAPPING.format(header_row=header_row, header_rows=header_rows, rep=rep),
                                       encoding="utf-8")
    if data is not None:
        (tmp_path / name).write_bytes(data)
    store = open_store(tmp_path / "m.duckdb")
    try:
        counts = ingest_file(store, tmp_path / "tax.yaml", tmp_path / name)
        records = store.load_records("enterprise").set_index("source_record_id")
    finally:
        store.close()
    return counts, records


def test_a_total_row_is_counted_and_named_not_loaded(tmp_path):
    lines = [HEADER, f"T1,{_uscc(1)},合计餐饮店,2019-03-05,张三,", f"T2,{_uscc(2)},杭州华新科技有限公司,2019-03-05,李四,",
             ",,合计:2户,,,", "总计,,,,,"]
    counts, records = _ingest(tmp_path, "tax.csv", "\n".join(lines).encode("gb18030"))
    assert sorted(records.index) == ["T1", "T2"]  # a company called 合计… with an id is a record
    assert counts.account["detail"]["skipped"] == {"total row (合计:2户)": [4], "total row (总计)": [5]}
    assert counts.quarantined == 0 and counts.account["unaccounted"] == 0


def test_a_total_row_with_a_count_in_the_id_column(tmp_path):
    # The label in the first column and 共2条 where a record id would be: still a total row.
    head = "纳税人名称,记录编号,纳税人识别号,登记日期,法定代表人,法定代表人身份证件号码"
    lines = [head, f"杭州华新科技有限公司,T1,{_uscc(1)},2019-03-05,张三,", f"杭州宏达贸易有限公司,T2,{_uscc(2)},2019-03-05,李四,",
             "合计,共2条,,,,"]
    counts, records = _ingest(tmp_path, "tax.csv", "\n".join(lines).encode("utf-8"))
    assert sorted(records.index) == ["T1", "T2"]
    assert counts.account["detail"]["skipped"] == {"total row (合计)": [4]}


def test_a_title_row_above_the_header_declared_or_not(tmp_path):
    data = ("杭州市税务局纳税人登记信息导出\n" + HEADER + f"\nT1,{_uscc(1)},杭州华新科技有限公司,2019-03-05,张三,\n")
    declared, records = _ingest(tmp_path, "tax.csv", data.encode("gb18030"), header_row=2)
    assert list(records.index) == ["T1"] and declared.account["title"] == 1
    assert declared.account["detail"]["notes"] == []
    (tmp_path / "m.duckdb").unlink()
    found, records = _ingest(tmp_path, "tax.csv", header_row=1)
    assert list(records.index) == ["T1"] and found.account["title"] == 1
    assert "header found on line 2" in found.account["detail"]["notes"][0]


GROUPS = ["记录编号", "纳税人信息", "", "", "法定代表人", "", "联系人"]
FIELDS = ["", "纳税人识别号", "纳税人名称", "登记日期", "姓名", "法定代表人身份证件号码", "姓名"]


def test_a_header_over_two_rows_in_csv(tmp_path):
    # Two columns are called 姓名; the group above says whose: the mapping names one as 法定代表人/姓名.
    lines = [",".join(GROUPS), ",".join(FIELDS), f"T1,{_uscc(1)},杭州华新科技有限公司,2019-03-05,张三,,王五"]
    counts, records = _ingest(tmp_path, "tax.csv", "\n".join(lines).encode("utf-8"), header_rows=2,
                              rep="法定代表人/姓名")
    assert records.loc["T1", "legal_rep"] == "张三"
    assert '"联系人/姓名":"王五"' in records.loc["T1", "raw"]
    assert counts.account["header"] == 2 and counts.account["unaccounted"] == 0


def test_a_header_over_two_rows_in_xlsx_with_merged_cells(tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["2026年6月纳税人登记信息"])
    sheet.merge_cells("A1:G1")
    sheet.append(GROUPS)
    sheet.append(FIELDS)
    sheet.merge_cells("A2:A3")  # 记录编号 over both header rows
    sheet.merge_cells("B2:D2")
    sheet.merge_cells("E2:F2")
    sheet.append(["T1", _uscc(1), "杭州华新科技有限公司", "2019-03-05", "张三", None, "王五"])
    sheet.append(["合计", None, None, None, None, None, None])
    book.save(tmp_path / "tax.xlsx")
    counts, records = _ingest(tmp_path, "tax.xlsx", header_row=2, header_rows=2, rep="法定代表人/姓名")
    assert records.loc["T1", "legal_rep"] == "张三" and records.loc["T1", "name"] == "杭州华新科技有限公司"
    assert counts.account["title"] == 1
    assert counts.account["detail"]["skipped"] == {"title": [1], "total row (合计)": [5]}


def test_dates_as_departments_type_them(tmp_path):
    dates = ["43529", "2019年3月5日", "20190305", "２０１９年３月５日", "2019/3/5", "43529.0"]
    lines = [HEADER] + [f"T{i},{_uscc(i)},杭州华新{i}号科技有限公司,{d},张三," for i, d in enumerate(dates)]
    _, records = _ingest(tmp_path, "tax.csv", "\n".join(lines).encode("utf-8"))
    assert records["activity_date"].tolist() == ["2019-03-05"] * len(dates)


def test_full_width_digits_and_a_lowercase_x(tmp_path):
    uscc, rid = _uscc(7), _id_ending_in_x()
    wide = uscc.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789ABCDEFGHJKLMNPQRTUWXY"})
    lines = [HEADER, f"Ｔ１,{wide},杭州华新科技有限公司,2019-03-05,张三,{rid.lower()}"]
    _, records = _ingest(tmp_path, "tax.csv", "\n".join(lines).encode("gb18030"))
    row = records.loc["T1"]
    assert (row["tax_id"], bool(row["tax_id_valid"])) == (uscc, True)
    assert (row["legal_rep_id"], bool(row["legal_rep_id_valid"])) == (rid, True)


def test_a_header_that_is_not_there_is_one_line_naming_file_line_and_fix(tmp_path):
    (tmp_path / "tax.yaml").write_text(MAPPING.format(header_row=1, header_rows=1, rep="法定代表人"), encoding="utf-8")
    (tmp_path / "tax.csv").write_text("编号,名称\nT1,甲\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "resolver", "ingest", "--db", str(tmp_path / "m.duckdb"),
                           "--mapping", str(tmp_path / "tax.yaml"), str(tmp_path / "tax.csv")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "tax.csv: line 1: the header lacks column(s) 记录编号" in lines[0]
    assert "set header_row" in lines[0] and "Traceback" not in done.stderr
