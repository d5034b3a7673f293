"""A server's answers while another Store object in its process writes the same file (what a CLI
job run inside the server does): a full re-resolve and an incremental ingest, under load from
ten reader clients doing GET by ID, identifier search and match. No request fails, every answer
is wholly the master before the write or wholly the master after it, and once the write has
returned every answer is the new master's.

The server is uvicorn in a thread of the test process, so the test can open the second Store."""

from __future__ import annotations

import random
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
import uvicorn
from api_support import header, make_keys
from lookup_data import Built, raw_enterprises, standardized, uscc_for

from api.app import create_app
from fixtures.live_server import free_port
from resolver.access.limits import RateLimits
from resolver.engine import Resolver
from resolver.lookup.service import LookupService
from resolver.store import open_store

pytestmark = pytest.mark.slow  # make test-slow; see tests/conftest.py

READERS = 10


class InProcessServer:
    """The API on loopback, served by uvicorn in a thread of this process."""

    def __init__(self, db: Path):
        self.app = create_app(db, limits=RateLimits(0, 0), audit_sync="normal")
        self.url = f"http://127.0.0.1:{free_port()}"
        port = int(self.url.rsplit(":", 1)[1])
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 120
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the in-process server did not start")
            time.sleep(0.05)

    @property
    def service(self) -> LookupService:
        service: LookupService = self.app.state.service
        return service

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@dataclass(frozen=True)
class Query:
    method: str
    path: str
    body: dict[str, Any] | None = None


@dataclass
class Answer:
    query: int
    started: float
    status: int
    body: Any


def ask(client: httpx.Client, query: Query) -> tuple[int, Any]:
    r = client.request(query.method, query.path, json=query.body)
    return r.status_code, r.json()


