"""Read a department export (CSV in any Chinese encoding, XLSX, Parquet) into raw string rows.

Every physical line (CSV) or sheet row (XLSX) is accounted for in a `ReadReport`: header,
title and blank lines, total rows (合计), lines inside multi-line quoted values, and rows
read. A line that cannot be decoded or parsed becomes a `Rejection` with its line number,
alone: the lines after it still load.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import itertools
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from resolver.errors import InputError
from resolver.layout import (
    HEADER_SEARCH_ROWS,
    INVISIBLE,
    Layout,
    clean_cell,
    find_header,
    total_row,
)
from resolver.mapping import SourceMapping

ROW = "_row_number"
FIELD_LIMIT = 16 * 2**20  # a 140 KB note is a value; 16 MB in one cell is an unterminated quote
MAX_SPAN = 20  # a quoted value over more lines than this is an unterminated quote, not an address

csv.field_size_limit(FIELD_LIMIT)


@dataclass(frozen=True)
class Rejection:
    """A row the pipeline could not use, with where and why."""

    file: str
    row_number: int
    field: str
    reason: str
    raw: str


@dataclass
class ReadReport:
    """Where every line of a file went, before mapping: `total` = header + skipped + continuation + rows."""

    file: str
    unit: str  # "line" (CSV) or "row" (XLSX, Parquet)
    encoding: str | None
    total: int
    header: list[int] = field(default_factory=list)
    skipped: dict[str, list[int]] = field(default_factory=dict)  # reason -> line numbers
    continuation: int = 0  # lines inside multi-line quoted values, counted with their record
    rows: int = 0  # records read plus lines rejected by the reader
    notes: list[str] = field(default_factory=list)

    def skip(self, reason: str, line: int) -> None:
        self.skipped.setdefault(reason, []).append(line)


def detect_encoding(data: bytes) -> str:
    """Pick the encoding of a CSV export: BOM, else UTF-8, else GB18030 (a superset of GBK).

    A UTF-8 file with a few lines pasted in from a GBK one is UTF-8 with those lines broken,
    not GB18030 (which would decode every UTF-8 byte pair into the wrong characters): the
    non-ASCII lines of a sample are tried one by one, and UTF-8 wins if most of them decode."""
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    good = bad = 0
    for line in data.split(b"\n" if b"\n" in data else b"\r"):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            good += 1
        except UnicodeDecodeError:
            bad += 1
        if good + bad >= 2000:
            break
    return "utf-8" if good > bad else "gb18030"


def read_export(path: str | Path, mapping: SourceMapping) -> tuple[pd.DataFrame, list[Rejection]]:
    """Read the file named by `path` as the mapping describes; columns stay as the department named them."""
    frame, rejections, _ = read_with_report(path, mapping)
    return frame, rejections


def read_with_report(path: str | Path, mapping: SourceMapping) -> tuple[pd.DataFrame, list[Rejection], ReadReport]:
    """`read_export` and the account of every line."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".xls"):
        return _read_excel(path, mapping)
    if suffix == ".parquet":
        return _read_parquet(path, mapping)
    return _read_csv(path, mapping)


def _encoding(data: bytes, declared: str) -> tuple[str, str | None]:
    """The codec to read with and, when it overrides the mapping, why. A UTF-8 BOM is unambiguous
    (read as GBK it becomes 锘 glued to the first column name), so it wins over the mapping."""
    if data.startswith(b"\xef\xbb\xbf"):
        note = None if declared in ("auto", "utf-8", "utf-8-sig") else \
            f"file starts with a UTF-8 byte-order mark: read as UTF-8, not {declared} as the mapping says"
        return "utf-8-sig", note
    if declared == "auto":
        return detect_encoding(data), None
    if declared in ("gbk", "gb2312"):
        return "gb18030", None  # GB18030 decodes every GBK byte sequence the same way
    return declared, None


def _physical_lines(path: Path, data: bytes, encoding: str, rejections: list[Rejection]) -> list[str]:
    """The file's lines (LF, CRLF or CR-only endings), without invisible characters; an undecodable
    line becomes a rejection and a blank placeholder so line numbers stay physical."""
    try:
        text = data.decode(encoding)
        if "\r\n" in text:
            text = text.replace("\r\n", "\n")
        if INVISIBLE.search(text):
            text = INVISIBLE.sub("", text)
        lines = text.split("\n" if "\n" in text else "\r")
    except UnicodeDecodeError:
        # 0x0A and 0x0D never occur inside a multi-byte GB18030 or UTF-8 character.
        lines = []
        for number, raw in enumerate(data.split(b"\n" if b"\n" in data else b"\r"), start=1):
            codec = encoding if number == 1 else encoding.replace("utf-8-sig", "utf-8")
            try:
                lines.append(INVISIBLE.sub("", raw.decode(codec).rstrip("\r")))
            except UnicodeDecodeError as exc:
                rejections.append(Rejection(str(path), number, "*", f"cannot decode as {encoding}: {exc.reason}",
                                            raw.decode(codec, errors="replace")))
                lines.append("")
    if lines and lines[-1] == "":
        lines.pop()  # the file's final line ending ends the last line, it does not start one
    if any("\r" in line for line in lines):
        lines = [line.rstrip("\r") for line in lines]  # CR left over from mixed line endings
    return lines


