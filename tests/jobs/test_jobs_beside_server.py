"""Every CLI verb beside a running server (issue 17): a real `resolver serve` on a store built
from the sample's first half; `resolver` subprocesses run on the same --db while 10 clients
read. Revoke, export, unregistered, the second half's ingest and a full re-resolve all succeed
as jobs in the server; no reader request fails; after the resolve the answers come from the
new master (records of the second half are members, found by their identifiers and by match).
"""

from __future__ import annotations

import csv
import json
import random
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from jobs_support import FIRST_HALF, SAMPLE, SECOND_HALF, SOURCES, cli, ok

from fixtures.live_server import Server
from resolver.access.access_store import open_access
from resolver.access.keys import create_key
from resolver.ingest import prepare
from resolver.jobs.control import TOKEN_HEADER, control_path, read_control
from resolver.store import open_store

pytestmark = pytest.mark.slow  # make test-slow; see tests/conftest.py

READERS = 10
REVOCATION_WINDOW = 5.0  # KeyCache's ttl: a revoked key is refused within it


def _usccs(files: dict[str, str]) -> dict[str, dict[str, str]]:
    """USCC → the first record carrying it (unique_id, name, uscc), over the given sample files."""
    found: dict[str, dict[str, str]] = {}
    for source, name in files.items():
        records = prepare(SOURCES / f"{source}.yaml", SAMPLE / name).records
        for row in records.dropna(subset=["uscc"]).to_dict("records"):
            found.setdefault(str(row["uscc"]), {k: str(row[k]) for k in ("unique_id", "name", "uscc")})
    return found


def _query(record: dict[str, str]) -> dict[str, str]:
    return {"name": record["name"], "uscc": record["uscc"]}


class Readers:
    """`READERS` threads reading without pause (GET by ID, identifier look-up, match) until stopped;
    every answer other than 200 is a failure."""

    def __init__(self, url: str, key: str, entity_ids: list[str], records: list[dict[str, str]]):
        self.url, self.key, self.entity_ids, self.records = url, key, entity_ids, records
        self.done = Counter[str]()
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._read, args=(n,), daemon=True) for n in range(READERS)]

    def __enter__(self) -> Readers:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _read(self, n: int) -> None:
        rng = random.Random(n)
        with httpx.Client(base_url=self.url, headers={"X-API-Key": self.key}, timeout=30) as client:
            while not self._stop.is_set():
                kind = ("get", "id", "match")[rng.randrange(3)]
                record = rng.choice(self.records)
                try:
                    if kind == "get":
                        answer = client.get(f"/v1/enterprise/{rng.choice(self.entity_ids)}")
                    elif kind == "id":
                        answer = client.get("/v1/enterprise", params={"id": record["uscc"]})
                    else:
                        answer = client.post("/v1/enterprise/match", json=record)
                    failed = None if answer.status_code == 200 else f"{kind} {answer.status_code} {answer.text[:200]}"
                except httpx.HTTPError as exc:
                    failed = f"{kind} {type(exc).__name__}: {exc}"
                with self._lock:
                    self.done[kind] += 1
                    if failed:
                        self.failures.append(failed)

    def count(self) -> int:
        with self._lock:
            return sum(self.done.values())

    def wait_for(self, more: int, timeout: float = 60) -> None:
        """Until the readers have answered `more` further requests (they keep up with the jobs)."""
        target = self.count() + more
        deadline = time.monotonic() + timeout
        while self.count() < target and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.count() >= target, f"readers stalled at {self.count()} requests"


