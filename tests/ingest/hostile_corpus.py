"""A corpus of hostile department exports, written by code, with where every line must go.

Each `Case` is one file (CSV in UTF-8, UTF-8 with BOM, GBK, GB18030; real XLSX through
openpyxl; Parquet) and its expected accounting: physical lines, header and title lines,
records loaded, lines skipped by reason (blank, total row) and lines quarantined with a
word of the reason. The test (test_hostile_corpus.py) ingests each into a real store and
checks that lines = header + title + skipped + continuation + loaded + quarantined exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

MAPPING = """\
source: tax
domain: enterprise
record_id: 记录编号
encoding: {encoding}
header_row: {header_row}
header_rows: {header_rows}
columns:
  纳税人识别号: tax_id
  纳税人名称: name
  登记日期: activity_date
  联系电话: phone
"""
HEADER = ["记录编号", "纳税人识别号", "纳税人名称", "登记日期", "联系电话", "备注"]
GROUPED = (["记录编号", "纳税人信息", "", "", "联系方式", ""],
           ["", "纳税人识别号", "纳税人名称", "登记日期", "联系电话", "备注"])


def row(n: int) -> list[str]:
    """A plain record: T001 … with a name that needs GBK, a date, a phone, a note."""
    return [f"T{n:03d}", f"91330106MA2B{n:06d}", f"杭州华新{n}号科技有限公司", "2019-03-05",
            f"1381234{n:04d}", "正常"]


def csv_text(rows: list[list[str]], sep: str = "\n") -> str:
    return sep.join(",".join(r) for r in rows) + sep


@dataclass
class Case:
    name: str
    write: Callable[[Path], None]  # writes the file at the given path
    suffix: str
    lines: int
    loaded: int
    header: int = 1
    title: int = 0
    skipped: dict[str, list[int]] = field(default_factory=dict)
    quarantined: dict[int, str] = field(default_factory=dict)  # line -> a word of the reason
    continuation: int = 0
    encoding: str = "auto"
    header_row: int = 1
    header_rows: int = 1
    ids: list[str] | None = None  # record ids that must be stored exactly so
    refused: str | None = None  # the whole file is refused with one line containing this

    def mapping(self) -> str:
        return MAPPING.format(encoding=self.encoding, header_row=self.header_row, header_rows=self.header_rows)


def _bytes(data: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(data)


def _xlsx(build: Callable[[object], None]) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        from openpyxl import Workbook

        book = Workbook()
        build(book.active)
        book.save(path)
    return write


def _parquet(frame: pd.DataFrame) -> Callable[[Path], None]:
    return lambda path: frame.to_parquet(path, index=False)


def _rows(n: int) -> list[list[str]]:
    return [HEADER] + [row(i) for i in range(1, n + 1)]


def _unterminated() -> bytes:
    rows = _rows(51)
    rows[11][2] = '"杭州华新11号科技有限公司'  # line 12: a quote opened and never closed
    return csv_text(rows).encode("utf-8")


def _unterminated_last_field() -> bytes:
    rows = _rows(10)
    rows[5][5] = '"备注没有结束'  # line 6: would swallow lines 7-11 into its note
    return csv_text(rows).encode("utf-8")


def _ragged() -> bytes:
    rows = _rows(20)
    rows[7][2] = "杭州华新,7号科技有限公司"  # line 8: an unquoted comma shifts every value right
    rows[9] = rows[9][:4]  # line 10: two fields short
    return csv_text(rows).encode("gb18030")


def _trailing_commas() -> bytes:
    return csv_text([r + [""] for r in _rows(10)]).encode("utf-8")


def _duplicate_headers() -> bytes:
    rows = [HEADER + ["联系电话", "备注"]] + [row(i) + ["0571-88888888", "二"] for i in range(1, 11)]
    return csv_text(rows).encode("utf-8")


def _big_field() -> bytes:
    rows = _rows(10)
    rows[4][5] = '"' + "很长的备注," * 28_000 + '"'  # ~140 KB of text with commas, quoted
    return csv_text(rows).encode("utf-8")


def _invisible_ids() -> bytes:
    rows = _rows(5)
    rows[1][0] = "\u200bT001"
    rows[2][0] = "Ｔ００２"  # full-width
    rows[3][0] = "T003\u200d"
    rows[4][0] = "\ufeffT004"  # a BOM left mid-file by concatenating two exports
    return b"\xef\xbb\xbf" + csv_text(rows).encode("utf-8")


def _title_and_totals() -> bytes:
    rows = [["杭州市税务局纳税人登记信息导出(2026年6月)"], [""]] + _rows(12) + \
        [[""], ["合计", "", "", "", "", "12户"], ["制表人:张三"]]
    return csv_text(rows).encode("gb18030")


def _grouped_csv() -> bytes:
    return csv_text([*GROUPED] + [row(i) for i in range(1, 9)] + [["总计:8户"]]).encode("utf-8")


def _undecodable() -> bytes:
    head = csv_text(_rows(6)).encode("utf-8")
    bad = ",".join(row(7)).encode("gb18030") + b"\n"  # a GBK line inside a UTF-8 file
    tail = "\n".join(",".join(row(i)) for i in range(8, 11)).encode("utf-8") + b"\n"
    return head + bad + tail


def _ids_missing_or_repeated() -> bytes:
    rows = _rows(8)
    rows[3][0] = ""
    rows[6][0] = "T002"
    return csv_text(rows).encode("utf-8")


def _multiline_value() -> bytes:
    rows = _rows(6)
    rows[2][5] = '"地址在\n第二行"'  # a legitimate line break inside a quoted value
    return csv_text(rows).encode("utf-8")


def _gb18030_only() -> bytes:
    rows = _rows(6)
    rows[1][2] = "杭州䶮€科技有限公司"  # characters GBK lacks
    return csv_text(rows).encode("gb18030")


def _xlsx_report(sheet) -> None:  # type: ignore[no-untyped-def]
    """Title merged over the table, group cells merged over their fields, a total row, a stray cell."""
    sheet.append(["杭州市税务局纳税人登记信息"])
    sheet.merge_cells("A1:F1")
    sheet.append(GROUPED[0])
    sheet.append(GROUPED[1])
    sheet.merge_cells("A2:A3")
    sheet.merge_cells("B2:D2")
    sheet.merge_cells("E2:F2")
    for i in range(1, 16):
        sheet.append(row(i) + (["核查过"] if i == 4 else []))  # row 7: a cell right of the header
    sheet.append([])
    sheet.append(["合计", None, None, None, None, "15户"])


def _xlsx_duplicates(sheet) -> None:  # type: ignore[no-untyped-def]
    sheet.append(HEADER + ["备注"])
    for i in range(1, 11):
        sheet.append(row(i) + ["二"])
    sheet.append(["", "", "", "", "", ""])


def _parquet_frame() -> pd.DataFrame:
    rows = [row(i) for i in range(1, 11)] + [[None] * 6, ["合计", None, None, None, None, "10户"]]
    return pd.DataFrame(rows, columns=HEADER)


def cases() -> list[Case]:
    """Every hostile file with its expected accounting (line numbers are physical, 1-based)."""
    return [
        Case("utf8_plain", _bytes(csv_text(_rows(20)).encode("utf-8")), ".csv", 21, 20),
        Case("utf8_bom_declared_gbk", _bytes(b"\xef\xbb\xbf" + csv_text(_rows(20)).encode("utf-8")), ".csv", 21, 20,
             encoding="gb18030", ids=["T001", "T020"]),
        Case("gbk", _bytes(csv_text(_rows(20)).encode("gbk")), ".csv", 21, 20, encoding="gbk"),
        Case("gb18030_only_chars", _bytes(_gb18030_only()), ".csv", 7, 6),
        Case("unterminated_quote", _bytes(_unterminated()), ".csv", 52, 50, quarantined={12: "quote"}),
        Case("unterminated_quote_last_field", _bytes(_unterminated_last_field()), ".csv", 11, 9,
             quarantined={6: "quote"}),
        Case("wrong_column_count", _bytes(_ragged()), ".csv", 21, 18, quarantined={8: "fields", 10: "fields"}),
        Case("trailing_commas", _bytes(_trailing_commas()), ".csv", 11, 10),
        Case("duplicate_header_names", _bytes(_duplicate_headers()), ".csv", 11, 10),
        Case("field_140kb", _bytes(_big_field()), ".csv", 11, 10),
        Case("cr_only_line_endings", _bytes(csv_text(_rows(10), sep="\r").encode("utf-8")), ".csv", 11, 10),
        Case("crlf_line_endings", _bytes(csv_text(_rows(10), sep="\r\n").encode("gb18030")), ".csv", 11, 10),
        Case("bom_zero_width_full_width_ids", _bytes(_invisible_ids()), ".csv", 6, 5,
             ids=["T001", "T002", "T003", "T004"]),
        Case("title_blank_total_footer", _bytes(_title_and_totals()), ".csv", 18, 12, title=1,
             skipped={"blank": [2, 16], "total row (合计)": [17]}, quarantined={18: "fields"}),
        Case("two_row_header_csv", _bytes(_grouped_csv()), ".csv", 11, 8, header=2, header_rows=2,
             skipped={"total row (总计:8户)": [11]}),
        Case("undecodable_line", _bytes(_undecodable()), ".csv", 11, 9, encoding="utf-8",
             quarantined={8: "decode"}),
        Case("undecodable_line_auto", _bytes(_undecodable()), ".csv", 11, 9, quarantined={8: "decode"}),
        Case("wrong_encoding_declared", _bytes(csv_text(_rows(5)).encode("gbk")), ".csv", 6, 0, encoding="utf-8",
             refused="set `encoding: auto`"),
        Case("case_only_different_names", _bytes(csv_text([HEADER + ["Note", "NOTE"]] +
                                                           [row(i) + ["a", "b"] for i in range(1, 4)]).encode()),
             ".csv", 4, 3),
        Case("missing_and_duplicate_ids", _bytes(_ids_missing_or_repeated()), ".csv", 9, 6,
             quarantined={4: "missing record id", 7: "duplicate record id"}),
        Case("multiline_quoted_value", _bytes(_multiline_value()), ".csv", 8, 6, continuation=1),
        Case("xlsx_title_grouped_header_total_stray_cell", _xlsx(_xlsx_report), ".xlsx", 20, 15, header=2, title=1,
             skipped={"blank": [19], "total row (合计)": [20]}, header_row=2, header_rows=2),
        Case("xlsx_duplicate_header_names", _xlsx(_xlsx_duplicates), ".xlsx", 11, 10),
        Case("parquet_blank_and_total", _parquet(_parquet_frame()), ".parquet", 12, 10, header=0,
             skipped={"blank": [11], "total row (合计)": [12]}),
    ]
