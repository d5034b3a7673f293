"""What observability costs a GET: server CPU per request of two or more source trees (or
serve options) on the same store, interleaved in rounds; and GET /v1/unregistered's latency.

    # before (a checkout of the commit before) against this tree, and this tree with a JSON access log
    git archive 254cd70 | (mkdir -p /tmp/base && tar -x -C /tmp/base)
    python benchmarks/bench_observe.py --db /tmp/sample/master.duckdb \\
        --variant before=/tmp/base --variant after=. --variant "json-log=.:--log-format json --access-log"

Each variant serves its own copy of the store (the server adds indexes and audit rows);
each round starts every variant's server in turn (every other round in reverse order), sends `--warm-up` GETs, then `--requests`
GETs by master ID (random active enterprises, `--concurrency` aiohttp clients, closed loop)
and reads the server's CPU from /proc before and after. Then it times `--unregistered`
sequential GET /v1/unregistered calls (the first computes the list; in a tree with the cache
the others do not). Prints one line per variant and round, then the medians.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_api import cpu_seconds, drive  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from fixtures.live_server import SERVE, free_port  # noqa: E402
from resolver.access.access_store import open_access  # noqa: E402
from resolver.access.keys import create_key  # noqa: E402


def variant(text: str) -> tuple[str, Path, list[str]]:
    name, _, rest = text.partition("=")
    tree, _, args = rest.partition(":")
    return name, Path(tree or ".").resolve(), shlex.split(args)


def start(tree: Path, db: Path, args: list[str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(tree)}
    proc = subprocess.Popen([sys.executable, "-c", SERVE, "serve", "--db", str(db), "--port", str(port),
                             "--log-level", "warning", "--rate-limit", "0", "--match-rate-limit", "0", *args],
                            cwd=tree, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(2400):
        if proc.poll() is not None:
            raise RuntimeError(f"{tree}: server exited during start-up")
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.25)
    proc.kill()
    raise RuntimeError(f"{tree}: server did not answer /health")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def middleware_cost(n: int = 20000) -> None:
    """µs the observe middleware adds to one request, in-process (no server, no network)."""
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    from api.observe import ObserveMiddleware, request_metrics

    async def ok(request: object) -> Response:
        return Response(b"{}", media_type="application/json")

    bare = Starlette(routes=[Route("/v1/{domain}/{entity_id}", ok)])
    observed = Starlette(routes=[Route("/v1/{domain}/{entity_id}", ok)])
    requests, latency = request_metrics()
    observed.add_middleware(ObserveMiddleware, requests=requests, latency=latency)  # type: ignore[arg-type]

    async def run(app: Starlette) -> float:
        async def receive() -> dict[str, object]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: object) -> None:
            return None

        t = time.perf_counter()
        for i in range(n):
            scope = {"type": "http", "method": "GET", "path": f"/v1/enterprise/E{i:09d}", "raw_path": b"",
                     "root_path": "", "query_string": b"", "scheme": "http", "server": ("127.0.0.1", 80),
                     "headers": [(b"host", b"x"), (b"x-api-key", b"k" * 40), (b"accept", b"*/*")]}
            await app(scope, receive, send)
        return (time.perf_counter() - t) / n * 1e6

    figures: dict[str, list[float]] = {"bare": [], "observed": []}
    for _ in range(5):
        figures["bare"].append(asyncio.run(run(bare)))
        figures["observed"].append(asyncio.run(run(observed)))
    b, o = statistics.median(figures["bare"]), statistics.median(figures["observed"])
    print(f"in-process, {n:,} requests x 5: a bare Starlette route {b:.1f} µs/request, with the observe "
          f"middleware {o:.1f} µs: +{o - b:.1f} µs", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, required=True, help="a master store (copied once per variant)")
    ap.add_argument("--variant", action="append", default=[], help="NAME=TREE[:serve options], repeatable")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--warm-up", type=int, default=300)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--unregistered", type=int, default=4, help="GET /v1/unregistered calls per run (0: none)")
    ap.add_argument("--workdir", type=Path, default=None, help="where the copies go (default: a temp dir)")
    a = ap.parse_args()
    middleware_cost()
    variants = [variant(v) for v in a.variant] or [("this", ROOT, [])]
    work = Path(tempfile.mkdtemp(prefix="bench-observe-", dir=a.workdir))
    con = duckdb.connect(str(a.db), read_only=True)
    ids = [r[0] for r in con.execute(
        "SELECT entity_id FROM entities WHERE domain = 'enterprise' AND active").fetchall()]
    con.close()
    copies = {}
    for name, _, _ in variants:
        db = work / name / "master.duckdb"
        db.parent.mkdir(parents=True)
        shutil.copy(a.db, db)
        access = open_access(db)
        copies[name] = (db, create_key(access, "bench", "enterprise:read")[1],
                        create_key(access, "bench", "unregistered:read")[1])
    rng = random.Random(7)
    results: dict[str, list[tuple[float, float]]] = {name: [] for name, _, _ in variants}
    try:
        for round_ in range(1, a.rounds + 1):
            # every other round in reverse order: the place in a round must not favour a variant
            for name, tree, args in (variants if round_ % 2 else variants[::-1]):
                db, key, inspector = copies[name]
                proc, url = start(tree, db, args)
                try:
                    gets = [("GET", f"/v1/enterprise/{rng.choice(ids)}", None) for _ in range(a.requests)]
                    asyncio.run(drive(url, key, gets[:a.warm_up], a.concurrency))
                    cpu = cpu_seconds(proc.pid)
                    ms, wall, statuses = asyncio.run(drive(url, key, gets, a.concurrency))
                    per_request = (cpu_seconds(proc.pid) - cpu) / len(gets) * 1000
                    q = statistics.quantiles(ms, n=100)
                    unreg = []
                    for _ in range(a.unregistered):
                        t = time.perf_counter()
                        r = httpx.get(url + "/v1/unregistered", params={"limit": 50},
                                      headers={"X-API-Key": inspector}, timeout=600)
                        unreg.append((time.perf_counter() - t) * 1000)
                        assert r.status_code == 200, r.text[:300]
                    first = unreg[0] if unreg else float("nan")
                    later = statistics.median(unreg[1:]) if len(unreg) > 1 else float("nan")
                    results[name].append((per_request, later))
                    print(f"round {round_} {name:>10}: GET server CPU {per_request:.3f} ms/req, "
                          f"{len(gets) / wall:,.0f} req/s, p50 {q[49]:.2f} p99 {q[98]:.2f} ms, statuses {statuses}; "
                          f"unregistered first {first:,.1f} ms, then median {later:,.1f} ms", flush=True)
                finally:
                    stop(proc)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nmedians over {a.rounds} rounds, {a.requests} GETs each, {a.concurrency} clients, {len(ids):,} entities:")
    for name, runs in results.items():
        print(f"  {name:>10}: GET server CPU {statistics.median(r[0] for r in runs):.3f} ms/req "
              f"(runs {', '.join(f'{r[0]:.3f}' for r in runs)}); unregistered after the first call "
              f"{statistics.median(r[1] for r in runs):,.1f} ms")


if __name__ == "__main__":
    main()