def _entity(url: str, key: str, entity_id: str) -> dict:
    answer = httpx.get(url + f"/v1/enterprise/{entity_id}", headers={"X-API-Key": key}, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _search(url: str, key: str, uscc: str) -> list[dict]:
    answer = httpx.get(url + "/v1/enterprise", params={"id": uscc}, headers={"X-API-Key": key}, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()["results"]


def test_verbs_run_beside_a_server_under_readers_and_the_resolve_goes_live(first_half, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    db = tmp_path / "store" / "master.duckdb"
    db.parent.mkdir()
    shutil.copy(first_half.path, db)
    store = open_store(db, read_only=True)
    try:
        membership = store.membership("enterprise")
    finally:
        store.close()
    entity_ids = sorted(set(membership["entity_id"]))
    first = _usccs(FIRST_HALF)
    second = _usccs(SECOND_HALF)
    only_second = sorted(set(second) - set(first))
    shared = sorted(set(second) & set(first))
    assert len(only_second) >= 20 and len(shared) >= 20  # the sample's halves overlap and differ
    access = open_access(db)
    reader_key = create_key(access, "人社", "enterprise:read")[1]
    victim_id, victim_key = create_key(access, "统计", "enterprise:read")
    other_key = create_key(access, "公安", "enterprise:read")[1]

    with Server(db, args=("--rate-limit", "0", "--match-rate-limit", "0")) as srv:
        assert read_control(db) is not None and read_control(db).url == srv.url  # type: ignore[union-attr]
        assert _search(srv.url, reader_key, only_second[0]) == []  # not in the master yet
        with Readers(srv.url, reader_key, entity_ids, [_query(r) for r in first.values()]) as readers:
            readers.wait_for(200)

            assert ok(cli("keys", "revoke", victim_id, "--db", db, cwd=work)).strip() == f"revoked {victim_id}"
            revoked_at = time.monotonic()
            while True:
                status = httpx.get(srv.url + f"/v1/enterprise/{entity_ids[0]}",
                                   headers={"X-API-Key": victim_key}).status_code
                if status in (401, 403) or time.monotonic() - revoked_at > REVOCATION_WINDOW + 2:
                    break
                time.sleep(0.2)
            assert status in (401, 403), "the revoked key is still served"
            assert httpx.get(srv.url + f"/v1/enterprise/{entity_ids[0]}",
                             headers={"X-API-Key": other_key}).status_code == 200

            out = ok(cli("export", "golden", "--db", "master.duckdb", "--domain", "enterprise", "--out", "golden.csv",
                         cwd=db.parent))
            assert f"{len(entity_ids)} golden rows written to {db.parent / 'golden.csv'}" in out
            with open(db.parent / "golden.csv", encoding="utf-8-sig") as f:
                assert {row["entity_id"] for row in csv.DictReader(f)} == set(entity_ids)
            readers.wait_for(100)

            out = ok(cli("unregistered", "--db", db, "--out", "suspects.csv", cwd=work))
            assert out.startswith(f"{work / 'suspects.csv'}: suspect ") and (work / "suspects.csv").stat().st_size > 0

            for source, name in SECOND_HALF.items():
                out = ok(cli("ingest", SAMPLE / name, "--db", db, "--mapping", SOURCES / f"{source}.yaml", cwd=work))
                assert f"{SAMPLE / name}: read " in out
            readers.wait_for(100)
            out = ok(cli("resolve", "--db", db, "--domain", "enterprise", cwd=work))
            assert "entities" in out
            readers.wait_for(300)
        assert readers.failures == [], f"{len(readers.failures)} failed of {readers.count()}: {readers.failures[:5]}"
        assert min(readers.done.values()) > 50

        # the new master answers: the second half's records are members, found by identifier and by match
        for uscc in only_second[:20]:
            found = _search(srv.url, reader_key, uscc)
            assert found, f"{uscc} (second half only) is not found after the resolve"
        for uscc in shared[:20]:  # the second half's record is a member of an entity its USCC finds
            members = {m["unique_id"] for found in _search(srv.url, reader_key, uscc)
                       for m in _entity(srv.url, reader_key, found["entity_id"])["members"]}
            assert second[uscc]["unique_id"] in members, (second[uscc], members)
        record = second[only_second[0]]
        best = httpx.post(srv.url + "/v1/enterprise/match", json=_query(record),
                          headers={"X-API-Key": reader_key}).json()["candidates"][0]
        assert record["unique_id"] in {m["unique_id"] for m in _entity(srv.url, reader_key, best["entity_id"])["members"]}
        members = ok(cli("export", "members", "--db", db, "--domain", "enterprise", "--out", "m.csv", cwd=work))
        stored = sum(1 for _ in open(work / "m.csv", encoding="utf-8-sig")) - 1
        assert members.startswith(f"{stored} members rows") and stored > len(membership)
    assert not control_path(db).exists()  # removed when the server stopped


@pytest.fixture(scope="module")
def server(half_store: Path):
    with Server(half_store) as srv:
        yield srv


def _post(srv: Server, token: str | None, body: object) -> httpx.Response:
    headers = {} if token is None else {TOKEN_HEADER: token}
    return httpx.post(srv.url + "/admin/jobs", json=body, headers=headers, timeout=60)


def test_a_wrong_or_missing_token_is_refused_and_the_route_is_not_public(server: Server, half_store: Path) -> None:
    body = {"argv": ["model", "show", "--db", str(half_store), "--domain", "enterprise"], "cwd": "/"}
    for token in (None, "", "not-the-token", read_control(half_store).token[:-1]):  # type: ignore[union-attr]
        answer = _post(server, token, body)
        assert answer.status_code == 401
        assert answer.headers["content-type"] == "application/problem+json"
        assert "control token" in answer.json()["detail"]
    right = _post(server, read_control(half_store).token, body)  # type: ignore[union-attr]
    assert right.status_code == 200 and right.headers["content-type"] == "application/x-ndjson"
    assert right.text.splitlines()[-1] == '{"exit":0}'
    from api import create_app

    assert not [p for p in create_app(half_store).openapi()["paths"] if "admin" in p]  # not a public route


def test_a_refused_verb_says_why(server: Server, half_store: Path, tmp_path: Path) -> None:
    result = cli("serve", "--db", half_store, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: the server on {half_store} refused the job: `serve` cannot run inside a server; "
        "this store is served already"]


def test_two_jobs_at_once_keep_their_output_apart(server: Server, half_store: Path, tmp_path: Path) -> None:
    lines = {"show": ["model", "show", "--db", half_store, "--domain", "enterprise"],
             "members": ["export", "members", "--db", half_store, "--domain", "enterprise", "--out", "m.csv"]}
    alone = {name: ok(cli(*args, cwd=tmp_path)) for name, args in lines.items()}
    assert len(alone["show"].splitlines()) > 20
    together: dict[str, list[str]] = {}
    threads = [threading.Thread(target=lambda n=name, a=args: together.setdefault(n, []).append(ok(cli(*a, cwd=tmp_path))))
               for name, args in lines.items() for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for name, outputs in together.items():
        assert outputs == [alone[name]] * 2, name


def test_a_failing_job_exits_1_with_its_reason_and_leaves_the_store_as_it_was(
        server: Server, half_store: Path, tmp_path: Path) -> None:
    before = ok(cli("export", "members", "--db", half_store, "--domain", "enterprise", "--out", "before.csv",
                    cwd=tmp_path))
    bad = tmp_path / "bad.yaml"
    bad.write_text("source: tax\ndomain: enterprise\nrecord_id: 记录编号\ncolumns:\n  纳税人名称: no_such_field\n",
                   encoding="utf-8")
    result = cli("ingest", SAMPLE / "tax_taxpayers.csv", "--db", half_store, "--mapping", "bad.yaml", cwd=tmp_path)
    assert result.returncode == 1 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "bad.yaml" in lines[0], result.stderr
    debug = cli("--debug", "ingest", SAMPLE / "tax_taxpayers.csv", "--db", half_store, "--mapping", "bad.yaml",
                cwd=tmp_path)
    assert debug.returncode == 1 and "Traceback" in debug.stderr  # --debug passes through to the job
    usage = cli("ingest", "--db", half_store, "--bogus", cwd=tmp_path)  # caught here, never sent
    assert usage.returncode == 2 and "No such option: --bogus" in usage.stderr
    after = ok(cli("export", "members", "--db", half_store, "--domain", "enterprise", "--out", "after.csv",
                   cwd=tmp_path))
    assert after.replace("after.csv", "before.csv") == before
    assert (tmp_path / "after.csv").read_bytes() == (tmp_path / "before.csv").read_bytes()


def test_a_store_held_by_another_program_is_one_line_naming_it(first_half, tmp_path: Path) -> None:
    db = tmp_path / "held.duckdb"
    db.write_bytes(first_half.path.read_bytes())
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
                               "print('open', flush=True); sys.stdin.read()", str(db)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        result = cli("model", "show", "--db", db, "--domain", "enterprise", cwd=tmp_path)
    finally:
        holder.communicate("")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {db} is open in process {holder.pid}, which is not a resolver server on it (no live "
        f"{db.name}.serve.json); wait for it to finish or stop it"]


def test_a_stale_control_file_is_ignored(first_half, tmp_path: Path) -> None:
    db = tmp_path / "m.duckdb"
    db.write_bytes(first_half.path.read_bytes())
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    control_path(db).write_text(json.dumps({"pid": int(dead.stdout), "url": "http://127.0.0.1:9", "token": "t",
                                            "started_at": "2026-01-01T00:00:00+00:00", "db": str(db)}))
    shown = ok(cli("model", "show", "--db", db, "--domain", "enterprise", cwd=tmp_path))  # ran here, no server
    assert shown.startswith("enterprise model version ")
    with Server(db) as srv:  # a server replaces it
        assert read_control(db).url == srv.url  # type: ignore[union-attr]


def test_an_incremental_ingest_job_is_served_at_once(server: Server, half_store: Path, tmp_path: Path) -> None:
    key = create_key(open_access(half_store), "人社", "enterprise:read")[1]
    first = _usccs(FIRST_HALF)
    new = {u: r for u, r in _usccs({"statistics": SECOND_HALF["statistics"]}).items() if u not in first}
    uscc = sorted(new)[0]
    assert _search(server.url, key, uscc) == []
    out = ok(cli("ingest", SAMPLE / SECOND_HALF["statistics"], "--db", half_store, "--mapping",
                 SOURCES / "statistics.yaml", "--incremental", cwd=tmp_path))
    assert "linked " in out
    found = _search(server.url, key, uscc)
    assert found, "a record linked by the job is not found by its identifier"
    members = {m["unique_id"] for f in found for m in _entity(server.url, key, f["entity_id"])["members"]}
    assert new[uscc]["unique_id"] in members
