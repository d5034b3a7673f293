"""A full re-resolve run as a job inside a live server, while clients keep reading.

    python benchmarks/bench_resolve_while_serving.py --db /work/bench/1m/master.duckdb [--domain enterprise]
                                                     [--read-clients 2] [--alone-seconds 15] [--serve-from CHECKOUT]

The store is copied first. `resolver serve` starts on the copy (it indexes the look-up columns,
as in production), GET /v1/{domain}/{id} and POST /v1/{domain}/match clients read alone for
`--alone-seconds`, then `resolver resolve --db COPY --domain DOMAIN` runs (the CLI sends it to the
server as a job, docs/store.md) while they keep reading. Prints the resolve's wall time and
its `time:` line, and each read label's latency percentiles alone and during, with every status
and client error counted: issue 17 asks for zero failed requests during the switch.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_api import RESOLVER, cpu_seconds, load, percentiles, serve, workload  # noqa: E402


async def read_until(url: str, key: str, reads: dict[str, list[tuple[str, str, Any]]], clients: int,
                     done: asyncio.Event) -> tuple[dict[str, list[float]], dict[str, int]]:
    """`clients` closed-loop clients per label until `done`; latencies per label and every outcome
    (HTTP status or the client error's name) counted."""
    latencies: dict[str, list[float]] = {label: [] for label in reads}
    outcomes: dict[str, int] = {}

    async def loop(session: aiohttp.ClientSession, label: str, offset: int) -> None:
        reqs, i = reads[label], offset
        while not done.is_set():
            method, path, body = reqs[i % len(reqs)]
            i += clients
            t = time.perf_counter()
            try:
                async with session.request(method, url + path, json=body) as r:
                    await r.read()
                outcome = str(r.status)
            except (TimeoutError, aiohttp.ClientError) as e:
                outcome = type(e).__name__
            latencies[label].append((time.perf_counter() - t) * 1000)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=clients * len(reads)),
                                     headers={"X-API-Key": key},
                                     timeout=aiohttp.ClientTimeout(total=600)) as session:
        await asyncio.gather(*(loop(session, label, k) for label in reads for k in range(clients)))
    return latencies, outcomes


async def beside(url: str, key: str, reads: dict[str, list[tuple[str, str, Any]]], clients: int,
                 seconds: float | None, command: list[str] | None, root: Path = ROOT
                 ) -> tuple[dict[str, list[float]], dict[str, int], str]:
    """Reads for `seconds`, or while `command` runs (then its stderr's `time:` line is returned)."""
    done = asyncio.Event()
    task = asyncio.create_task(read_until(url, key, reads, clients, done))
    timing = ""
    if command is None:
        await asyncio.sleep(seconds or 0)
    else:
        proc = await asyncio.create_subprocess_exec(*command, cwd=root, env={**os.environ, "PYTHONPATH": str(root)},
                                                    stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        _, err = await proc.communicate()
        if proc.returncode != 0:
            done.set()
            await task
            raise SystemExit(f"resolve failed ({proc.returncode}): {err.decode()[-2000:]}")
        timing = next((line.strip() for line in err.decode().splitlines() if line.strip().startswith("time:")), "")
    done.set()
    latencies, outcomes = await task
    return latencies, outcomes, timing


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, required=True, help="a resolved master store (copied first)")
    ap.add_argument("--domain", default="enterprise")
    ap.add_argument("--read-clients", type=int, default=2, help="clients per read label")
    ap.add_argument("--alone-seconds", type=float, default=15)
    ap.add_argument("--server-threads", type=int, default=4)
    ap.add_argument("--serve-from", type=Path, default=ROOT, help="the checkout whose server and CLI are measured")
    args = ap.parse_args()
    from box import line as box_line  # benchmarks/box.py, the yardstick
    print(box_line(), flush=True)
    work = Path(tempfile.mkdtemp(prefix="bench_resolve_serving_"))
    try:
        served = work / "master.duckdb"
        shutil.copy(args.db, served)
        key, plan, size = workload(served, 2000, 0)
        reads = {label: reqs for label, reqs in plan.items()
                 if args.domain in label and (label.startswith("GET") or label.endswith("/match"))}
        port = 8765 + random.randint(0, 1000)
        print(f"data: {size}; load average {load()}", flush=True)
        proc = serve(served, port, args.server_threads, root=args.serve_from)
        url = f"http://127.0.0.1:{port}"
        try:
            alone, alone_outcomes, _ = asyncio.run(beside(url, key, reads, args.read_clients, args.alone_seconds, None))
            command = [sys.executable, "-c", RESOLVER[2], "resolve", "--db", str(served), "--domain", args.domain]
            before_load, cpu, t = load(), cpu_seconds(proc.pid), time.perf_counter()
            during, outcomes, timing = asyncio.run(beside(url, key, reads, args.read_clients, None, command,
                                                           args.serve_from))
            wall = time.perf_counter() - t
            print(f"resolve {args.domain} as a job: {wall:.1f} s wall, server CPU {cpu_seconds(proc.pid) - cpu:.1f} s "
                  f"(the reads' included), load {before_load} → {load()}", flush=True)
            print(f"  {timing}", flush=True)
            for label in reads:
                print(f"    {label:28s} alone  ({len(alone[label])} req) {percentiles(alone[label])}", flush=True)
                print(f"    {label:28s} during ({len(during[label])} req) {percentiles(during[label])}", flush=True)
            print(f"  outcomes alone {alone_outcomes}, during {outcomes}", flush=True)
        finally:
            proc.terminate()
            proc.wait(timeout=120)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
