"""Who hears of a commit to a store file: listeners kept per file for the whole process.

Inside one process every `open_store(path)` of a file is a connection to the same DuckDB
instance, so a write by any Store object (the server's own, or a job's) changes what the
server serves. Listeners are therefore kept here, per resolved path, not on a Store object.

A write notes what it changed (`Change`, per domain) inside its transaction. Before the
COMMIT the store calls each listener of its file with the changes and a Reader on the
transaction's own connection (it sees the writes not yet committed); the listener builds
what it needs from it and returns an `apply` function. The store then takes the file's gate
exclusively, commits, runs every `apply` and lets go. A reader that holds the gate shared for
its whole request (`gate(path).shared()`) therefore sees the store and the listeners' views
both from before the commit or both from after it. A listener that fails stops the write
(rolled back): a cache is never left behind its store.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from resolver.store.reads import Reader


@dataclass
class Change:
    """What one transaction changed in one domain."""

    domain: str
    # master IDs whose serving documents were rewritten; None: the whole domain's
    docs: set[str] | None = field(default_factory=set)
    # unique_id → its entity, for records stored, replaced, or moved to another entity; None:
    # the whole domain's. The entity is None when the write did not place the record (a plain
    # ingest: a new record has none yet, a replaced one keeps its entity; read it if needed).
    records: dict[str, str | None] | None = field(default_factory=dict)
    model: tuple[str, str] | None = None  # (version, model JSON) of a model version published
    # the documents of `docs` as the write made them, (domain, JSON text) or None (no document);
    # None: the listener reads them from the transaction
    written: dict[str, tuple[str, bytes] | None] | None = None
    # a temp table of the transaction (the records table's columns) holding the rows of records
    # in `records` as the transaction leaves them (a write's neighbourhood): the listener reads
    # them there, a few thousand rows, not by a scan of the whole table; None: no such table.
    # The store drops it once the listeners have read it.
    rows: str | None = None

    def add(self, other: Change) -> None:
        """Fold a later write of the same transaction into this one."""
        mine, theirs = self._written(), other._written()
        self.written = None if mine is None or theirs is None else {**mine, **theirs}
        self.docs = None if self.docs is None or other.docs is None else self.docs | other.docs
        if self.records is None or other.records is None:
            self.records = None
        else:
            for unique_id, entity in other.records.items():
                if entity is not None or unique_id not in self.records:
                    self.records[unique_id] = entity
        self.model = other.model or self.model
        # a later write's records not in its own table may have changed rows of ours
        self.rows = other.rows or (self.rows if other.records == {} else None)

    def _written(self) -> dict[str, tuple[str, bytes] | None] | None:
        """`written`, or {} for a change that rewrote no document (nothing it could contradict)."""
        return {} if self.docs is not None and not self.docs else self.written

    def documents(self) -> dict[str, tuple[str, bytes] | None] | None:
        """The documents of `docs` when the write handed every one of them over, else None."""
        if self.docs is None or self.written is None or not self.docs <= self.written.keys():
            return None
        return {e: self.written[e] for e in self.docs}

    def __bool__(self) -> bool:
        return self.docs is None or self.records is None or bool(self.docs or self.records or self.model)


Apply = Callable[[], None]
# listener(changes, reader on the writing transaction) → what to run right after the COMMIT
Listener = Callable[[list[Change], Reader], Apply | None]


class Gate:
    """Shared for requests, exclusive for a commit and its views' switch. A waiting commit goes
    first: new requests wait behind it (requests take ms, so it waits at most about that)."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._writing = False
        self._waiting = 0

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            while self._writing or self._waiting:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cond:
            self._waiting += 1
            try:
                while self._writing or self._readers:
                    self._cond.wait()
            finally:
                self._waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()


@dataclass
class _File:
    listeners: list[Callable[[], Listener | None]] = field(default_factory=list)  # weak where possible
    gate: Gate = field(default_factory=Gate)


_files: dict[str, _File] = {}
_lock = threading.Lock()


def key(path: str | Path) -> str:
    """The name a store file is known by here (resolved: two spellings of one file are one)."""
    return str(Path(path).resolve())


def _file(name: str) -> _File:
    with _lock:
        return _files.setdefault(name, _File())


def gate(path: str | Path) -> Gate:
    """The gate of the store file at `path` (see the module docstring)."""
    return _file(key(path)).gate


def listen(path: str | Path, listener: Listener) -> Callable[[], None]:
    """Call `listener` before every commit that changed something in the file at `path`, made by
    any Store of this process. Returns the function that stops it. A bound method is held
    weakly: a service dropped without stopping its listener is not kept alive by it."""
    ref: Callable[[], Listener | None]
    if hasattr(listener, "__self__"):
        ref = weakref.WeakMethod(listener)  # type: ignore[arg-type]
    else:
        ref = lambda: listener  # noqa: E731
    entry = _file(key(path))
    with _lock:
        entry.listeners.append(ref)

    def stop() -> None:
        with _lock:
            if ref in entry.listeners:
                entry.listeners.remove(ref)

    return stop


def listening(name: str) -> bool:
    """Whether anything listens to the file `name` (`key`): a write skips collecting details nobody reads."""
    return bool(_live(name))


def _live(name: str) -> list[Listener]:
    with _lock:
        entry = _files.get(name)
        refs = list(entry.listeners) if entry else []
    return [f for f in (r() for r in refs) if f is not None]


def prepare(name: str, changes: list[Change], reader: Reader) -> list[Apply]:
    """Inside the transaction on the file `name` (`key`), before its COMMIT: every listener builds
    from `reader`."""
    changes = [c for c in changes if c]
    if not changes:
        return []
    return [a for listener in _live(name) if (a := listener(changes, reader)) is not None]


def commit(name: str, con: duckdb.DuckDBPyConnection, applies: list[Apply]) -> Any:
    """COMMIT, and run the listeners' `applies` with the file's gate held exclusively. An apply
    only swaps or splices what was built before (it cannot fail half-way in practice)."""
    if not applies:
        return con.execute("COMMIT")
    with _file(name).gate.exclusive():
        con.execute("COMMIT")
        for apply in applies:
            apply()
    return None