def answers_during(server: InProcessServer, key: str, queries: list[Query], write: Any
                   ) -> tuple[list[Any], list[Any], list[Answer], float]:
    """(answers before, answers after, every answer of the readers, when the write returned)."""
    with httpx.Client(base_url=server.url, headers=header(key), timeout=60) as c:
        before = [ask(c, q) for q in queries]
    stop = threading.Event()
    seen: list[Answer] = []

    def read(seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(base_url=server.url, headers=header(key), timeout=60) as c:
            while not stop.is_set():
                n = rng.randrange(len(queries))
                started = time.monotonic()
                try:
                    status, body = ask(c, queries[n])
                except (httpx.HTTPError, ValueError) as exc:
                    status, body = -1, repr(exc)
                seen.append(Answer(n, started, status, body))

    threads = [threading.Thread(target=read, args=(i,)) for i in range(READERS)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.5)  # readers running before the write starts
        write()
        done = time.monotonic()
        time.sleep(1.5)  # and after it
    finally:
        stop.set()
        for t in threads:
            t.join()
    with httpx.Client(base_url=server.url, headers=header(key), timeout=60) as c:
        after = [ask(c, q) for q in queries]
    return before, after, seen, done


def check_answers(before: list[Any], after: list[Any], seen: list[Answer], done: float) -> None:
    failed = [a for a in seen if a.status != 200]
    assert not failed, f"{len(failed)} failed requests, e.g. {failed[:3]}"
    mixed = [a for a in seen if (a.status, a.body) not in (before[a.query], after[a.query])]
    assert not mixed, f"{len(mixed)} answers neither the old master nor the new, e.g. {mixed[:2]}"
    stale = [a for a in seen if a.started > done and (a.status, a.body) != after[a.query]]
    assert not stale, f"{len(stale)} answers from the old master after the switch, e.g. {stale[:2]}"
    assert len([a for a in seen if a.started < done]) > 50 and len([a for a in seen if a.started > done]) > 50


def new_company(seed: int) -> tuple[pd.DataFrame, str]:
    """Two records (tax, commerce) of a company the store does not hold, and its USCC."""
    fresh = raw_enterprises(1, seed=seed).head(1)
    uscc = uscc_for(random.Random(seed))
    company = pd.concat([fresh.assign(source="tax", source_record_id=f"x{seed}0"),
                         fresh.assign(source="commerce", source_record_id=f"x{seed}1")], ignore_index=True)
    return company.assign(uscc=uscc), uscc


@pytest.fixture
def keys_and_db(built: Built, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    db = tmp_path / "master.duckdb"
    shutil.copy(built.path, db)
    yield make_keys(db).reader, db


def test_a_full_resolve_by_another_store_switches_atomically(built: Built, keys_and_db: tuple[str, Path]) -> None:
    key, db = keys_and_db
    # The master before: the model's own clusters, but one of them split into single records, so
    # the re-resolve has to merge them back (the IDs of all but one retired).
    store = open_store(db)
    linkage = Resolver(store, "enterprise").link()
    clusters = linkage.clusters[["unique_id", "cluster_id"]].copy()
    records = store.load_records("enterprise").set_index("unique_id")
    sizes = clusters.groupby("cluster_id")["unique_id"].transform("size")
    uscc = clusters["unique_id"].map(records["uscc"])
    same = clusters.groupby("cluster_id")["unique_id"].transform(
        lambda u: uscc[u.index].notna().all() and uscc[u.index].nunique() == 1).astype(bool)
    cluster = clusters.loc[(sizes >= 3) & same, "cluster_id"].iloc[0]  # its records share one USCC
    split = clusters["cluster_id"] == cluster
    clusters.loc[split, "cluster_id"] = clusters.loc[split, "unique_id"]
    store.save_resolution("enterprise", clusters, None, linkage.model.version)
    # and a record stored but not resolved yet: the re-resolve gives it an entity
    unseen, unseen_uscc = new_company(7171)
    store.ingest_frame("enterprise", standardized(unseen, "enterprise"), [], "unseen.csv")
    members = list(clusters.loc[split, "unique_id"])
    old_ids = sorted(store.membership("enterprise").set_index("unique_id").loc[members, "entity_id"])
    store.close()
    assert len(old_ids) >= 3
    row = built.enterprises.set_index("unique_id").loc[members[0]]
    others = sorted(set(built.enterprises["unique_id"]) - set(members))[:3]

    server = InProcessServer(db)
    other = open_store(db)  # a second Store on the file: as a CLI job inside the server opens it
    try:
        with other.reader() as reader:
            other_ids = sorted(set(reader.entities_of(others).values()))
        queries = [Query("GET", f"/v1/enterprise/{e}") for e in old_ids + other_ids]
        queries.append(Query("GET", f"/v1/enterprise?id={records.loc[members[0], 'uscc']}"))
        queries.append(Query("GET", f"/v1/enterprise?id={unseen_uscc}"))
        queries.append(Query("POST", "/v1/enterprise/match", {"name": row["name"], "legal_rep": row["legal_rep"]}))

        def resolve() -> None:
            with server.service.write_lock:  # as a write job takes it
                Resolver(other, "enterprise").resolve()

        before, after, seen, done = answers_during(server, key, queries, resolve)
    finally:
        other.close()
        server.stop()

    check_answers(before, after, seen, done)
    # the re-resolve changed the master, and the server answers with the new one
    survivor = {r["entity_id"] for r in after[len(old_ids) + len(other_ids)][1]["results"]}
    assert len(survivor) == 1 and survivor < set(old_ids)
    retired = [n for n, e in enumerate(old_ids) if e not in survivor]
    assert retired and all(before[n][1]["active"] and not after[n][1]["active"] for n in retired)
    assert {r["entity_id"] for r in before[len(old_ids) + len(other_ids)][1]["results"]} == set(old_ids)
    assert after[-1][1]["candidates"][0]["entity_id"] in survivor
    assert not {c["entity_id"] for c in after[-1][1]["candidates"]} & {old_ids[n] for n in retired}
    assert before[-2][1]["results"] == [] and after[-2][1]["results"][0]["golden"]  # the record resolved


def test_an_incremental_ingest_by_another_store_reaches_the_views(built: Built,
                                                                   keys_and_db: tuple[str, Path]) -> None:
    key, db = keys_and_db
    company, uscc = new_company(4242)
    assert uscc not in set(built.enterprises["uscc"].dropna())
    row = company.iloc[0]
    joined = built.enterprises.iloc[0]

    server = InProcessServer(db)
    other = open_store(db)
    try:
        with other.reader() as reader:
            joined_id = reader.entities_of([joined["unique_id"]])[joined["unique_id"]]
        queries = [Query("GET", f"/v1/enterprise/{joined_id}"),
                   Query("GET", f"/v1/enterprise?id={uscc}"),
                   Query("POST", "/v1/enterprise/match", {"name": row["name"], "legal_rep": row["legal_rep"]}),
                   Query("POST", "/v1/enterprise/match", {"name": joined["name"], "legal_rep": joined["legal_rep"]})]
        again = joined.drop(labels=["unique_id", "truth"]).to_dict() | {"source_record_id": "x90002"}
        frame = standardized(pd.concat([company, pd.DataFrame([again])], ignore_index=True), "enterprise")

        def ingest() -> None:
            with server.service.write_lock:
                Resolver(other, "enterprise").add_frame(frame, [], "inc.csv", "tax")

        before, after, seen, done = answers_during(server, key, queries, ingest)
    finally:
        other.close()
        server.stop()

    check_answers(before, after, seen, done)
    assert before[1][1]["results"] == []
    new_id = after[1][1]["results"][0]["entity_id"]  # found by its identifier
    assert after[2][1]["candidates"][0]["entity_id"] == new_id  # and by match: the index learned it
    assert new_id not in {c["entity_id"] for c in before[2][1]["candidates"]}
    assert after[0][1]["size"] == before[0][1]["size"] + 1  # the record that joined an entity
