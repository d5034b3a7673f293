"""Where the records sit in an export: title lines, the header (one or more rows), total rows.

Shared by the CSV, XLSX and Parquet readers, which hand over rows of cell text. Departments
export with a title line above the header, a group row above the field names (merged cells),
a total row (合计) at the bottom; none of these is a record, and each is counted by name.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from resolver.errors import InputError
from resolver.mapping import SourceMapping

# Invisible characters that only ever get in the way: a BOM left mid-file by concatenation,
# zero-width spaces and joiners, the word joiner, the soft hyphen.
INVISIBLE = re.compile("[\ufeff\u200b\u200c\u200d\u2060\u00ad\u180e]")
HEADER_SEARCH_ROWS = 30  # a header further down than this is not an export, it is a report
_TOTAL_FIRST = frozenset("合总小共累汇全tTsSgG")
_COUNT = re.compile(r"^共?\d[\d,.]*[条户家人个项笔行]?$")
_TOTAL = re.compile(r"^(?:合计|总计|小计|共计|累计|汇总|总数|总合计|全市合计|total|grandtotal|sum)(?:$|[:：(（\d,，共])",
                    re.IGNORECASE)


def clean_cell(text: str | None) -> str | None:
    """Cell text without invisible characters or surrounding blanks (full-width space too); None when empty."""
    if text is None:
        return None
    if not text.isascii():
        text = INVISIBLE.sub("", text)
    text = text.strip()
    return text or None


def name_key(text: str | None) -> str:
    """How header names are compared: NFKC (full-width brackets, digits), no blanks, case-folded."""
    if not text:
        return ""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", INVISIBLE.sub("", text))).casefold()


@dataclass
class Layout:
    """Where the header is and what each column is called (the mapping's spelling where it names one)."""

    line: int  # first line (CSV) or row (XLSX) of the header, 1-based
    rows: int  # lines the header spans (2: a group row above the field names)
    names: list[str]
    notes: list[str] = field(default_factory=list)


def _column_names(levels: list[list[str | None]], width: int) -> list[list[str]]:
    """Per column, the names it may go by, preferred first: field, group/field, or the cell above
    a blank field (a name merged down over both rows). Group cells are merged across their fields,
    so a blank group cell belongs to the group on its left."""
    *groups, fields = [(lv + [None] * width)[:width] for lv in levels]
    filled = []
    for group in groups:
        last: str | None = None
        row = []
        for cell in group:
            last = cell if cell else last
            row.append(last)
        filled.append(row)
    seen = [f for f in fields if f]
    out = []
    for j in range(width):
        if fields[j]:
            name: str = fields[j]  # type: ignore[assignment]
            path = "/".join(dict.fromkeys(g[j] or "" for g in filled if g[j]))
            # A field name under two groups (法定代表人/姓名, 联系人/姓名) is known by its group first.
            out.append(([f"{path}/{name}", name] if seen.count(name) > 1 else [name, f"{path}/{name}"])
                       if path else [name])
        else:
            above = next((g[j] or "" for g in reversed(groups) if g[j]), None)
            out.append([above] if above else [])
    return out


def _try(rows: list[tuple[int, list[str | None]]], start: int, count: int,
         mapping: SourceMapping) -> tuple[Layout, list[str]]:
    """The layout if the header starts at rows[start] and spans `count` rows, and the mapped names it lacks."""
    levels = [cells for _, cells in rows[start:start + count]]
    width = max(len(lv) for lv in levels)
    candidates = _column_names(levels, width)
    while width and not candidates[width - 1]:
        width -= 1  # a trailing comma in the header names no column
    wanted = [mapping.record_id, *mapping.columns]
    chosen: dict[int, str] = {}
    notes = []
    for name in dict.fromkeys(wanted):
        key = name_key(name)
        hits = [j for j in range(width) if key in {name_key(c) for c in candidates[j]} and j not in chosen]
        if hits:
            chosen[hits[0]] = name
            if len(hits) > 1:
                notes.append(f"column '{name}' appears {len(hits)} times in the header (columns "
                             f"{', '.join(str(h + 1) for h in hits)}); the first is mapped")
    missing = [n for n in dict.fromkeys(wanted) if n not in chosen.values()]
    names: list[str] = []
    # Unique ignoring case: the raw row becomes a DuckDB struct, whose field names are case-insensitive.
    used: set[str] = {n.casefold() for n in chosen.values()}
    for j in range(width):
        if j in chosen:
            names.append(chosen[j])
            continue
        base = next((c for c in candidates[j] if c.casefold() not in used), None) or \
            (candidates[j][0] if candidates[j] else f"column {j + 1}")
        name, n = base, 2
        while name.casefold() in used:
            name, n = f"{base}#{n}", n + 1
        if name != base:
            notes.append(f"column {j + 1} repeats the name '{base}'; kept with the raw record as '{name}'")
        used.add(name.casefold())
        names.append(name)
    return Layout(rows[start][0], count, names, notes), missing


def find_header(rows: list[tuple[int, list[str | None]]], mapping: SourceMapping, file: str) -> Layout:
    """The header the mapping describes (header_row, header_rows); if that line lacks the mapped
    columns, the first line (or pair of lines) near the top that has them all, with a note."""
    declared = next((i for i, (line, _) in enumerate(rows) if line == mapping.header_row), None)
    if declared is not None and declared + mapping.header_rows <= len(rows):
        layout, missing = _try(rows, declared, mapping.header_rows, mapping)
        if not missing:
            return layout
    else:
        missing = [mapping.record_id, *mapping.columns]
    has = next((cells for line, cells in rows if line == mapping.header_row), [])
    for count in dict.fromkeys((mapping.header_rows, 1, 2)):
        for start in range(len(rows) - count + 1):
            found, lacks = _try(rows, start, count, mapping)
            if not lacks:
                where = f"line {found.line}" + (f"-{rows[start + count - 1][0]}" if count > 1 else "")
                found.notes.insert(0, f"header found on {where}, not where the mapping says (header_row: "
                                      f"{mapping.header_row}, header_rows: {mapping.header_rows}); set them "
                                      "in the mapping to silence this")
                return found
    shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
    raise InputError(f"{file}: line {mapping.header_row}: the header lacks column(s) {shown} named in "
                     f"{mapping.path}, and no line in the first {HEADER_SEARCH_ROWS} has them all; check the "
                     "column names, or set header_row (and header_rows: 2 for a two-line header). "
                     f"Line {mapping.header_row} has: {', '.join(c for c in has if c)[:300]}")


def total_row(cells: list[str | None], id_index: int) -> str | None:
    """The label of a total row (合计, 总计 …) or None. The label is a cell of its own near the start
    of the row (or in the id column), and the row has no record id of its own (blank, the label,
    or a count like 共1402条): a company called 合计餐饮店, or a record with an id, is a record."""
    own_id = cells[id_index] if id_index < len(cells) else None
    label = next((c for c in (own_id, *cells[:4]) if c and c[0] in _TOTAL_FIRST and len(c) <= 40
                  and _TOTAL.match(re.sub(r"\s+", "", c))), None)
    if label is None:
        return None
    if own_id is None or own_id == label or _COUNT.match(re.sub(r"\s+", "", own_id)):
        return label
    return None
