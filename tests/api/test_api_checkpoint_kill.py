"""A served store checkpointed while POST /records writes (resolver.lookup.checkpoints): a
SIGKILL at any moment loses no acknowledged write, and reads go on during the checkpoints.

A real `resolver serve` subprocess checkpoints at every tick (a soft limit of 0 MiB), and only one
checkpoint in three vacuums, so both kinds fall between the writes; four callers write copies of
existing records (each joins its entity: deletes and updates of golden values, documents and
entities) while a reader asks for an entity; the server is killed with writes in flight and reopened.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import httpx
import pytest
from api_support import header, make_keys
from test_api_records_atomic import ORPHANS, _start

from resolver.access.access_store import open_access
from resolver.access.keys import create_key
from resolver.store import open_store

pytestmark = pytest.mark.slow  # make test-slow; see tests/conftest.py

WRITERS = 4


def _checkpoints(url: str, key: str) -> float:
    text = httpx.get(url + "/metrics", headers=header(key), timeout=10).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("resolver_checkpoint_seconds_count"))


def test_sigkill_while_checkpoints_fall_between_writes_loses_no_acknowledged_write(store_copy, built):
    keys = make_keys(store_copy)
    metrics_key = create_key(open_access(store_copy), "运维", "metrics:read")[1]
    rows = built.enterprises.dropna(subset=["uscc"]).reset_index(drop=True)
    store = open_store(store_copy, read_only=True)
    try:
        entity = store.cursor().execute("SELECT entity_id FROM entities WHERE domain = 'enterprise' AND active "
                                        "LIMIT 1").fetchall()[0][0]
    finally:
        store.close()
    env = dict(os.environ, RESOLVER_CHECKPOINT_SOFT_MIB="0", RESOLVER_CHECKPOINT_VACUUM_EVERY="3")
    proc, url, _ = _start(store_copy, env)
    acknowledged: list[str] = []
    reads: list[int] = []
    stop = threading.Event()

    def write(w: int) -> None:
        n = 0
        while not stop.is_set():
            ids = [f"ck-{w}-{n}-{j}" for j in range(2)]
            body = {"source": "tax", "records": [
                {"source_record_id": rid, "fields": {k: str(rows.loc[(w * 997 + n * 2 + j) % len(rows), k])
                                                     for k in ("name", "uscc", "legal_rep")}}
                for j, rid in enumerate(ids)]}
            n += 1
            try:
                r = httpx.post(url + "/v1/enterprise/records", json=body, headers=header(keys.writer), timeout=60)
            except httpx.HTTPError:
                return  # killed before it answered: not acknowledged
            if r.status_code == 200:
                acknowledged.extend(f"tax:{rid}" for rid in ids)

    def read() -> None:
        while not stop.is_set():
            try:
                reads.append(httpx.get(f"{url}/v1/enterprise/{entity}", headers=header(keys.reader),
                                       timeout=10).status_code)
            except httpx.HTTPError:
                return

    threads = [threading.Thread(target=write, args=(w,), daemon=True) for w in range(WRITERS)]
    threads.append(threading.Thread(target=read, daemon=True))
    try:
        for t in threads:
            t.start()
        deadline = time.monotonic() + 120
        while _checkpoints(url, metrics_key) < 4 or len(acknowledged) < 40:  # several checkpoints among the writes
            assert time.monotonic() < deadline, f"{_checkpoints(url, metrics_key)} checkpoints, {len(acknowledged)} writes"
            time.sleep(0.2)
        proc.kill()  # writes in flight
        proc.wait(timeout=30)
    finally:
        stop.set()
        if proc.poll() is None:
            proc.kill()
    for t in threads:
        t.join(timeout=70)
    assert proc.returncode == -9
    assert reads and set(reads) == {200}
    store = open_store(store_copy, read_only=True)  # replays the log left by the kill
    try:
        con: Any = store.cursor()
        stored = con.execute("SELECT count(*) FROM records_enterprise WHERE unique_id IN (SELECT unnest(?))",
                             [acknowledged]).fetchall()[0][0]
        orphans = con.execute(ORPHANS).fetchall()[0][0]
    finally:
        store.close()
    assert (stored, orphans) == (len(acknowledged), 0)
