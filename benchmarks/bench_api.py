"""Load test of the look-up API: a real `resolver serve` subprocess, load from this process (aiohttp).

    # build a master from the project's own fixtures and pipeline, then measure
    python benchmarks/bench_api.py --build /tmp/api1m --records 1000000
    # reuse a built master (the DB is copied first: the server adds indexes and audit rows)
    python benchmarks/bench_api.py --db /tmp/api1m/master.duckdb --requests 2000 --concurrency 1,20
    # writes: 20 clients x 100 records a call, then 1 client x 1 record, with GET and match beside
    python benchmarks/bench_api.py --db /tmp/api1m/master.duckdb --write-plan 20x100,1x1 --writes 100

`--build` runs `python -m fixtures.generate`, `resolver ingest` for the 8 files of the
manifest, `resolver train` and `resolver resolve` for both domains. The benchmark drives
GET /v1/{domain}/{master ID} (random active entities), POST /v1/{domain}/match (records
sampled from the store, sent as their canonical values, half of the enterprise queries
without USCC), the same kind of match queries `--batch` (100) named queries a call
(`--batch-calls` calls; queries/s and the latency of a whole call are printed) and POST
/v1/enterprise/records (one new record per call, `--writes` calls, after `WARM_WRITES` unmeasured ones)
for each concurrency given, closed loop: each client sends its next request
when the previous answer arrives (aiohttp clients in this process). Prints throughput,
p50/p95/p99, the server's and the load generator's CPU per request (from /proc: comparable
across runs when the box is shared), and the 1-minute load average before and after each
run. Targets (issue 7): GET p99 ≤ 20 ms, match p99 ≤ 100 ms at 20 concurrent clients.

On a 2-core box the load generator shares the CPU with the server, so at 20 closed-loop
clients latency is roughly 20 / throughput: the CPU per request is the figure to cut.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import httpx

ROOT = Path(__file__).resolve().parents[1]
RESOLVER = [sys.executable, "-c", "import sys; from resolver.cli import serve; from resolver.cli.app import main; "
            "sys.argv = ['resolver'] + sys.argv[1:]; main()"]


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "?"


def run(cmd: list[str]) -> None:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    print(f"  {' '.join(str(c) for c in cmd[3:7])}…: {time.perf_counter() - t:.0f}s (load {load()})", flush=True)


def build(directory: Path, records: int) -> Path:
    """Fixtures → ingest → train → resolve, with the project's own CLI; returns the DB path."""
    directory.mkdir(parents=True, exist_ok=True)
    db = directory / "master.duckdb"
    if not (directory / "manifest.json").exists():
        run([sys.executable, "-m", "fixtures.generate", "--out", str(directory), "--records", str(records)])
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    for f in manifest["files"]:
        run([*RESOLVER, "ingest", "--db", str(db), "--mapping",
             str(ROOT / "matching_rules" / "sources" / f"{f['source']}.yaml"), str(directory / f["file"])])
    for domain in ("enterprise", "person"):
        run([*RESOLVER, "train", "--db", str(db), "--domain", domain, "--models-dir", str(directory / "models" / domain)])
        run([*RESOLVER, "resolve", "--db", str(db), "--domain", domain])
    return db


