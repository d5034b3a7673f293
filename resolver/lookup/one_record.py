"""Standardize one query record for matching (resolver.standardize.one), or a few as a frame.

`standardize_one` is the standardizer's own one-record entry point: plain Python over the
same per-value steps as `standardize_records`, giving that function's row as a dict.
tests/lookup/test_one_record.py checks the two agree on both domains.
"""

from __future__ import annotations

import threading
from typing import Any

import pandas as pd

from resolver.standardize import standardize_records
from resolver.standardize.one import DEFAULT_CITY, standardize_one
from resolver.standardize.tokens import NameTokenizer

__all__ = ["DEFAULT_CITY", "Standardizer", "standardize_one"]


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
            return standardize_records(pd.DataFrame(records, dtype=object), domain,
                                       tokenizer=self._ready())
