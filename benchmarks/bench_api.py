"""Load test of the look-up API from a second process against a real uvicorn server.

    python benchmarks/bench_api.py --entities 40000 --requests 2000 --concurrency 20

Builds a master store (synthetic records through the real standardizer, a model trained on
a sample, truth clusters saved with save_resolution) unless --db points at an existing
one, starts `resolver serve` on loopback, then drives GET /v1/enterprise/{id} and
POST /v1/enterprise/match with httpx from this process. Prints throughput and p50/p95/p99.
Targets: GET p99 ≤ 20 ms; match p99 ≤ 100 ms at 20 concurrent clients.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "lookup"))


def build(directory: Path, entities: int) -> tuple[Path, pd.DataFrame]:
    from lookup_data import patched_rules, raw_enterprises, standardized

    from resolver.linking.rules import load_rules
    from resolver.linking.train import train_model
    from resolver.store import open_store

    os.environ["RESOLVER_RULES"] = str(patched_rules(directory))
    logging.disable(logging.WARNING)
    t = time.perf_counter()
    raw = raw_enterprises(entities, seed=11)
    frame = standardized(raw, "enterprise")
    print(f"standardized {len(frame):,} source records in {time.perf_counter() - t:.1f}s", flush=True)
    store = open_store(directory / "master.duckdb")
    store.ingest_frame("enterprise", frame, [], "bench.csv")
    sample = frame.sample(min(len(frame), 20_000), random_state=1)
    model = train_model(sample, load_rules("enterprise"), out_dir=directory / "models")
    store.register_model("enterprise", model.version, str(model.path))
    store.save_resolution("enterprise", pd.DataFrame({"unique_id": frame["unique_id"], "cluster_id": raw["truth"]}),
                          None, model.version)
    store.close()
    print(f"master built: {len(frame):,} source records, {entities:,} entities in {time.perf_counter() - t:.1f}s",
          flush=True)
    return directory / "master.duckdb", raw


def percentiles(ms: list[float]) -> str:
    q = statistics.quantiles(ms, n=100)
    return f"p50 {q[49]:.1f} ms  p95 {q[94]:.1f} ms  p99 {q[98]:.1f} ms  max {max(ms):.1f} ms"


async def drive(url: str, key: str, make: list, concurrency: int) -> tuple[list[float], float, int]:
    latencies: list[float] = []
    errors = 0
    queue = list(make)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while queue:
            method, path, body = queue.pop()
            t = time.perf_counter()
            r = await client.request(method, path, json=body)
            latencies.append((time.perf_counter() - t) * 1000)
            errors += r.status_code != 200
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, headers={"X-API-Key": key}, limits=limits, timeout=30) as client:
        t = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        return latencies, time.perf_counter() - t, errors


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entities", type=int, default=40_000)
    ap.add_argument("--requests", type=int, default=2_000)
    ap.add_argument("--concurrency", type=int, default=20)
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench_api_"))
    work.mkdir(parents=True, exist_ok=True)
    db, raw = build(work, args.entities)
    from resolver.access.keys import create_key
    from resolver.store import open_store

    store = open_store(db)
    _, key = create_key(store, "bench", "enterprise:read")
    ids = store.con.execute("SELECT entity_id FROM entities WHERE active").fetchall()
    n_records = store.con.execute("SELECT count(*) FROM records_enterprise").fetchall()[0][0]
    store.close()
    port = 8765 + random.randint(0, 1000)
    serve = ("import sys; from resolver.cli import serve; from resolver.cli.app import main; "
             "sys.argv = ['resolver'] + sys.argv[1:]; main()")
    proc = subprocess.Popen([sys.executable, "-c", serve, "serve", "--db", str(db), "--port", str(port),
                             "--log-level", "warning"], env=os.environ.copy())
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        rng = random.Random(5)
        gets = [("GET", f"/v1/enterprise/{rng.choice(ids)[0]}", None) for _ in range(args.requests)]
        rows = raw.sample(args.requests, random_state=3, replace=True).to_dict("records")
        matches = [("POST", "/v1/enterprise/match",
                    {k: row[k] for k in ("name", "legal_rep", "address") if isinstance(row[k], str)})
                   for row in rows]
        print(f"data: {n_records:,} source records, {len(ids):,} entities; {args.concurrency} concurrent clients")
        for label, reqs in (("GET /v1/enterprise/{id}", gets), ("POST /v1/enterprise/match", matches)):
            asyncio.run(drive(url, key, reqs[:50], args.concurrency))  # warm-up
            lat, secs, errors = asyncio.run(drive(url, key, reqs, args.concurrency))
            print(f"{label}: {len(lat)} requests, {len(lat) / secs:.0f} req/s, errors {errors}; {percentiles(lat)}",
                  flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