def workload(db: Path, n: int, writes: int, seed: int = 5, per_call: int = 1, batch: int = 0, batch_calls: int = 0
             ) -> tuple[str, dict[str, list[tuple[str, str, Any]]], str]:
    """An API key and, per label, n requests drawn from the store (`writes` for POST /records,
    `per_call` records each; `batch_calls` match calls of `batch` named queries each)."""
    import duckdb

    from resolver.access.access_store import open_access
    from resolver.access.keys import create_key
    from resolver.store import open_store

    # One key drives every client: unlimited, or the per-key rate limits would be measured.
    _, key = create_key(open_access(db), "bench", "enterprise:read,person:read,records:write,metrics:read",
                        sources="tax", rate_limit=0, match_rate_limit=0)
    store = open_store(db)
    try:
        con: duckdb.DuckDBPyConnection = store.cursor()
        rng = random.Random(seed)
        out: dict[str, list[tuple[str, str, Any]]] = {}
        for domain, fields in (("enterprise", ("name", "legal_rep", "address", "phone", "uscc")),
                               ("person", ("name", "birth_date", "phone", "address", "id_number"))):
            ids = [r[0] for r in con.execute(
                "SELECT entity_id FROM entities WHERE domain = ? AND active USING SAMPLE 20000 ROWS (reservoir, 1)",
                [domain]).fetchall()]
            out[f"GET /v1/{domain}/{{id}}"] = [("GET", f"/v1/{domain}/{rng.choice(ids)}", None) for _ in range(n)]
            cols = ", ".join(f'"{c}"' for c in fields)
            wanted = max(n, writes * per_call if domain == "enterprise" else 0, batch * batch_calls)
            rows = con.execute(f"SELECT {cols} FROM records_{domain} USING SAMPLE {wanted} ROWS (reservoir, 2)").fetchall()
            bodies = []
            for row in rows:
                body = {f: v for f, v in zip(fields, row, strict=True) if isinstance(v, str) and v}
                if rng.random() < 0.5:  # half the queries carry no identifier: name-based blocking only
                    body.pop("uscc" if domain == "enterprise" else "id_number", None)
                bodies.append(("POST", f"/v1/{domain}/match", body or {"name": "王伟"}))
            out[f"POST /v1/{domain}/match"] = bodies[:n]
            if batch and batch_calls:  # the same kind of queries, `batch` named queries a call
                out[f"POST /v1/{domain}/match x{batch}"] = [
                    ("POST", f"/v1/{domain}/match",
                     {"queries": {f"q{i}": b for i, (_, _, b) in enumerate(bodies[c * batch:(c + 1) * batch])}})
                    for c in range(batch_calls) if len(bodies) >= (c + 1) * batch]
            if domain == "enterprise":  # `per_call` new tax records per call, sampled from the store's values
                out["POST /v1/enterprise/records"] = [
                    ("POST", "/v1/enterprise/records",
                     {"source": "tax", "records": [{"source_record_id": f"bench-{c}-{i}", "fields": body}
                                                   for i, (_, _, body) in enumerate(
                                                       bodies[c * per_call:(c + 1) * per_call])]})
                    for c in range(writes)]
        records = con.execute("SELECT (SELECT count(*) FROM records_enterprise) + (SELECT count(*) FROM records_person),"
                              " (SELECT count(*) FROM entities)").fetchall()[0]
        return key, out, f"{records[0]:,} source records, {records[1]:,} entities"
    finally:
        store.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its live child processes (Linux; a server that
    works in processes of its own is then not undercounted), for per-request cost independent of load."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # a child that has just exited
        return 0.0
    children = [int(c) for task in Path(f"/proc/{pid}/task").glob("*") for c in _read(task / "children").split()]
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK") + sum(cpu_seconds(c) for c in children)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:  # a thread that has just ended
        return ""


def percentiles(ms: list[float]) -> str:
    # inclusive: with the 50-60 calls of a write run, the default (exclusive) p99 lies beyond the max
    q = statistics.quantiles(ms, n=100, method="inclusive")
    return f"p50 {q[49]:6.1f}  p95 {q[94]:6.1f}  p99 {q[98]:6.1f}  max {max(ms):6.1f} ms"


