"""A served store is checkpointed between writes, by a thread of its own, not inside a commit
(resolver.lookup.checkpoints): never while a writer holds the write lock, unless the log is over
its hard limit, and then as soon as the writer lets go."""

from __future__ import annotations

import os
import signal
import threading
import time
from types import SimpleNamespace

import pytest

from resolver import metrics
from resolver.lookup.checkpoints import Checkpointer
from resolver.store import open_store


@pytest.fixture
def served(tmp_path):
    store = open_store(tmp_path / "master.duckdb")
    service = SimpleNamespace(store=store, write_lock=threading.Lock())  # what the checkpointer uses of a LookupService
    yield service
    store.close()


def _write(service, n: int) -> None:
    with service.write_lock, service.store.transaction() as con:  # as every writer of the server
        con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [f"test_{n}", "x" * 1000])


def _checkpoints_observed() -> int:
    series = metrics.ENGINE.metrics["resolver_checkpoint_seconds"].series.get(())
    return series.count if series else 0


def test_the_log_is_checkpointed_only_when_no_writer_holds_the_lock(served):
    checkpoints = Checkpointer(served, soft=1, hard=1 << 40)  # type: ignore[arg-type]
    served.store.set_checkpoint_threshold("1000GiB")
    _write(served, 1)
    assert checkpoints.log_size() > 0
    with served.write_lock:  # a write in progress: the checkpointer does not wait for it
        assert not checkpoints.step()
    assert checkpoints.log_size() > 0
    taken = _checkpoints_observed()
    assert checkpoints.step()
    assert checkpoints.log_size() == 0 and checkpoints.done == 1
    assert _checkpoints_observed() == taken + 1  # /metrics: resolver_checkpoint_seconds
    assert not checkpoints.step()  # nothing to do under the soft limit
    assert served.store.cursor().execute("SELECT value FROM meta WHERE key = 'test_1'").fetchall() == [("x" * 1000,)]


def test_over_the_hard_limit_it_waits_for_the_writer_then_checkpoints(served):
    checkpoints = Checkpointer(served, soft=1, hard=1)  # type: ignore[arg-type]
    served.store.set_checkpoint_threshold("1000GiB")
    _write(served, 2)
    served.write_lock.acquire()
    released = []

    def writer_finishes() -> None:
        time.sleep(0.3)
        released.append(time.perf_counter())
        served.write_lock.release()

    threading.Thread(target=writer_finishes).start()
    assert checkpoints.step()
    assert released and checkpoints.log_size() == 0


def test_the_thread_raises_the_threshold_and_checkpoints_after_writes(served):
    checkpoints = Checkpointer(served, soft=1, every=0.02).start()  # type: ignore[arg-type]
    try:
        setting = served.store.cursor().execute("SELECT current_setting('checkpoint_threshold')").fetchall()[0][0]
        assert "1000" in setting  # no commit of the process checkpoints by itself
        for n in range(3):
            _write(served, n)
            deadline = time.monotonic() + 10
            while checkpoints.log_size() and time.monotonic() < deadline:
                time.sleep(0.02)
            assert checkpoints.log_size() == 0
        assert checkpoints.done >= 1 and checkpoints.failed == 0
    finally:
        checkpoints.close()


def test_a_requested_checkpoint_is_taken_below_the_soft_limit(served):
    checkpoints = Checkpointer(served, soft=1 << 40, hard=1 << 40)  # type: ignore[arg-type]
    served.store.set_checkpoint_threshold("1000GiB")
    _write(served, 3)
    assert not checkpoints.step()  # the log is far under the soft limit
    checkpoints.request()
    assert checkpoints.step() and checkpoints.log_size() == 0
    _write(served, 4)
    assert not checkpoints.step()  # one request, one checkpoint


def test_sigusr1_asks_the_thread_for_a_checkpoint(served):
    checkpoints = Checkpointer(served, soft=1 << 40, every=30).start()  # type: ignore[arg-type]
    try:
        assert checkpoints.on_signal()  # pytest runs tests in the main thread
        _write(served, 5)
        os.kill(os.getpid(), signal.SIGUSR1)
        deadline = time.monotonic() + 10  # the thread wakes at once, not at its 30 s tick
        while checkpoints.done == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert checkpoints.done == 1 and checkpoints.log_size() == 0
    finally:
        checkpoints.close()
    assert signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL  # the handler from before is back


def test_checkpoints_under_load_vacuum_every_nth_requested_ones_always(tmp_path):
    """A vacuum (DuckDB merging row groups with deleted rows) made a checkpoint of the 1M master's
    64 MiB log 0.8-5.6 s against 0.6-1.4 without (docs/serving.md, session 40): most checkpoints
    taken while writes queue skip it; a requested one (nobody waiting on it) always vacuums."""
    vacuums: list[bool] = []
    store = SimpleNamespace(path=str(tmp_path / "none.duckdb"), checkpoint=lambda vacuum=True: vacuums.append(vacuum))
    checkpoints = Checkpointer(SimpleNamespace(store=store, write_lock=threading.Lock()),  # type: ignore[arg-type]
                               soft=0, vacuum_every=3)
    for _ in range(5):
        assert checkpoints.step()
    checkpoints.request()
    assert checkpoints.step()
    assert checkpoints.step()
    assert vacuums == [False, False, True, False, False, True, False]


def test_a_checkpoint_without_vacuum_keeps_every_row_and_resets_the_setting(served):
    served.store.set_checkpoint_threshold("1000GiB")
    default = served.store.cursor().execute("SELECT current_setting('max_vacuum_tasks')").fetchall()
    for n in range(20):
        _write(served, n)
    with served.write_lock, served.store.transaction() as con:
        con.execute("DELETE FROM meta WHERE key LIKE 'test_1%'")
    served.store.checkpoint(vacuum=False)
    assert served.store.cursor().execute("SELECT current_setting('max_vacuum_tasks')").fetchall() == default
    assert served.store.cursor().execute("SELECT count(*) FROM meta WHERE key LIKE 'test_%'").fetchall() == [(9,)]


def test_when_the_writes_stop_the_skipped_vacuum_is_done(served):
    served.store.set_checkpoint_threshold("1000GiB")
    vacuums: list[bool] = []

    def checkpoint(vacuum: bool = True) -> None:
        vacuums.append(vacuum)
        served.store.checkpoint(vacuum=vacuum)

    store = SimpleNamespace(path=served.store.path, checkpoint=checkpoint)
    checkpoints = Checkpointer(SimpleNamespace(store=store, write_lock=served.write_lock),  # type: ignore[arg-type]
                               soft=1, hard=1 << 40, vacuum_every=100, idle=0.2)
    _write(served, 6)
    assert checkpoints.step() and vacuums == [False]  # over the soft limit, writes going on: no vacuum
    checkpoints.soft = 1 << 40
    _write(served, 7)  # under the soft limit now
    assert not checkpoints.step()
    time.sleep(0.3)  # no commit since: the writes have stopped
    assert checkpoints.step() and vacuums == [False, True] and checkpoints.log_size() == 0
    time.sleep(0.3)
    assert not checkpoints.step()  # nothing owed any more
