"""Group commit of POST /records: calls of the same domain and source that wait together are
written as ONE transaction through the one incremental path (resolver.incremental.link_records).

Each call is checked and standardized in its caller's thread first (resolver.lookup.incremental
.prepare), so one caller's bad input fails that call alone. One writer thread per server takes
`service.write_lock` (the lock CLI jobs run inside the server take too) and commits everything
waiting: a transaction's fixed cost (golden records, documents, scoring set-up; ~0.5 s at 1M
records) is then paid once per batch, not per call. Records of different calls in a batch are
linked to each other, as records of one call are. Every caller gets its own answer; when the
shared transaction fails, the calls are retried one by one so only the failing one gets the error.
The route announces each call before preparing it (`preparing`), and the writer waits a little
for announced calls (`_gather`): 20 closed-loop callers then share one transaction instead of
splitting into two alternating halves that each pay the fixed cost. It never waits when the calls
waiting already fill a batch. (Waiting also until as many calls are back as the last batch
carried was tried and dropped: benchmarks/bench_gather.py, docs/serving.md.)

`WRITE_BATCHES` counts the batches (calls and records per batch) for the server's metrics.
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
import time
import weakref
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any

import pandas as pd

from resolver import metrics
from resolver.engine import Resolver
from resolver.incremental import entities_of
from resolver.lookup.incremental import Pending, answer, neighbours
from resolver.lookup.service import LookupService

MAX_BATCH_RECORDS = 5_000  # a longer batch would make its first caller wait longer than it saves
# Seconds between the interpreter's GIL hand-overs while the server writes (RESOLVER_SWITCH_INTERVAL;
# 0: Python's 5 ms). Each of a write's ~60 DuckDB statements gives the GIL up and then waits
# for it back; with reader threads busy that wait can last a whole interval.
SWITCH_INTERVAL = float(os.environ.get("RESOLVER_SWITCH_INTERVAL") or 0)
# Seconds the writer may wait, before a transaction, for calls still being checked and
# standardized (RESOLVER_GATHER_SECONDS; 0: never), so that they share it: each transaction
# pays a fixed cost (~0.7 s of CPU at 1M records). After a batch of several calls it first
# waits LINGER_SECONDS for their callers' next calls to arrive.
GATHER_SECONDS = float(os.environ.get("RESOLVER_GATHER_SECONDS", "1.0"))
LINGER_SECONDS = float(os.environ.get("RESOLVER_LINGER_SECONDS", "0.1"))
_log = logging.getLogger(__name__)


class BatchSizes:
    """What the group committer has written: batches, calls and records in all, batches that
    were retried call by call, and a histogram of calls per batch (`BUCKETS` are upper bounds,
    the last count is for larger batches). Read with `snapshot()` (thread-safe)."""

    BUCKETS = (1, 2, 5, 10, 20, 50, 100)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.batches = 0
        self.calls = 0
        self.records = 0
        self.retried = 0
        self.calls_per_batch = [0] * (len(self.BUCKETS) + 1)

    def observe(self, calls: int, records: int) -> None:
        metrics.observe("resolver_write_batch_calls", calls)  # /metrics (resolver.metrics)
        metrics.observe("resolver_write_batch_records", records)
        with self._lock:
            self.batches += 1
            self.calls += calls
            self.records += records
            slot = next((i for i, b in enumerate(self.BUCKETS) if calls <= b), len(self.BUCKETS))
            self.calls_per_batch[slot] += 1

    def observe_retry(self) -> None:
        with self._lock:
            self.retried += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"batches": self.batches, "calls": self.calls, "records": self.records,
                    "retried": self.retried, "buckets": list(self.BUCKETS),
                    "calls_per_batch": list(self.calls_per_batch)}


WRITE_BATCHES = BatchSizes()

_Item = tuple[Pending, "Future[dict[str, Any]]"]


def take_batch(waiting: list[_Item]) -> tuple[list[_Item], list[_Item]]:
    """(the batch, what waits for the next): the first call and every later waiting one of the
    same domain and source, up to MAX_BATCH_RECORDS, whose records are not already in the batch
    (one record twice in one transaction would have no single answer); order kept."""
    first = waiting[0][0]
    batch: list[_Item] = []
    rest: list[_Item] = []
    ids: set[str] = set()
    records = 0
    for item in waiting:
        call = item[0]
        size = len(call.good) + len(call.bad)
        mine = set(call.unique_ids) | {str(u) for u in call.bad["unique_id"]}
        if batch and (call.domain != first.domain or call.source != first.source or ids & mine
                      or records + size > MAX_BATCH_RECORDS):
            rest.append(item)
            continue
        batch.append(item)
        ids |= mine
        records += size
    return batch, rest


def _full(waiting: list[_Item]) -> bool:
    """Whether the calls waiting fill a batch already (no later call would fit)."""
    return sum(len(call.good) + len(call.bad) for call, _ in waiting) >= MAX_BATCH_RECORDS


class GroupCommitter:
    """The writer thread of one server (LookupService) and the queue of calls it commits."""

    def __init__(self, service: LookupService):
        self.service = service
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._preparing = 0  # calls between the route's start and their submit
        self._changed = threading.Condition()
        self._last_calls = 0  # calls in the last batch
        if SWITCH_INTERVAL > 0:
            sys.setswitchinterval(SWITCH_INTERVAL)
        self._thread = threading.Thread(target=self._run, name="records-writer", daemon=True)
        self._thread.start()

    def submit(self, call: Pending) -> Future[dict[str, Any]]:
        """Queue `call`; the future holds its answer, or its error, once its batch is committed."""
        future: Future[dict[str, Any]] = Future()
        with self._changed:  # a gathering writer counts the calls waiting
            self._queue.put((call, future))
            self._changed.notify_all()
        return future

    @contextmanager
    def preparing(self) -> Iterator[None]:
        """Around one call's checks, standardizing and `submit`: the writer knows it is coming."""
        with self._changed:
            self._preparing += 1
        try:
            yield
        finally:
            with self._changed:
                self._preparing -= 1
                self._changed.notify_all()

    def _gather(self, waiting: list[_Item]) -> None:
        """Move queued calls into `waiting` until it should be written: at once when it already
        holds a full batch or GATHER_SECONDS have passed; otherwise not while calls are being
        prepared, nor, after a batch of several calls, before LINGER_SECONDS have passed (for
        their callers to send the next ones)."""
        self._drain(waiting)
        if GATHER_SECONDS <= 0:
            return
        start = time.monotonic()
        settle = start + (LINGER_SECONDS if self._last_calls > 1 else 0)
        deadline = start + GATHER_SECONDS
        with self._changed:
            while (now := time.monotonic()) < deadline and not _full(waiting):
                if not self._preparing and now >= settle:
                    return
                self._changed.wait((deadline if self._preparing else min(settle, deadline)) - now)
                self._drain(waiting)

    def _drain(self, waiting: list[_Item]) -> None:
        while True:
            try:
                waiting.append(self._queue.get_nowait())
            except queue.Empty:
                return

    def _run(self) -> None:
        waiting: list[_Item] = []
        while True:
            if not waiting:
                waiting.append(self._queue.get())
            self._gather(waiting)
            batch, waiting = take_batch(waiting)
            self._last_calls = len(batch)
            try:
                self._commit(batch)
            except BaseException as exc:  # never leave a caller waiting
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise

    def _commit(self, batch: list[_Item]) -> None:
        try:
            answers = self._write([call for call, _ in batch])
        except Exception as exc:
            if len(batch) == 1:
                batch[0][1].set_exception(exc)
                return
            _log.info("group commit of %d calls failed (%s); retrying them one by one", len(batch), exc)
            WRITE_BATCHES.observe_retry()
            for item in batch:
                self._commit([item])
            return
        for (_, future), result in zip(batch, answers, strict=True):
            future.set_result(result)

    def _write(self, calls: list[Pending]) -> list[dict[str, Any]]:
        """Store and link every call's records in one transaction; one answer per call."""
        service = self.service
        domain, source = calls[0].domain, calls[0].source
        frames = [c.good.assign(file=c.file) for c in calls]  # prepare numbers each call's rows 0..n-1
        good = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)  # a lone call: no copy
        rejections = [r for c in calls for r in c.rejections]
        with service.write_lock:
            locked = time.perf_counter()
            model, index = service.model(domain)  # under the lock: a job's commit may have switched the view
            result = Resolver(service.store, domain).add_frame(
                good, rejections, calls[0].file, source, model_version=model.version, compiled=model,
                # the server's blocking index finds the neighbours (the store's SQL search took
                # ~0.5-1.5 s for 2,000 records at 1M, the index a few ms)
                neighbours=lambda touched: neighbours(index, touched))
            # the server's views (documents, blocking index) learn the records from the commit itself
            uids = [str(u) for u in good["unique_id"]]
            placed = {p.unique_id: p for p in result.placements}
            unplaced = [u for u in uids if u not in placed]  # records sent again unchanged
            current = entities_of(service.store, unplaced) if unplaced else {}
            metrics.observe("resolver_write_batch_seconds", time.perf_counter() - locked)
        WRITE_BATCHES.observe(len(calls), len(good) + sum(len(c.bad) for c in calls))
        return [answer(c, result.model_version, placed, current) for c in calls]


_committers: weakref.WeakKeyDictionary[LookupService, GroupCommitter] = weakref.WeakKeyDictionary()
_committers_lock = threading.Lock()


def committer(service: LookupService) -> GroupCommitter:
    """The group committer of `service` (started on first use)."""
    with _committers_lock:
        found = _committers.get(service)
        if found is None:
            found = _committers[service] = GroupCommitter(service)
        return found