def _records(lines: list[str], first: int, width: int | None, path: Path,
             rejections: list[Rejection]) -> Iterator[tuple[int, int, list[str]]]:
    """(0-based line, lines spanned, fields) per CSV record from `first` on. A record that is
    malformed (a quote opened and not closed on its line, which swallowed the lines after it)
    is rejected alone and parsing restarts on the next line."""
    pos = first
    while pos < len(lines):
        reader = csv.reader(itertools.islice(lines, pos, None))
        start = pos  # 0-based line where the record being parsed begins
        try:
            for fields in reader:
                span = pos + reader.line_num - start
                if span > 1 and _swallowed(lines, start, span, fields, width):
                    raise csv.Error("a quote opened on this line is not closed")
                yield start, span, fields
                start += span
            return
        except csv.Error as exc:
            why = "a field larger than 16 MB" if "field limit" in str(exc) else str(exc)
            rejections.append(Rejection(str(path), start + 1, "*", f"malformed CSV ({why}): fix the quotes "
                                        "on this line; the lines after it were read on their own", lines[start]))
            pos = start + 1


def _swallowed(lines: list[str], start: int, span: int, fields: list[str], width: int | None) -> bool:
    """Whether a multi-line record is an unterminated quote eating the records below it rather
    than a quoted value with line breaks (an address over two lines): too long, the wrong
    number of fields, or a swallowed line with as many commas as a record has."""
    if span > MAX_SPAN:
        return True
    if width is None:
        return False
    if not _fits(fields, width):
        return True
    return any(lines[i].count(",") >= width - 1 for i in range(start + 1, start + span))


def _fits(fields: list[str], width: int) -> bool:
    """Right number of fields, allowing empty trailing ones (trailing commas)."""
    return len(fields) == width or (len(fields) > width and not any(f.strip() for f in fields[width:]))


def _read_csv(path: Path, mapping: SourceMapping) -> tuple[pd.DataFrame, list[Rejection], ReadReport]:
    data = path.read_bytes()
    encoding, note = _encoding(data, mapping.encoding)
    rejections: list[Rejection] = []
    lines = _physical_lines(path, data, encoding, rejections)
    report = ReadReport(str(path), "line", encoding, len(lines), notes=[note] if note else [])
    undecodable = {r.row_number for r in rejections}
    if len(undecodable) > len(lines) / 2:
        first = min(undecodable)
        raise InputError(f"{path}: line {first}: {len(undecodable)} of {len(lines)} lines cannot be decoded as "
                         f"{encoding}; set `encoding: auto` (or the file's encoding) in {mapping.path}")
    top = [(start + 1, [clean_cell(c) for c in fields])
           for start, _, fields in _records(lines[:HEADER_SEARCH_ROWS], 0, None, path, [])]
    top = [t for t in top if t[0] not in undecodable]
    layout = find_header(top, mapping, str(path))
    _account_header(report, layout, top, undecodable)
    width = len(layout.names)
    id_index = layout.names.index(mapping.record_id)
    body: list[list[str | None]] = []
    numbers: list[int] = []
    for start, span, fields in _records(lines, layout.line - 1 + layout.rows, width, path, rejections):
        number = start + 1
        if number in undecodable:
            continue
        report.continuation += span - 1
        cells = [c.strip() or None for c in fields]
        if not any(cells):
            report.skip("blank", number)
            continue
        label = total_row(cells, id_index)
        if label is not None:
            report.skip(f"total row ({label})", number)
            continue
        if not _fits(fields, width):
            hint = "a comma inside an unquoted value? quote it" if len(fields) > width else \
                "values missing: a line break inside an unquoted value, or a note below the table?"
            rejections.append(Rejection(str(path), number, "*", f"has {len(fields)} fields, header has {width}: "
                                        + hint, ",".join(fields)))
            continue
        record_id = cells[id_index]
        if record_id is not None and not record_id.isascii():
            cells[id_index] = unicodedata.normalize("NFKC", record_id)
        body.append(cells[:width] + [None] * (width - len(cells)))
        numbers.append(number)
    report.rows = len(body) + len(rejections)
    return _frame(body, numbers, layout.names, id_index, normalized=True), rejections, report


def _account_header(report: ReadReport, layout: Layout, top: list[tuple[int, list[str | None]]],
                    rejected: set[int] | None = None) -> None:
    report.header = list(range(layout.line, layout.line + layout.rows))
    report.notes += layout.notes
    for number, cells in top:
        if number >= layout.line:
            break
        report.skip("title" if any(cells) else "blank", number)
    # Lines above the header that `top` did not yield (inside a multi-line title) are title lines too.
    seen = {n for n, _ in top if n < layout.line} | (rejected or set())
    for number in range(1, layout.line):
        if number not in seen:
            report.skip("title", number)


