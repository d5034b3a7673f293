"""Checkpoints of a served store, between writes rather than inside one.

DuckDB checkpoints (writes its log into the database file) at the COMMIT that takes the log past
`checkpoint_threshold`, inside that commit: the callers of the POST /records batch, or the job,
that happens to cross it wait for the whole checkpoint (seconds at 1M records). A server raises
the threshold out of reach for its process (every writer in it: POST /records and CLI jobs) and
a `Checkpointer` thread checkpoints instead, holding the service's write lock so that no write is
open meanwhile:

- when the log passes `soft` bytes and no writer holds the lock (it never waits for one then);
- when it passes `hard` bytes, at the next moment the lock is free, even with writes queued,
  so that a server that is never idle still bounds its log (replayed at the next start if the
  server is killed);
- when asked (`request`, or SIGUSR1 to a server: `on_signal`), at the next moment the lock is
  free, whatever the log's size: an operator before a copy of the file, a benchmark that counts
  the checkpoint its writes owe (benchmarks/bench_api.py --write-plan).

- when the writes have stopped (the log unchanged for `idle` seconds) and a checkpoint since the
  last vacuum skipped it (below).

Vacuum: a checkpoint also merges the row groups whose rows earlier writes deleted, when they now
fit in fewer (DuckDB's vacuum). At 1M records that made a checkpoint of a 64 MiB log 0.8-3.7 s
against 0.7-1.1 s without, and the callers queued behind it wait for all of it (docs/serving.md,
session 40). So a checkpoint taken while writes go on skips it, except every `vacuum_every`-th (a
server never idle still merges); one taken when the writes have stopped or when asked merges.

Reads go on during a checkpoint: DuckDB lets readers run beside it. A write that takes no lock
(a review decision) and is open at that moment makes DuckDB refuse the checkpoint; it is tried
again at the next tick.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable

import duckdb

from resolver import metrics
from resolver.lookup.service import LookupService

# Out of reach: no commit of this process checkpoints by itself (a setting of the database,
# so of every connection of the process).
THRESHOLD = "1000GiB"
SOFT = 64 << 20
HARD = 512 << 20
VACUUM_EVERY = 16
IDLE = 5.0  # seconds without a commit: the writes have stopped
_log = logging.getLogger(__name__)


def settings() -> dict[str, int]:
    """The Checkpointer's limits a server takes from its environment (RESOLVER_CHECKPOINT_SOFT_MIB,
    RESOLVER_CHECKPOINT_VACUUM_EVERY), for measuring them over HTTP."""
    out = {}
    if os.environ.get("RESOLVER_CHECKPOINT_SOFT_MIB"):
        out["soft"] = int(os.environ["RESOLVER_CHECKPOINT_SOFT_MIB"]) << 20
    if os.environ.get("RESOLVER_CHECKPOINT_VACUUM_EVERY"):
        out["vacuum_every"] = int(os.environ["RESOLVER_CHECKPOINT_VACUUM_EVERY"])
    return out


class Checkpointer:
    """Checkpoints `service`'s store from a thread of its own (`start`, `close`)."""

    def __init__(self, service: LookupService, *, soft: int = SOFT, hard: int = HARD, every: float = 0.5,
                 vacuum_every: int = VACUUM_EVERY, idle: float = IDLE):
        self.service = service
        self.soft, self.hard, self.every, self.vacuum_every = soft, hard, every, max(1, vacuum_every)
        self.idle = idle
        self.done = 0  # checkpoints taken
        self.unvacuumed = 0  # checkpoints since the last that vacuumed
        self._seen = (-1, time.monotonic())  # the log's size when last seen to change, and when
        self.failed = 0
        self._stop = threading.Event()
        self._asked = threading.Event()  # a checkpoint asked for (request), whatever the log's size
        self._wake = threading.Event()
        self._restore: Callable[[], object] | None = None  # the SIGUSR1 handler before on_signal
        self._thread = threading.Thread(target=self._run, name="checkpointer", daemon=True)

    def start(self) -> Checkpointer:
        self.service.store.set_checkpoint_threshold(THRESHOLD)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop the thread (the store checkpoints once more when it is closed)."""
        if self._restore is not None:
            self._restore()
            self._restore = None
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=60)

    def request(self) -> None:
        """Checkpoint as soon as no writer holds the lock, whatever the log's size."""
        self._asked.set()
        self._wake.set()

    def on_signal(self) -> bool:
        """SIGUSR1 asks for a checkpoint (`request`); whether the handler was installed (only the
        main thread may install one: not under a test client's thread)."""
        if threading.current_thread() is not threading.main_thread():
            return False
        previous = signal.signal(signal.SIGUSR1, lambda signum, frame: self.request())
        self._restore = lambda: signal.signal(signal.SIGUSR1, previous)
        return True

    def log_size(self) -> int:
        """Bytes in the store's write-ahead log (0 when there is none)."""
        try:
            return os.path.getsize(self.service.store.path + ".wal")
        except OSError:
            return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.every)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.step()
            except duckdb.TransactionException as exc:  # a write that took no lock is open: next tick
                self.failed += 1
                _log.info("checkpoint put off: %s", exc)
            except Exception:  # a failed checkpoint leaves the log as it was; the next try may pass
                self.failed += 1
                _log.exception("background checkpoint failed")

    def step(self) -> bool:
        """Checkpoint now if the log calls for it (see the module docstring); whether it did."""
        size, now = self.log_size(), time.monotonic()
        if size != self._seen[0]:
            self._seen = (size, now)
        asked = self._asked.is_set()
        # the writes have stopped, and a vacuum is owed (an empty log merges nothing)
        idle = self.unvacuumed > 0 and size > 0 and now - self._seen[1] >= self.idle
        if size < self.soft and not asked and not idle:
            return False
        lock = self.service.write_lock
        if not lock.acquire(blocking=size >= self.hard or asked):
            return False  # a writer is busy: try again at the next tick
        try:
            vacuum = asked or idle or self.unvacuumed + 1 >= self.vacuum_every
            started = time.perf_counter()
            self.service.store.checkpoint(vacuum=vacuum)
            took = time.perf_counter() - started
            self.done += 1
            self.unvacuumed = 0 if vacuum else self.unvacuumed + 1
            self._asked.clear()
            metrics.observe("resolver_checkpoint_seconds", took)
            _log.info("checkpoint of a %.0f MiB log in %.2f s%s", size / 2**20, took, "" if vacuum else " (no vacuum)")
            return True
        finally:
            lock.release()
