"""Workbench page timings on a large master: the 漏管户 worklist's first page and the entity page.

    python benchmarks/bench_ui.py --db /work/bench/api1m/master.duckdb [--runs 30]

The store is copied first (serving writes: indexes, the access store, the audit secret), then
served by `resolver serve`; a key with the workbench's scopes signs in once and the pages are
fetched over HTTP with the session cookie, one at a time. Printed: the first worklist page cold
(the list computed for the store's state), then medians and p90 of warm requests, each page's
size, and the load average before and after (the box is shared: read the figures with it).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fixtures.live_server import Server  # noqa: E402
from resolver.access.access_store import open_access  # noqa: E402
from resolver.access.keys import create_key  # noqa: E402

SCOPES = "enterprise:read,person:read,unregistered:read,unregistered:write,review:read,review:write"


def sign_in(client: httpx.Client, key: str) -> None:
    page = client.get("/ui/login")
    token = re.search(r'name="login_token" value="([^"]+)"', page.text)
    assert token, page.text[:200]
    answer = client.post("/ui/login", data={"api_key": key, "login_token": token.group(1), "next": "/ui/"})
    assert answer.status_code == 303, answer.text[:300]


def timed(client: httpx.Client, path: str, **params: str) -> tuple[float, int, int]:
    started = time.perf_counter()
    answer = client.get(path, params=params)
    return time.perf_counter() - started, answer.status_code, len(answer.content)


def summary(name: str, runs: list[tuple[float, int, int]]) -> None:
    ms = sorted(t * 1000 for t, _, _ in runs)
    statuses = sorted({s for _, s, _ in runs})
    size = statistics.median(n for _, _, n in runs) / 1024
    p90 = ms[min(len(ms) - 1, int(len(ms) * 0.9))]
    print(f"{name:<38} n={len(ms):<3} median {statistics.median(ms):8.1f} ms  p90 {p90:8.1f} ms  "
          f"max {ms[-1]:8.1f} ms  {size:7.1f} KiB  status {statuses}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path, default=Path("/work/bench/api1m/master.duckdb"))
    parser.add_argument("--work", type=Path, default=None, help="where the copy goes (default: a temp dir)")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-ui-", dir=args.work))
    db = work / "master.duckdb"
    try:
        t = time.perf_counter()
        shutil.copy(args.db, db)
        print(f"copied {args.db} ({args.db.stat().st_size / 2**30:.2f} GiB) in {time.perf_counter() - t:.1f} s",
              flush=True)
        key = create_key(open_access(db), "bench", SCOPES, rate_limit=0, match_rate_limit=0)[1]
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
        t = time.perf_counter()
        with Server(db, timeout=600, output=work / "server.log") as server, \
                httpx.Client(base_url=server.url, timeout=600) as client:
            print(f"server ready in {time.perf_counter() - t:.1f} s", flush=True)
            sign_in(client, key)
            summary("worklist, first page (cold: list computed)", [timed(client, "/ui/worklist")])
            summary("worklist, first page", [timed(client, "/ui/worklist") for _ in range(args.runs)])
            summary("worklist, district 江干 (old name)", [timed(client, "/ui/worklist", district="江干")
                                                         for _ in range(args.runs)])
            summary("worklist, page 3 sorted by age", [timed(client, "/ui/worklist", sort="age", offset="100")
                                                       for _ in range(args.runs)])
            rng = random.Random(args.seed)
            top = client.get("/v1/unregistered", params={"limit": 1},
                             headers={"X-API-Key": key}).json().get("total", 0)
            ids: list[str] = []
            while len(ids) < args.runs + 1:
                candidate = f"E{rng.randint(1, 400_000):09d}"
                if client.get(f"/v1/enterprise/{candidate}", headers={"X-API-Key": key}).status_code == 200:
                    ids.append(candidate)
            summary("entity page, first one (cold)", [timed(client, f"/ui/entity/enterprise/{ids[0]}")])
            summary("entity page (random enterprises)", [timed(client, f"/ui/entity/enterprise/{e}") for e in ids[1:]])
            summary("entity page, same entity again", [timed(client, f"/ui/entity/enterprise/{ids[0]}")
                                                       for _ in range(args.runs)])
            names = [client.get(f"/v1/enterprise/{e}", headers={"X-API-Key": key}).json()["golden"].get("name")
                     for e in ids[:10]]
            summary("search page by name", [timed(client, "/ui/search", domain="enterprise", q=n)
                                            for n in names if n])
            print(f"worklist total {top} suspects", flush=True)
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