def _frame(body: list[list[str | None]], numbers: list[int], names: list[str], id_index: int,
           normalized: bool = False) -> pd.DataFrame:
    """The raw rows as a frame; a record id typed with full-width digits is the same id (NFKC)."""
    if not normalized:
        for cells in body:
            v = cells[id_index]
            if isinstance(v, str) and not v.isascii():
                cells[id_index] = unicodedata.normalize("NFKC", v)
    frame = pd.DataFrame(body, columns=names, dtype="object")
    frame[ROW] = numbers
    return frame


def _cell_text(value: object) -> str | None:
    if value is None or value is pd.NaT or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return clean_cell(str(value))


def _sheet_rows(path: Path, mapping: SourceMapping) -> list[list[object]]:
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
        names = book.sheet_names
        sheet = mapping.sheet if mapping.sheet is not None else 0
        if isinstance(sheet, int) and not 0 <= sheet < len(names):
            raise InputError(f"{path}: sheet {sheet} not found (sheets: {', '.join(names)})")
        name = names[sheet] if isinstance(sheet, int) else sheet
        if name not in names:
            raise InputError(f"{path}: sheet '{sheet}' not found (sheets: {', '.join(names)})")
        return [list(row) for row in book.get_sheet_by_name(name).to_python(skip_empty_area=False)]
    except InputError:
        raise
    except Exception as exc:  # calamine raises its own types for corrupt files
        raise InputError(f"{path}: cannot read as XLSX: {exc}") from None


def _read_excel(path: Path, mapping: SourceMapping) -> tuple[pd.DataFrame, list[Rejection], ReadReport]:
    rows = [[_cell_text(v) for v in row] for row in _sheet_rows(path, mapping)]
    while rows and not any(rows[-1]):
        rows.pop()  # the sheet's used range may reach past the last row with a value
    report = ReadReport(str(path), "row", None, len(rows))
    top = list(enumerate(rows[:HEADER_SEARCH_ROWS], start=1))
    layout = find_header(top, mapping, str(path))
    _account_header(report, layout, top)
    width = len(layout.names)
    id_index = layout.names.index(mapping.record_id)
    body: list[list[str | None]] = []
    numbers: list[int] = []
    extra: dict[int, list[int]] = {}  # column right of the header -> rows with a value there
    for number, cells in enumerate(rows[layout.line - 1 + layout.rows:], start=layout.line + layout.rows):
        if not any(cells):
            report.skip("blank", number)
            continue
        label = total_row(cells, id_index)
        if label is not None:
            report.skip(f"total row ({label})", number)
            continue
        for j in range(width, len(cells)):
            if cells[j] is not None:
                extra.setdefault(j, []).append(number)
        body.append(cells + [None] * (width - len(cells)))
        numbers.append(number)
    names = list(layout.names)
    # A cell right of the header cannot shift values in a sheet (unlike a stray comma in a CSV):
    # the record loads, and the cell is kept with its raw row under the column's number.
    wide = max(extra, default=width - 1) + 1
    names += [f"column {j + 1}" for j in range(width, wide)]
    for j, where in sorted(extra.items()):
        report.notes.append(f"column {j + 1} has no header; its values (rows {_lines(where)}) are kept with "
                            f"the raw record as 'column {j + 1}'")
    body = [(r + [None] * wide)[:wide] for r in body]
    frame = _frame(body, numbers, names, id_index)
    frame = frame.drop(columns=[f"column {j + 1}" for j in range(width, wide) if j not in extra])
    report.rows = len(body)
    return frame, [], report


def _lines(numbers: list[int]) -> str:
    shown = ", ".join(map(str, numbers[:5]))
    return shown + (f" and {len(numbers) - 5} more" if len(numbers) > 5 else "")


def _read_parquet(path: Path, mapping: SourceMapping) -> tuple[pd.DataFrame, list[Rejection], ReadReport]:
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:
        raise InputError(f"{path}: cannot read as Parquet: {exc}") from None
    report = ReadReport(str(path), "row", None, len(frame))
    names: list[str | None] = [clean_cell(str(c)) for c in frame.columns]
    layout = find_header([(1, names)], dataclasses.replace(mapping, header_row=1, header_rows=1), str(path))
    # cell by cell into object columns: pandas' string dtype turns a None back into NaN, which
    # the total-row check and the missing-id check would not read as an empty cell
    out = pd.DataFrame({n: pd.Series([_cell_text(v) for v in frame[c].astype("object")], dtype="object")
                        for n, c in zip(layout.names, frame.columns, strict=True)})
    id_index = layout.names.index(mapping.record_id)
    blank = out.isna().all(axis=1).to_numpy()
    ids = out[mapping.record_id]
    maybe_total = ids.map(lambda v: not isinstance(v, str) or not v.isascii()).to_numpy(dtype=bool) & ~blank
    keep = ~blank
    for i in maybe_total.nonzero()[0]:
        label = total_row(list(out.iloc[i]), id_index)
        if label is not None:
            report.skip(f"total row ({label})", int(i) + 1)
            keep[i] = False
    for i in blank.nonzero()[0]:
        report.skip("blank", int(i) + 1)
    numbers = (keep.nonzero()[0] + 1).tolist()
    result = _frame(out[keep].values.tolist(), numbers, list(out.columns), id_index)
    report.rows = len(result)
    return result, [], report
