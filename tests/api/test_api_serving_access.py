"""Keys and audit against a real `resolver serve` subprocess: keys created, listed and revoked
while it runs (a revocation bites within 5 s), the audit exported while it runs, kill -9
under load loses no audit row of an answer, and uvicorn's own rejects are problem+json."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from api_support import header

from fixtures.live_server import Server
from resolver.access.access_store import open_access
from resolver.access.audit import export_audit, query_fingerprint
from resolver.access.keys import create_key
from resolver.store import open_store

pytestmark = pytest.mark.slow  # make test-slow; see tests/conftest.py

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "resolver", *args], capture_output=True, text=True, env=ENV,
                          timeout=120)


@pytest.fixture(scope="module")
def served(built, tmp_path_factory):
    db = tmp_path_factory.mktemp("serving") / "master.duckdb"
    shutil.copy(built.path, db)
    srv = Server(db, ENV)
    yield srv
    srv.stop()


def test_keys_work_while_the_server_runs_and_a_revocation_bites_within_5_s(served):
    made = cli("keys", "create", "--db", str(served.db), "--department", "人社", "--scopes", "enterprise:read")
    assert made.returncode == 0, made.stderr
    fields = dict(line.split(":", 1) for line in made.stdout.splitlines() if ":" in line)
    key_id, key = fields["key id"].strip(), fields["key"].strip()
    url = served.url + "/v1/enterprise/E000000001"
    assert httpx.get(url, headers=header(key)).status_code == 200
    listed = cli("keys", "list", "--db", str(served.db))
    assert listed.returncode == 0 and key_id in listed.stdout and "active" in listed.stdout

    revoked = cli("keys", "revoke", key_id, "--db", str(served.db))
    assert revoked.returncode == 0, revoked.stderr
    since = time.monotonic()
    status = 200
    while status == 200 and time.monotonic() - since < 10:
        status = httpx.get(url, headers=header(key)).status_code
        time.sleep(0.1)
    assert status == 401 and time.monotonic() - since <= 5.5
    assert "revoked" in cli("keys", "list", "--db", str(served.db)).stdout


def test_audit_export_while_the_server_runs(served, tmp_path):
    _, key = create_key(open_access(served.db), "人社", "enterprise:read")
    httpx.get(served.url + "/v1/enterprise/E000000002", headers=header(key))
    out = tmp_path / "audit.jsonl"
    done = cli("audit", "export", "--db", str(served.db), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "hash chain verified" in done.stdout
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows and rows[-1]["endpoint"] == "GET /v1/{domain}/{entity_id}" and rows[-1]["client"] == "127.0.0.1"


@pytest.mark.parametrize("raw", [
    b"GET /v1/enterprise/E000000001 HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
    b"GET /v1/enterprise/E000000001 HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    b"GET /v1/person/3301\r0619 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40,  # a TLS hello on the plain port
])
def test_requests_uvicorn_refuses_get_problem_json(served, raw):
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as s:
        s.sendall(raw)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and b"content-type: application/problem+json" in head.lower()
    assert json.loads(body)["status"] == 400


@pytest.mark.parametrize("sync", ["full", "normal"])
def test_kill_9_under_load_loses_no_audit_row_of_an_answer(built, tmp_path, sync):
    db = tmp_path / "master.duckdb"
    shutil.copy(built.path, db)
    store = open_store(db)
    try:
        ids = [r[0] for r in store.cursor().execute(
            "SELECT entity_id FROM entities WHERE domain = 'enterprise' AND active ORDER BY entity_id").fetchall()]
    finally:
        store.close()
    access = open_access(db)
    _, key = create_key(access, "人社", "enterprise:read", rate_limit=0)
    srv = Server(db, ENV, ("--audit-sync", sync))
    received: Counter[str] = Counter()
    lock = threading.Lock()
    stop = threading.Event()

    def client(n: int) -> None:
        with httpx.Client(timeout=10, headers=header(key)) as http:
            i = n
            while not stop.is_set():
                entity_id = ids[i % len(ids)]
                i += 20
                try:
                    r = http.get(f"{srv.url}/v1/enterprise/{entity_id}")
                except httpx.HTTPError:
                    return  # the server is gone
                if r.status_code == 200 and r.json()["entity_id"] == entity_id:
                    with lock:
                        received[entity_id] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    try:
        # killed once enough answers are out, however slow the box (a fixed 2 s gave 42 at load 6),
        # while the 20 clients still have requests in flight
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with lock:
                if sum(received.values()) >= 60:
                    break
            time.sleep(0.05)
        os.kill(srv.proc.pid, signal.SIGKILL)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
        srv.proc.wait(10)
    answered = sum(received.values())
    assert answered > 50
    by_fingerprint = {query_fingerprint(access.secret, "GET /v1/{domain}/{entity_id}", {"entity_id": e}): e
                      for e in ids}
    logged: Counter[str] = Counter()
    for fingerprint, count in access.query(
            "SELECT query_fingerprint, count(*) FROM audit_log WHERE status = 200 GROUP BY 1"):
        if fingerprint in by_fingerprint:
            logged[by_fingerprint[fingerprint]] = count
    unlogged = {e: n - logged[e] for e, n in received.items() if n > logged[e]}
    assert unlogged == {}, f"{sum(unlogged.values())} of {answered} answers have no audit row"
    assert export_audit(access, tmp_path / "after-crash.csv")[3] is None  # the chain survived the crash


def test_the_h11_protocol_refuses_with_problem_json_too():
    """The server above runs httptools; where it is missing uvicorn uses h11: same answer."""
    import uvicorn
    from starlette.applications import Starlette

    from api.http_protocol import H11ProblemProtocol

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(Starlette(), host="127.0.0.1", port=port, http=H11ProblemProtocol,
                                           log_level="critical", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n")
            answer = b""
            while chunk := s.recv(65536):
                answer += chunk
    finally:
        server.should_exit = True
        thread.join(10)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and b"content-type: application/problem+json" in head.lower()
    assert json.loads(body)["status"] == 400
