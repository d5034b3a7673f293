"""JSON text as DuckDB's `to_json` writes it (its yyjson writer), for the documents of a few
entities built in Python (resolver.store.docs `refresh`): the SQL that builds them cost ~35 ms
of a one-record write, mostly planning its ~50 to_json expressions.

Byte for byte the same text is the point (the stored documents are compared as text):
strings escape `"`, `\\` and the control characters (short forms where JSON has one, else
`\\u00XX` in upper case hex) and nothing else; doubles are the shortest digits that read back
(Python's repr has the same), in plain notation when the decimal point falls within 21 digits
left and 6 right of the first digit, else `de-x` without a `+`. tests/store/test_doc_json.py
checks both against DuckDB over many values, and the documents against the SQL's.
"""

from __future__ import annotations

import math
from typing import Any

_ESCAPES = {i: f"\\u{i:04X}" for i in range(0x20)}
_ESCAPES.update({0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r", 0x22: '\\"', 0x5C: "\\\\"})

# Column types whose values `value` writes (after docs._record_select: timestamps are text by
# then, NaN null); a records table with another type takes the SQL path.
TYPES = {"VARCHAR", "BOOLEAN", "BIGINT", "INTEGER", "DOUBLE", "VARCHAR[]", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE"}


def text(s: str) -> str:
    return '"' + s.translate(_ESCAPES) + '"'


def number(v: float) -> str:
    """A double as yyjson writes it."""
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    r = repr(v)
    sign = "-" if r[0] == "-" else ""
    mantissa, _, exp = r.lstrip("-").partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = (whole + frac).strip("0")
    if not digits:
        return sign + "0.0"
    # where the decimal point falls, counted from the first significant digit
    if whole.strip("0"):
        point = len(whole.lstrip("0")) + int(exp or 0)
    else:
        point = -(len(frac) - len(frac.lstrip("0"))) + int(exp or 0)
    if -6 < point <= 21:
        if point <= 0:
            return f"{sign}0.{'0' * -point}{digits}"
        if point >= len(digits):
            return f"{sign}{digits}{'0' * (point - len(digits))}.0"
        return f"{sign}{digits[:point]}.{digits[point:]}"
    return f"{sign}{digits[0]}{'.' + digits[1:] if len(digits) > 1 else ''}e{point - 1}"


def value(v: Any) -> str:
    """One value as to_json writes it (None: null)."""
    if v is None:
        return "null"
    if isinstance(v, str):
        return text(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return number(v)
    if isinstance(v, list):
        return "[" + ",".join(value(x) for x in v) + "]"
    raise TypeError(f"no JSON form for {type(v).__name__}")


def obj(pairs: list[tuple[str, Any]]) -> str:
    """An object of (plain key, value) pairs, nulls written as null (a struct's to_json)."""
    return "{" + ",".join(f'"{k}":{value(v)}' for k, v in pairs) + "}"
