"""Read a department export (CSV in any Chinese encoding, XLSX, Parquet) into raw string rows.

Nothing is dropped: a line that cannot be decoded or parsed becomes a `Rejection` with its
physical line number, and the caller quarantines it.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from resolver.errors import InputError
from resolver.mapping import SourceMapping

ROW = "_row_number"


@dataclass(frozen=True)
class Rejection:
    """A row the pipeline could not use, with where and why."""

    file: str
    row_number: int
    field: str
    reason: str
    raw: str


def detect_encoding(data: bytes) -> str:
    """Pick the encoding of a CSV export: BOM, else strict UTF-8, else GB18030 (a superset of GBK)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "gb18030"


def read_export(path: str | Path, mapping: SourceMapping) -> tuple[pd.DataFrame, list[Rejection]]:
    """Read the file named by `path` as the mapping describes; columns stay as the department named them."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".xls"):
        return _read_excel(path, mapping), []
    if suffix == ".parquet":
        return _read_parquet(path), []
    return _read_csv(path, mapping)


def _read_csv(path: Path, mapping: SourceMapping) -> tuple[pd.DataFrame, list[Rejection]]:
    data = path.read_bytes()
    encoding = detect_encoding(data) if mapping.encoding == "auto" else mapping.encoding
    if encoding in ("gbk", "gb2312"):
        encoding = "gb18030"  # GB18030 decodes every GBK byte sequence the same way
    if encoding == "utf-8" and data.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"
    rejections: list[Rejection] = []
    lines: list[str] = []
    physical: list[int] = []
    try:
        # Fast path: the whole file decodes; line numbers are list positions.
        lines = data.decode(encoding).split("\n")[mapping.header_row - 1:]
        physical = list(range(mapping.header_row, mapping.header_row + len(lines)))
    except UnicodeDecodeError:
        lines, physical = _decode_lines(path, data, encoding, mapping.header_row, rejections)
    if lines and lines[0].startswith("\ufeff"):
        lines[0] = lines[0][1:]
    if not lines or physical[0] != mapping.header_row:
        raise InputError(f"{path}: header line {mapping.header_row} is missing or undecodable as {encoding}")
    reader = csv.reader(line.rstrip("\r") for line in lines)
    header = [h.strip() for h in next(reader)]
    width = len(header)
    records: list[list[str | None]] = []
    numbers: list[int] = []
    consumed = reader.line_num
    for row in reader:
        start = physical[consumed]
        consumed = reader.line_num
        if len(row) != width:
            if not any(cell.strip() for cell in row):
                continue  # blank lines carry no record, here or below
            rejections.append(Rejection(str(path), start, "*",
                                        f"has {len(row)} fields, header has {width}", ",".join(row)))
            continue
        cells = [cell.strip() or None for cell in row]
        if any(cells):
            records.append(cells)
            numbers.append(start)
    frame = pd.DataFrame(records, columns=header, dtype="object")
    frame[ROW] = numbers
    return frame, rejections


def _decode_lines(path: Path, data: bytes, encoding: str, header_row: int,
                  rejections: list[Rejection]) -> tuple[list[str], list[int]]:
    """Decode line by line so one bad line is quarantined instead of failing the file.

    0x0A never occurs inside a multi-byte GB18030 or UTF-8 character, so splitting bytes is safe.
    """
    lines: list[str] = []
    physical: list[int] = []
    line_codec = encoding.replace("utf-8-sig", "utf-8")
    for number, raw_line in enumerate(data.split(b"\n"), start=1):
        if number < header_row:
            continue
        codec = encoding if number == 1 else line_codec
        try:
            lines.append(raw_line.decode(codec))
            physical.append(number)
        except UnicodeDecodeError as exc:
            rejections.append(Rejection(str(path), number, "*", f"cannot decode as {encoding}: {exc.reason}",
                                        raw_line.decode(codec, errors="replace")))
    return lines, physical


def _cell_text(value: object) -> str | None:
    if value is None or value is pd.NaT or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


def _read_excel(path: Path, mapping: SourceMapping) -> pd.DataFrame:
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
        names = book.sheet_names
        sheet = mapping.sheet if mapping.sheet is not None else 0
        name = names[sheet] if isinstance(sheet, int) else sheet
        if name not in names:
            raise InputError(f"{path}: sheet '{sheet}' not found (sheets: {', '.join(names)})")
        rows = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
    except InputError:
        raise
    except Exception as exc:  # calamine raises its own types for corrupt files
        raise InputError(f"{path}: cannot read as XLSX: {exc}") from None
    if len(rows) < mapping.header_row:
        raise InputError(f"{path}: header row {mapping.header_row} is past the end of the sheet")
    header = [str(h).strip() for h in rows[mapping.header_row - 1]]
    body = []
    numbers = []
    for offset, row in enumerate(rows[mapping.header_row:], start=mapping.header_row + 1):
        cells = [_cell_text(v) for v in row[: len(header)]]
        if not any(cells):
            continue
        body.append(cells + [None] * (len(header) - len(cells)))
        numbers.append(offset)
    frame = pd.DataFrame(body, columns=header, dtype="object")
    frame[ROW] = numbers
    return frame


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:
        raise InputError(f"{path}: cannot read as Parquet: {exc}") from None
    out = pd.DataFrame({c: frame[c].map(_cell_text).astype("object") for c in frame.columns})
    out[ROW] = range(1, len(out) + 1)
    return out