async def drive(url: str, key: str, requests: list[tuple[str, str, Any]], concurrency: int
                ) -> tuple[list[float], float, dict[int, int]]:
    """Closed loop: `concurrency` clients, each sends its next request when its answer is read.

    aiohttp, not httpx: on this 2-core box the load generator shares the CPU with the server,
    and httpx spent ~3x aiohttp's CPU per request, which showed up as server latency."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    todo = list(reversed(requests))

    async def client_loop(session: aiohttp.ClientSession) -> None:
        while todo:
            method, path, body = todo.pop()
            t = time.perf_counter()
            async with session.request(method, url + path, json=body) as r:
                await r.read()
            latencies.append((time.perf_counter() - t) * 1000)
            statuses[r.status] = statuses.get(r.status, 0) + 1

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers={"X-API-Key": key},
                                     timeout=aiohttp.ClientTimeout(total=60)) as session:
        t = time.perf_counter()
        await asyncio.gather(*(client_loop(session) for _ in range(concurrency)))
        return latencies, time.perf_counter() - t, statuses


async def mixed(url: str, key: str, writes: list[tuple[str, str, Any]], clients: int,
                reads: dict[str, list[tuple[str, str, Any]]], read_clients: int, seconds: float | None
                ) -> tuple[tuple[list[float], float, dict[int, int]] | None, dict[str, list[float]]]:
    """Writes (closed loop, `clients`) while `read_clients` clients per read label keep asking
    (cycling through its requests) until the writes are done, or for `seconds` without writes.
    Returns the writes' (latencies, seconds, statuses) and each read label's latencies."""
    done = asyncio.Event()
    read_ms: dict[str, list[float]] = {label: [] for label in reads}

    async def read_loop(session: aiohttp.ClientSession, label: str, offset: int) -> None:
        reqs, i = reads[label], offset
        while not done.is_set():
            method, path, body = reqs[i % len(reqs)]
            i += read_clients
            t = time.perf_counter()
            async with session.request(method, url + path, json=body) as r:
                await r.read()
            read_ms[label].append((time.perf_counter() - t) * 1000)

    async def stop_after(delay: float) -> None:
        await asyncio.sleep(delay)
        done.set()

    connector = aiohttp.TCPConnector(limit=read_clients * len(reads) + 1)
    async with aiohttp.ClientSession(connector=connector, headers={"X-API-Key": key},
                                     timeout=aiohttp.ClientTimeout(total=120)) as session:
        readers = [asyncio.create_task(read_loop(session, label, k))
                   for label in reads for k in range(read_clients)]
        wrote = None
        if seconds is not None:
            await stop_after(seconds)
        else:
            wrote = await drive(url, key, writes, clients)
            done.set()
        await asyncio.gather(*readers)
    return wrote, read_ms


def drive_wrk(url: str, key: str, requests: list[tuple[str, str, Any]], concurrency: int, seconds: float
              ) -> tuple[dict[str, float], float]:
    """Closed loop with wrk (C, one thread, `concurrency` connections) for `seconds`, cycling
    through `requests`. Returns wrk's figures and its CPU seconds per request.

    wrk spends ~0.02 ms of CPU per request against aiohttp's ~0.25 ms: on a 2-core box the
    server then has the machine nearly to itself, as it would with its callers elsewhere."""
    if shutil.which("wrk") is None:
        raise SystemExit("--client wrk needs wrk: run `make bench-deps` (installs the Debian package)")
    with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False) as f:
        for method, path, body in requests:
            f.write(f"{method}\t{path}\t{json.dumps(body, ensure_ascii=False) if body else ''}\n")
    before = os.times()
    try:
        out = subprocess.run(
            ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds:g}s", "--timeout", "10s",
             "-s", str(ROOT / "benchmarks" / "wrk_requests.lua"), url],
            env={**os.environ, "WRK_REQUESTS": f.name, "WRK_KEY": key},
            check=True, capture_output=True, text=True).stdout
    finally:
        os.unlink(f.name)
    after = os.times()
    figures: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    cpu = (after.children_user + after.children_system) - (before.children_user + before.children_system)
    return figures, cpu / max(figures["requests"], 1)


def serve(db: Path, port: int, threads: int, audit_sync: str = "full", root: Path = ROOT) -> subprocess.Popen[bytes]:
    """`resolver serve` of the checkout `root` (another worktree measures the code before a change)."""
    proc = subprocess.Popen([*RESOLVER, "serve", "--db", str(db), "--port", str(port), "--log-level", "warning",
                             "--threads", str(threads), "--audit-sync", audit_sync],
                            cwd=root, env={**os.environ, "PYTHONPATH": str(root)})
    t = time.perf_counter()
    for _ in range(1200):
        if proc.poll() is not None:
            raise RuntimeError("server exited during start-up")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                print(f"server ready in {time.perf_counter() - t:.1f}s (indexes, models, warm-up)", flush=True)
                return proc
        except httpx.HTTPError:
            time.sleep(0.5)
    proc.terminate()
    raise RuntimeError("server did not answer /health")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--db", type=Path, help="an existing master store (copied before serving)")
    src.add_argument("--build", type=Path, help="directory for fixtures and the master store built from them")
    ap.add_argument("--records", type=int, default=1_000_000, help="source records to generate (with --build)")
    ap.add_argument("--requests", type=int, default=2_000, help="requests per endpoint and concurrency")
    ap.add_argument("--writes", type=int, default=50, help="POST /records calls per concurrency (each writes)")
    ap.add_argument("--concurrency", default="20", help="comma-separated client counts, e.g. 1,20")
    ap.add_argument("--only", default="", help="run only labels containing this text, e.g. enterprise")
    ap.add_argument("--server-threads", type=int, default=4, help="resolver serve --threads")
    ap.add_argument("--audit-sync", choices=["full", "normal"], default="full",
                    help="resolver serve --audit-sync: fsync each group of audit rows (full) or not (normal)")
    ap.add_argument("--client", choices=["aiohttp", "wrk"], default="aiohttp",
                    help="load generator: aiohttp clients in this process, or wrk (C; `make bench-deps`)")
    ap.add_argument("--seconds", type=float, default=10, help="length of each wrk run")
    ap.add_argument("--write-plan", default="",
                    help="writes alone: comma-separated CLIENTSxRECORDS, e.g. 20x100,1x1 (clients, records per "
                         "POST /records call; --writes calls each), with GET and match clients "
                         "(--read-clients per label) measured before and during the writes")
    ap.add_argument("--read-clients", type=int, default=1,
                    help="with --write-plan: clients per read label (0: the writes alone)")
    ap.add_argument("--serve-from", type=Path, default=ROOT,
                    help="the checkout whose `resolver serve` is measured (default: this one)")
    ap.add_argument("--alone-seconds", type=float, default=15, help="with --write-plan: reads alone before each")
    ap.add_argument("--batch", type=int, default=100, help="named queries per batch match call (0: none)")
    ap.add_argument("--batch-calls", type=int, default=100, help="batch match calls per domain and concurrency")
    args = ap.parse_args()
    from box import line as box_line  # benchmarks/box.py, the yardstick
    print(box_line(), flush=True)
    if args.write_plan:
        write_plan(args)
        return

    db = args.db or build(args.build, args.records)
    work = Path(tempfile.mkdtemp(prefix="bench_api_"))
    try:
        served = work / "master.duckdb"
        shutil.copy(db, served)
        key, plan, size = workload(served, args.requests, args.writes, batch=args.batch, batch_calls=args.batch_calls)
        port = 8765 + random.randint(0, 1000)
        print(f"data: {size}; load average {load()}", flush=True)
        proc = serve(served, port, args.server_threads, args.audit_sync, args.serve_from)
        url = f"http://127.0.0.1:{port}"
        try:
            for concurrency in [int(c) for c in args.concurrency.split(",")]:
                for label, reqs in plan.items():
                    if args.only not in label or not reqs:
                        continue
                    if label.endswith("/records"):  # new record ids each run: a repeat is a no-op
                        def renamed(prefix: str, calls: list[Any]) -> list[Any]:
                            return [(m, path, {**body, "records": [
                                {**r, "source_record_id": f"{prefix}{r['source_record_id']}"}
                                for r in body["records"]]}) for m, path, body in calls]
                        # warm the writer first (its first calls read cold pages: ~2x a warm call),
                        # as a server that has been writing is; these records are not measured
                        asyncio.run(drive(url, key, renamed(f"warm{concurrency}-", reqs[:WARM_WRITES]), 1))
                        reqs = renamed(f"c{concurrency}-", reqs)
                    else:  # warm connections and pages
                        asyncio.run(drive(url, key, reqs[:100 if " x" not in label else 5], concurrency))
                    before, server_cpu, client_cpu = load(), cpu_seconds(proc.pid), time.process_time()
                    if args.client == "wrk" and not label.endswith("/records") and " x" not in label:
                        w, wrk_cpu = drive_wrk(url, key, reqs, concurrency, args.seconds)
                        server_ms = (cpu_seconds(proc.pid) - server_cpu) / w["requests"] * 1000
                        print(f"{label:28s} c={concurrency:<3d} {int(w['requests'])} req {w['requests'] / w['seconds']:7.1f} "
                              f"req/s  p50 {w['p50']:6.1f}  p95 {w['p95']:6.1f}  p99 {w['p99']:6.1f}  max {w['max']:6.1f} ms"
                              f"  CPU/req server {server_ms:.2f} ms, client (wrk) {wrk_cpu * 1000:.3f} ms  "
                              f"non-2xx {int(w['non_2xx'])}, socket errors {int(w['socket_errors'])}  "
                              f"load {before} → {load()}", flush=True)
                        continue
                    lat, secs, statuses = asyncio.run(drive(url, key, reqs, concurrency))
                    server_ms = (cpu_seconds(proc.pid) - server_cpu) / len(lat) * 1000
                    client_ms = (time.process_time() - client_cpu) / len(lat) * 1000
                    queries = f"{len(lat) * args.batch / secs:7.1f} queries/s  " if " x" in label else ""
                    print(f"{label:28s} c={concurrency:<3d} {len(lat)} req {len(lat) / secs:7.1f} req/s  {queries}"
                          f"{percentiles(lat)}  CPU/req server {server_ms:.2f} ms, client {client_ms:.2f} ms  "
                          f"status {statuses}  load {before} → {load()}", flush=True)
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    finally:
        shutil.rmtree(work, ignore_errors=True)


WARM_WRITES = 3  # POST /records calls sent before the measured ones (`main`)


WRITER_HISTOGRAMS = ("resolver_write_batch_calls", "resolver_write_batch_seconds", "resolver_checkpoint_seconds")


def write_batches(url: str, key: str) -> dict[str, dict[str, float]]:
    """The server's histograms of its writer (GET /metrics): name → {bucket bound, "count", "sum"}."""
    text = httpx.get(f"{url}/metrics", headers={"X-API-Key": key}, timeout=10).text
    out: dict[str, dict[str, float]] = {name: {} for name in WRITER_HISTOGRAMS}
    for line in text.splitlines():
        name, _, rest = line.partition("_bucket{le=")
        if name in out:
            out[name][rest.split('"')[1]] = float(rest.rsplit(" ", 1)[1])
            continue
        for name in WRITER_HISTOGRAMS:
            for part in ("count", "sum"):
                if line.startswith(f"{name}_{part} "):
                    out[name][part] = float(line.rsplit(" ", 1)[1])
    return out


