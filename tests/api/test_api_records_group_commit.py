"""POST /v1/{domain}/records is group-committed (resolver.lookup.group_commit): concurrent calls
share one transaction, yet each caller gets its own answer and its own atomicity.

A real `resolver serve` subprocess takes 20 callers at once, one of them with bad input; a
second one is killed with SIGKILL while a batch is paused inside its transaction. In-process, a
batch whose shared transaction fails is retried call by call, so only the failing call fails.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from api_support import header, make_keys
from test_api_records_atomic import ORPHANS, _start, _state

from fixtures.live_server import Server
from resolver.lookup.group_commit import WRITE_BATCHES, GroupCommitter, committer
from resolver.lookup.incremental import prepare
from resolver.lookup.service import LookupService
from resolver.store import open_store

pytestmark = pytest.mark.slow  # make test-slow; see tests/conftest.py

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "store"))
from docs_check import assert_docs_match_tables  # noqa: E402

CALLERS = 20
NEW = {"name": "宁波远山青松测绘有限公司", "legal_rep": "司马光", "phone": "13900001111",
       "address": "宁波市鄞州区天童南路88号"}


def _copies(built: Any) -> pd.DataFrame:
    """Existing enterprise records with a USCC: a copy under a new record ID joins its entity."""
    return built.enterprises.dropna(subset=["uscc"]).reset_index(drop=True)


def _fields(row: pd.Series) -> dict[str, str]:
    return {k: str(row[k]) for k in ("name", "uscc", "legal_rep") if pd.notna(row[k])}


def _bodies(built: Any) -> list[dict[str, Any]]:
    """One body per caller: two copies of existing records; callers 0 and 1 also send the same new enterprise."""
    rows = _copies(built)
    bodies = []
    for i in range(CALLERS):
        records = [{"source_record_id": f"gc-{i}-{j}",
                    "fields": _fields(rows.loc[2 * i + j])}
                   for j in range(2)]
        if i < 2:
            records.append({"source_record_id": f"gc-{i}-new", "fields": NEW})
        bodies.append({"source": "tax", "records": records})
    return bodies


def _post_together(url: str, key: str, bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    """Every body at once, from its own thread (a barrier lines them up)."""
    start = threading.Barrier(len(bodies))

    def post(body: dict[str, Any]) -> httpx.Response:
        start.wait()
        return httpx.post(url + "/v1/enterprise/records", json=body, headers=header(key), timeout=120)

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(post, bodies))


def test_twenty_concurrent_callers_each_get_their_own_answer(store_copy, built):
    keys = make_keys(store_copy)
    bodies = _bodies(built)
    bad = {"source": "tax", "records": [{"source_record_id": "gc-bad", "fields": {"name": "杭州甲乙丙有限公司"}},
                                        {"source_record_id": "gc-bad", "fields": {"name": "杭州丁戊己有限公司"}}]}
    server = Server(store_copy)
    try:
        answers = _post_together(server.url, keys.writer, [*bodies, bad])
    finally:
        server.stop()

    assert 400 <= answers[-1].status_code < 500, answers[-1].text
    assert "distinct source_record_id" in answers[-1].text
    rows = _copies(built)
    store = open_store(store_copy, read_only=True)
    try:
        entity_of = dict(store.cursor().execute("SELECT unique_id, entity_id FROM membership").fetchall())
        assert store.cursor().execute(ORPHANS).fetchall()[0][0] == 0
        assert "tax:gc-bad" not in entity_of
        assert_docs_match_tables(store, "enterprise")
    finally:
        store.close()
    new_entities = []
    for i, (body, r) in enumerate(zip(bodies, answers[:-1], strict=True)):
        assert r.status_code == 200, r.text
        results = r.json()["results"]
        assert [o["source_record_id"] for o in results] == [rec["source_record_id"] for rec in body["records"]]
        for j, o in enumerate(results[:2]):  # a copy joins the entity of the record it copies
            original = f"{rows.loc[2 * i + j, 'source']}:{rows.loc[2 * i + j, 'source_record_id']}"
            assert o["action"] == "joined", o
            assert o["entity_id"] == entity_of[original] == entity_of[o["unique_id"]]
        if i < 2:
            new_entities.append(results[2]["entity_id"])
            assert results[2]["entity_id"] == entity_of[results[2]["unique_id"]]
    # the same new enterprise sent by two callers at once is one entity, whichever call created it
    assert new_entities[0] == new_entities[1]


def test_sigkill_mid_batch_leaves_no_record_without_entity(store_copy, built):
    keys = make_keys(store_copy)
    bodies = _bodies(built)[:5]
    ids = [f"tax:{rec['source_record_id']}" for body in bodies for rec in body["records"]]
    proc, url, lines = _start(store_copy, dict(os.environ, RESOLVER_FAULT_PAUSE="save_resolution"))
    try:
        def post(body: dict[str, Any]) -> None:
            try:
                httpx.post(url + "/v1/enterprise/records", json=body, headers=header(keys.writer), timeout=60)
            except httpx.HTTPError:
                pass  # the server is killed before it answers

        for body in bodies:
            threading.Thread(target=post, args=(body,), daemon=True).start()
        deadline = time.monotonic() + 60
        while "paused at save_resolution" not in lines.get(timeout=max(0.1, deadline - time.monotonic())):
            assert time.monotonic() < deadline, "the write never reached the fault point"
        time.sleep(0.5)  # the other calls are queued behind the paused batch
        proc.kill()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -9
    assert _state(store_copy, ids) == (0, 0)


def test_a_failing_batch_is_retried_call_by_call(store_copy, built):
    store = open_store(store_copy)
    try:
        service = LookupService(store)
        rows = _copies(built)
        calls = [prepare(service, "enterprise", "tax", [
            {"source_record_id": f"retry-{i}", **_fields(rows.loc[40 + i])}],
            "tax") for i in range(3)]
        # a column name the store's SQL cannot take: this call's transaction fails, whoever shares it
        calls[1].good['x"y'] = "1"
        writer = GroupCommitter(service)
        futures: list[Future[dict[str, Any]]] = [Future() for _ in calls]
        before = WRITE_BATCHES.snapshot()
        writer._commit(list(zip(calls, futures, strict=True)))
        after = WRITE_BATCHES.snapshot()
        assert after["retried"] == before["retried"] + 1
        assert futures[1].exception() is not None
        for i in (0, 2):
            result = futures[i].result()
            assert [o["action"] for o in result["results"]] == ["joined"]
        entity_of = dict(store.cursor().execute("SELECT unique_id, entity_id FROM membership").fetchall())
        assert "tax:retry-0" in entity_of and "tax:retry-2" in entity_of and "tax:retry-1" not in entity_of
        assert store.cursor().execute(ORPHANS).fetchall()[0][0] == 0
    finally:
        store.close()


def test_calls_waiting_together_share_one_transaction(store_copy, built):
    store = open_store(store_copy)
    try:
        service = LookupService(store)
        rows = _copies(built)
        calls = [prepare(service, "enterprise", "tax", [
            {"source_record_id": f"share-{i}", **_fields(rows.loc[50 + i])}],
            "tax") for i in range(6)]
        writer = committer(service)
        before = WRITE_BATCHES.snapshot()
        with service.write_lock:  # as a CLI job holding the lock: the calls queue meanwhile
            futures = [writer.submit(c) for c in calls]
            time.sleep(0.5)
        results = [f.result(timeout=120) for f in futures]
        after = WRITE_BATCHES.snapshot()
        assert after["calls"] - before["calls"] == 6
        assert after["records"] - before["records"] == 6
        assert after["batches"] - before["batches"] <= 2  # the first may have been taken before the rest came
        for i, result in enumerate(results):
            assert [o["source_record_id"] for o in result["results"]] == [f"share-{i}"]
            assert result["results"][0]["action"] == "joined"
    finally:
        store.close()
