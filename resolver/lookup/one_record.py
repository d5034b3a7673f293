"""Standardize one query record for matching, without the frame machinery's per-call cost.

`standardize_records` is built for millions of rows: its last step assembles ~40 typed
pandas columns, which costs ~20 ms for a single row, most of a match request. Here the
same field steps run in the same order (resolver.standardize.records' own functions, so
the values are the standardizer's) and the one row is read out as a plain dict.

tests/lookup/test_one_record.py checks that the result equals `standardize_records` on
generated records of both domains; if the standardizer gains a step, that test fails.
(A public one-record entry point in resolver.standardize would make this module a
one-liner: asked of its owner.)
"""

from __future__ import annotations

import math
import threading
from typing import Any

import pandas as pd

from resolver.standardize import records as std
from resolver.standardize.columns import (
    BOOL_COLUMNS,
    ENTERPRISE_COLUMNS,
    FLOAT_COLUMNS,
    PERSON_COLUMNS,
)
from resolver.standardize.tokens import NameTokenizer

DEFAULT_CITY = "杭州市"


def _scalar(col: str, value: Any) -> Any:
    if value is None or value is pd.NA:
        return None
    if col == "name_tokens":
        return list(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    if col in BOOL_COLUMNS:
        return bool(value)
    if col in FLOAT_COLUMNS:
        number = pd.to_numeric(value, errors="coerce")
        return None if pd.isna(number) else float(number)
    if col == "row_number":
        return int(value)
    return str(value)


def standardize_one(domain: str, record: dict[str, Any], tokenizer: NameTokenizer,
                    default_city: str = DEFAULT_CITY) -> dict[str, Any]:
    """The canonical and derived columns of one record, as `standardize_records` gives them."""
    frame = std._Frame(pd.DataFrame([record], dtype=object), {})
    area_code = std.area_code_of(default_city)
    if domain == "enterprise":
        std._names(frame, tokenizer, ())
        std._identifiers(frame)
        std._entity_kind(frame)
        std._person_names(frame, "legal_rep", "legal_rep", pinyin=False)
        std._address(frame, default_city)
        std._phone(frame, area_code)
        std._dates(frame, ("established", "activity_date"))
        std._enterprise_scalars(frame)
        columns = ENTERPRISE_COLUMNS
    elif domain == "person":
        std._person_names(frame, "name", "name", pinyin=True)
        frame.flag(std._isnull(frame.out["name"]), "name_missing")
        std._person_ids(frame)
        std._dates(frame, ("birth_date",))
        std._address(frame, default_city)
        std._phone(frame, area_code)
        columns = PERSON_COLUMNS
    else:
        raise ValueError(f"unknown domain {domain!r}: expected 'enterprise' or 'person'")
    source = str(record.get("source", "")) if record.get("source") is not None else None
    record_id = str(record["source_record_id"]) if record.get("source_record_id") is not None else None
    out: dict[str, Any] = {col: None for col in columns}
    for col in columns:
        values = frame.out.get(col)
        if values is not None:
            out[col] = _scalar(col, values[0])
    out["source"], out["source_record_id"] = source, record_id
    out["unique_id"] = f"{source}:{record_id}" if source is not None and record_id is not None else None
    out["row_number"] = _scalar("row_number", record.get("row_number"))
    out["std_flags"] = ";".join(code for mask, code in frame.flags if bool(mask[0]))
    return out


class Standardizer:
    """One shared tokenizer (jieba is slow to load, and it learns trade names as it goes) for
    one query record (`one`) or a few records as a frame (`frame`, incremental ingest)."""

    def __init__(self) -> None:
        self._tokenizer: NameTokenizer | None = None
        self._lock = threading.Lock()

    def _ready(self) -> NameTokenizer:
        if self._tokenizer is None:
            self._tokenizer = NameTokenizer()
        return self._tokenizer

    def one(self, domain: str, record: dict[str, Any]) -> dict[str, Any]:
        with self._lock:  # the tokenizer's dictionary is not safe to grow from two threads
            return standardize_one(domain, record, self._ready())

    def frame(self, domain: str, records: list[dict[str, Any]]) -> pd.DataFrame:
        with self._lock:
            return std.standardize_records(pd.DataFrame(records, dtype=object), domain, tokenizer=self._ready())
