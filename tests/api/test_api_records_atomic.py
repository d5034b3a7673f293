"""POST /v1/{domain}/records is one transaction: a server killed with SIGKILL between storing
the records and linking them leaves no source record without an entity (issue 14, finding 7).

A real `resolver serve` subprocess pauses inside the write (RESOLVER_FAULT_PAUSE, the store's
fault point after the records are written and before the new membership is); the test kills
it there with SIGKILL, opens the store, and restarts the server to post the records again.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from api_support import header, make_keys

from fixtures.live_server import SERVE, free_port
from resolver.store import open_store

pytestmark = pytest.mark.slow  # make test-slow; see tests/conftest.py

ORPHANS = ("SELECT count(*) FROM records_enterprise r "
           "WHERE NOT EXISTS (SELECT 1 FROM membership m WHERE m.unique_id = r.unique_id)")


def _start(db: Path, env: dict[str, str]) -> tuple[subprocess.Popen[str], str, queue.Queue[str]]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", SERVE, "serve", "--db", str(db), "--port", str(port),
                             "--log-level", "warning"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout or []], daemon=True).start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, "server exited"
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return proc, url, lines
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("server did not answer /health within 60 s")


def _state(db: Path, ids: list[str]) -> tuple[int, int]:
    """(records without an entity, how many of `ids` are stored)."""
    store = open_store(db, read_only=True)
    try:
        orphans = store.cursor().execute(ORPHANS).fetchall()[0][0]
        stored = store.cursor().execute("SELECT count(*) FROM records_enterprise WHERE unique_id IN (SELECT unnest(?))",
                                   [ids]).fetchall()[0][0]
    finally:
        store.close()
    return int(orphans), int(stored)


def test_sigkill_between_records_and_linking_leaves_no_record_without_entity(store_copy, built):
    keys = make_keys(store_copy)
    rows = built.enterprises.dropna(subset=["uscc"]).iloc[10:14]
    body = {"source": "tax", "records": [
        {"source_record_id": f"atomic-{i}", "fields": {"name": r["name"], "uscc": r["uscc"],
                                                       "legal_rep": r["legal_rep"]}}
        for i, (_, r) in enumerate(rows.iterrows())]
        + [{"source_record_id": "atomic-new", "fields": {"name": "杭州从未有过测绘有限公司", "legal_rep": "欧阳修"}}]}
    ids = [f"tax:{r['source_record_id']}" for r in body["records"]]
    assert _state(store_copy, ids) == (0, 0)

    proc, url, lines = _start(store_copy, dict(os.environ, RESOLVER_FAULT_PAUSE="save_resolution"))
    try:
        def post() -> None:
            try:
                httpx.post(url + "/v1/enterprise/records", json=body, headers=header(keys.writer), timeout=60)
            except httpx.HTTPError:
                pass  # the server is killed before it answers

        threading.Thread(target=post, daemon=True).start()
        deadline = time.monotonic() + 60
        while "paused at save_resolution" not in lines.get(timeout=max(0.1, deadline - time.monotonic())):
            assert time.monotonic() < deadline, "the write never reached the fault point"
        proc.kill()  # SIGKILL, mid-write
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -9
    # All or nothing: none of the records, so none without its entity.
    assert _state(store_copy, ids) == (0, 0)

    proc, url, _ = _start(store_copy, {k: v for k, v in os.environ.items() if k != "RESOLVER_FAULT_PAUSE"})
    try:
        r = httpx.post(url + "/v1/enterprise/records", json=body, headers=header(keys.writer), timeout=60)
        assert r.status_code == 200, r.text
        results = r.json()["results"]
        assert [o["action"] for o in results] == ["joined"] * 4 + ["created"]
        assert all(o["entity_id"] for o in results)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert _state(store_copy, ids) == (0, len(ids))