def describe_batches(before: dict[str, dict[str, float]], after: dict[str, dict[str, float]]) -> str:
    """What the writer did in one run: its transactions, calls in each (≤ bucket), seconds under
    the write lock, and the background checkpoints (which hold the lock too)."""
    def delta(name: str, part: str) -> float:
        return after[name].get(part, 0.0) - before[name].get(part, 0.0)

    spread, below = [], 0.0
    for bound in after["resolver_write_batch_calls"]:
        if bound in ("count", "sum"):
            continue
        n = delta("resolver_write_batch_calls", bound) - below  # the histogram is cumulative
        below += n
        if n:
            spread.append(f"{n:.0f} of ≤{bound} calls")
    batches = delta("resolver_write_batch_calls", "count")
    held = delta("resolver_write_batch_seconds", "sum")
    checkpoints = delta("resolver_checkpoint_seconds", "count")
    return (f"{batches:.0f} ({', '.join(spread) or 'none'}), {held:.1f} s under the write lock "
            f"({held / max(batches, 1):.2f} s each); {checkpoints:.0f} checkpoints, "
            f"{delta('resolver_checkpoint_seconds', 'sum'):.1f} s")


def checkpoints_taken(url: str, key: str) -> tuple[float, float]:
    """The server's background checkpoints so far: (count, seconds)."""
    seen = write_batches(url, key)["resolver_checkpoint_seconds"]
    return seen.get("count", 0.0), seen.get("sum", 0.0)


