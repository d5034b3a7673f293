"""Standardize one query record for matching (resolver.standardize.one), or a few as a frame.

A server may standardize frames (POST /records calls) in a process of its own
(`Standardizer.start_processes`, RESOLVER_STANDARDIZE_PROCESSES): the routes' standardizing
then no longer takes the GIL from the rest of the server (docs/serving.md, session 38).

`standardize_one` is the standardizer's own one-record entry point: plain Python over the
same per-value steps as `standardize_records`, giving that function's row as a dict.
tests/lookup/test_one_record.py checks the two agree on both domains.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from collections.abc import Iterable
from concurrent.futures import BrokenExecutor, ProcessPoolExecutor
from typing import Any

import pandas as pd

from resolver.standardize import standardize_records
from resolver.standardize.one import DEFAULT_CITY, standardize_one
from resolver.standardize.tokens import NameTokenizer

__all__ = ["DEFAULT_CITY", "Standardizer", "standardize_one"]
_log = logging.getLogger(__name__)


class Standardizer:
    """One shared tokenizer (jieba is slow to load, and it learns trade names as it goes) for
    one query record (`one`) or a few records as a frame (`frame`, incremental ingest).

    After `start_processes(n)`, frames are standardized in n processes of their own, each with
    its own tokenizer: a frame's trade names are then learned there, not by the tokenizer of
    `one` (the order in which a server's calls taught it was already a matter of timing)."""

    def __init__(self) -> None:
        self._tokenizer: NameTokenizer | None = None
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None

    def start_processes(self, processes: int, domains: Iterable[str] = ()) -> None:
        """Standardize frames in `processes` processes from now on (0: here, as before); each
        loads its tokenizer and the `domains`' schemas now, not on the first call."""
        if processes <= 0 or self._pool is not None:
            return
        # spawn, not fork: a server forked now would copy its DuckDB and uvicorn threads' locks
        self._pool = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_start_worker)
        warm = [self._pool.submit(_frame_in_worker, d, [{"source": "warm_up", "source_record_id": "0"}])
                for _ in range(processes) for d in domains]
        for future in warm:
            future.result()

    def close(self) -> None:
        """Stop the standardizing processes, if any."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(cancel_futures=True)

    def _ready(self) -> NameTokenizer:
        if self._tokenizer is None:
            self._tokenizer = NameTokenizer()
        return self._tokenizer

    def one(self, domain: str, record: dict[str, Any]) -> dict[str, Any]:
        with self._lock:  # the tokenizer's dictionary is not safe to grow from two threads
            return standardize_one(domain, record, self._ready())

    def frame(self, domain: str, records: list[dict[str, Any]]) -> pd.DataFrame:
        pool = self._pool
        if pool is not None:
            try:  # the GIL is released while this thread waits
                return pool.submit(_frame_in_worker, domain, records).result()
            except BrokenExecutor:  # a process that died must not fail the call: standardize here from now on
                _log.warning("the standardizing process died; standardizing in the server's own process")
                self._pool = None
        with self._lock:
            return standardize_records(pd.DataFrame(records, dtype=object), domain,
                                       tokenizer=self._ready())


_worker: Standardizer | None = None  # in a standardizing process: its own tokenizer


def _start_worker() -> None:
    global _worker
    _worker = Standardizer()


def _frame_in_worker(domain: str, records: list[dict[str, Any]]) -> pd.DataFrame:
    assert _worker is not None, "runs in a process started by Standardizer.start_processes"
    return _worker.frame(domain, records)
