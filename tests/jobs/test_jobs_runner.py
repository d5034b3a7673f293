"""A job in the server's process: writers wait for the one write lock, readers do not; the job's
output and exit code come back as messages."""

from __future__ import annotations

import queue
import shutil
import threading
from pathlib import Path
from types import SimpleNamespace

from jobs_support import SAMPLE, SOURCES

from resolver.jobs.runner import prepare, start


def _job(args: list[str], cwd: Path, service: SimpleNamespace) -> queue.Queue[dict]:
    messages: queue.Queue[dict] = queue.Queue()
    start(prepare(args, str(cwd), service.store.path), service, messages.put)
    return messages


def _until_exit(messages: queue.Queue[dict], timeout: float = 120) -> tuple[int, list[dict]]:
    seen = []
    while True:
        message = messages.get(timeout=timeout)
        if "exit" in message:
            return message["exit"], seen
        seen.append(message)


def test_a_writer_waits_for_the_write_lock_and_a_reader_does_not(first_half, tmp_path: Path) -> None:
    db = tmp_path / "master.duckdb"
    shutil.copy(first_half.path, db)
    (tmp_path / "bad.yaml").write_text("source: tax\ndomain: enterprise\nrecord_id: x\ncolumns:\n  a: no_such_field\n",
                                       encoding="utf-8")
    service = SimpleNamespace(store=SimpleNamespace(path=str(db)), write_lock=threading.Lock())
    with service.write_lock:  # as a POST /records commit, or another write job, would hold it
        writer = _job(["ingest", str(SAMPLE / "tax_taxpayers.csv"), "--db", "master.duckdb", "--mapping", "bad.yaml"],
                      tmp_path, service)
        reader = _job(["model", "show", "--db", "master.duckdb", "--domain", "enterprise"], tmp_path, service)
        code, lines = _until_exit(reader)
        assert code == 0 and lines[0]["line"].startswith("enterprise model version ")
        assert {m["stream"] for m in lines} == {"stdout"}
        assert writer.empty()  # still waiting for the lock
    code, lines = _until_exit(writer)
    assert code == 1
    assert len(lines) == 1 and lines[0]["stream"] == "stderr" and lines[0]["line"].startswith("error: ")
    assert "bad.yaml" in lines[0]["line"]


def test_an_incremental_ingest_job_leaves_the_servers_garbage_collection_on(first_half, tmp_path: Path,
                                                                          monkeypatch) -> None:
    # ingest --incremental pauses automatic collection for its file (resolver.incremental.gc_paused);
    # the switch is process-wide, so inside the server it would pause the request threads' too
    import gc

    import resolver.incremental as incremental

    db = tmp_path / "master.duckdb"
    shutil.copy(first_half.path, db)
    seen: list[bool] = []
    prepare_file = incremental.prepare

    def prepared(*args, **kwargs):
        seen.append(gc.isenabled())
        return prepare_file(*args, **kwargs)

    monkeypatch.setattr(incremental, "prepare", prepared)
    service = SimpleNamespace(store=SimpleNamespace(path=str(db)), write_lock=threading.Lock())
    assert gc.isenabled()
    code, lines = _until_exit(_job(["ingest", str(SAMPLE / "statistics_units.csv"), "--db", "master.duckdb",
                                    "--mapping", str(SOURCES / "statistics.yaml"), "--incremental"],
                                   tmp_path, service))
    assert code == 0, lines
    assert seen == [True]