def can_force_checkpoint(root: Path) -> bool:
    """Whether the served checkout's checkpointer takes SIGUSR1 (to any other server the signal
    is fatal: the checkouts from before it cannot be forced)."""
    source = root / "resolver" / "lookup" / "checkpoints.py"
    return source.exists() and "SIGUSR1" in source.read_text(encoding="utf-8")


def force_checkpoint(proc: subprocess.Popen[bytes], url: str, key: str) -> tuple[float, float]:
    """Ask the server for a checkpoint now (SIGUSR1) and wait for it: (wall seconds from the
    signal, the checkpoint's own seconds)."""
    count, seconds = checkpoints_taken(url, key)
    t = time.perf_counter()
    os.kill(proc.pid, signal.SIGUSR1)
    while time.perf_counter() - t < 600:
        time.sleep(0.05)
        now, after = checkpoints_taken(url, key)
        if now > count:
            return time.perf_counter() - t, after - seconds
    raise RuntimeError("the server took no checkpoint within 600 s of SIGUSR1")


def log_mib(db: Path) -> float:
    """The served store's write-ahead log, MiB (0 when there is none)."""
    wal = db.with_name(db.name + ".wal")
    return wal.stat().st_size / 2**20 if wal.exists() else 0.0


def write_plan(args: argparse.Namespace) -> None:
    """`--write-plan`: for each CLIENTSxRECORDS, the reads alone (`--alone-seconds`), then the
    writes with the same reads beside them; one server throughout, new record IDs per run."""
    from box import probe as box_probe
    from box import probe_line

    specs = [tuple(int(x) for x in spec.split("x")) for spec in args.write_plan.split(",")]
    most = max(per_call for _, per_call in specs)
    work = Path(tempfile.mkdtemp(prefix="bench_api_"))
    try:
        served = work / "master.duckdb"
        shutil.copy(args.db, served)
        key, plan, size = workload(served, args.requests, args.writes, per_call=most)
        reads = {label: reqs for label, reqs in plan.items() if "enterprise" in label and not label.endswith("/records")}
        if args.read_clients <= 0:  # the writes alone
            reads = {}
        port = 8765 + random.randint(0, 1000)
        print(f"data: {size}; load average {load()}", flush=True)
        proc = serve(served, port, args.server_threads, args.audit_sync, args.serve_from)
        url = f"http://127.0.0.1:{port}"
        forced = can_force_checkpoint(args.serve_from)
        try:
            for reqs in reads.values():
                asyncio.run(drive(url, key, reqs[:100], 4))  # warm connections and pages
            for n, (clients, per_call) in enumerate(specs):
                calls = [(m, path, {**body, "records": [
                    {**r, "source_record_id": f"w{n}-{r['source_record_id']}"} for r in body["records"][:per_call]]})
                    for m, path, body in plan["POST /v1/enterprise/records"]]
                _, alone = asyncio.run(mixed(url, key, [], 0, reads, args.read_clients, args.alone_seconds)) \
                    if reads else (None, {})
                # warm the writer with one round of unmeasured calls (a cold first transaction is slower)
                warm = [(m, path, {**body, "records": [{**r, "source_record_id": f"warm-{r['source_record_id']}"}
                                                       for r in body["records"]]})
                        for m, path, body in calls[:max(clients, WARM_WRITES)]]
                asyncio.run(drive(url, key, warm, clients))
                if forced:  # every window starts from an empty log (the warm round's is checkpointed)
                    force_checkpoint(proc, url, key)
                start_log = log_mib(served)
                before_load, cpu, batches = load(), cpu_seconds(proc.pid), write_batches(url, key)
                with box_probe() as rate:
                    wrote, during = asyncio.run(mixed(url, key, calls, clients, reads, args.read_clients, None))
                assert wrote is not None
                lat, secs, statuses = wrote
                end_log, in_window = log_mib(served), write_batches(url, key)
                server_ms = (cpu_seconds(proc.pid) - cpu) / len(lat) * 1000
                # the checkpoint the window's writes still owe, taken and counted now (`forced`)
                owed = force_checkpoint(proc, url, key) if forced else None
                owed_ms = (cpu_seconds(proc.pid) - cpu) / len(lat) * 1000
                print(f"POST /records {clients} clients x {per_call} records: {len(lat)} calls in {secs:.1f}s, "
                      f"{len(lat) / secs:.2f} calls/s, {len(lat) * per_call / secs:.0f} records/s  {percentiles(lat)}  "
                      f"server CPU/call {server_ms:.0f} ms (with the reads'{f'; {owed_ms:.0f} with the owed checkpoint' if owed else ''})  "
                      f"status {statuses}  load {before_load} → {load()}", flush=True)
                print(f"    write transactions: {describe_batches(batches, in_window)} "
                      f"in the window; log {start_log:.1f} → {end_log:.1f} MiB", flush=True)
                if owed:
                    print(f"    the owed checkpoint at the end: {owed[1]:.2f} s ({owed[0]:.2f} s from the signal); "
                          f"with it {len(lat) * per_call / (secs + owed[0]):.0f} records/s", flush=True)
                else:
                    print("    the log's checkpoint not counted: the served code cannot be asked for one "
                          "(compare runs whose logs end below its threshold, or whose windows hold one each)",
                          flush=True)
                print(f"    {probe_line(rate)}", flush=True)
                for label in reads:
                    print(f"    {label:28s} {args.read_clients} client(s): before ({len(alone[label])} req) "
                          f"{percentiles(alone[label])}", flush=True)
                    print(f"    {label:28s} {args.read_clients} client(s): during ({len(during[label])} req) "
                          f"{percentiles(during[label])}", flush=True)
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
