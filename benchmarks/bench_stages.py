"""Every pipeline stage at one size: wall time, peak memory, records/s, store size on disk.

    python benchmarks/bench_stages.py --records 1000000 --work /work/bench/me/1m [--out stages.jsonl]
                                      [--stages generate ingest train resolve unregistered serve]
                                      [--domains enterprise person] [--sources police ...] [--requests 200]

Each stage is the real command in a child process on one store in `--work`: `python -m
fixtures.generate`, `resolver ingest` per manifest entry, `resolver train` / `resolve` per
domain, `resolver unregistered`, and `resolver serve` (time until /ready, then a short
sequential sample of GET /v1/{domain}/{id} and POST /v1/{domain}/match). Peak memory is the
RSS of the child's whole process tree, sampled from /proc every 0.2 s (as bench_engines.py).
Stages left out of --stages reuse what is already in `--work`, so a long run can be resumed
stage by stage. One JSON line per stage is printed (and appended to --out), with the memory
settings in force (RESOLVER_STORE_MEMORY, RESOLVER_DOC_CACHE=off for a server without documents in memory).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
CLI = [sys.executable, "-m", "resolver"]
from bench_engines import emit, tree_rss_gb  # noqa: E402  (one /proc sampler for every benchmark)

STAGES = ("generate", "ingest", "train", "resolve", "unregistered", "serve")


class Sampler:
    """Peak tree RSS of a running process, sampled in a thread until stopped or the process ends."""

    def __init__(self, proc: subprocess.Popen[Any]) -> None:
        self.proc, self.peak, self._stop = proc, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set() and self.proc.poll() is None:
            self.peak = max(self.peak, tree_rss_gb(self.proc.pid))
            time.sleep(0.2)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return round(self.peak, 2)


def _first_to_go() -> None:
    """On a shared box the kernel's OOM killer takes a benchmark stage before anyone else's work."""
    Path("/proc/self/oom_score_adj").write_text("1000")


def du_gb(path: Path) -> float:
    if path.is_file():
        return round(path.stat().st_size / 1e9, 2)
    return round(sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e9, 2)


def _children_cpu() -> float:
    """User + system seconds of every waited-for child: on a loaded box wall time is not the stage's cost."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_stage(cmd: list[str], log: Path) -> dict[str, Any]:
    """Run one command, its output to `log`; wall time, CPU time, peak RSS and load averages."""
    load_before = os.getloadavg()[0]
    cpu_before = _children_cpu()
    start = time.perf_counter()
    with log.open("ab") as out:
        out.write(f"\n$ {' '.join(cmd)}\n".encode())
        out.flush()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, preexec_fn=_first_to_go)
        sampler = Sampler(proc)
        code = proc.wait()
    peak = sampler.stop()
    seconds = time.perf_counter() - start
    if code:  # reported (a stage that does not fit is a finding), then the run stops
        tail = log.read_text(encoding="utf-8", errors="replace")[-1500:]
        print(f"{' '.join(cmd)} failed ({code}, -9: killed, e.g. out of memory):\n{tail}", file=sys.stderr)
    return ({"failed": code} if code else {}) | {"seconds": round(seconds, 1),
                                                 "cpu_seconds": round(_children_cpu() - cpu_before, 1),
                                                 "peak_rss_gb": peak,
            "load_before": round(load_before, 2), "load_after": round(os.getloadavg()[0], 2)}


def source_records(db: Path, domain: str | None = None) -> int:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        domains = [domain] if domain else ["enterprise", "person"]
        return sum(con.execute(f"SELECT count(*) FROM records_{d}").fetchone()[0] for d in domains)  # type: ignore[index]
    finally:
        con.close()


def serve_stage(db: Path, log: Path, requests: int, port: int) -> dict[str, Any]:
    """`resolver serve`: seconds and peak RSS until /ready, then latency of a short GET/match sample."""
    import duckdb

    from resolver.access.access_store import open_access
    from resolver.access.keys import create_key

    _, key = create_key(open_access(db), "bench_stages", "enterprise:read,person:read",
                        rate_limit=0, match_rate_limit=0)
    con = duckdb.connect(str(db), read_only=True)
    rng = random.Random(7)
    calls: list[tuple[str, str, dict[str, str] | None]] = []
    for domain, fields in (("enterprise", ("name", "legal_rep", "address", "phone")),
                           ("person", ("name", "birth_date", "phone", "address"))):
        ids = [r[0] for r in con.execute("SELECT entity_id FROM (SELECT entity_id FROM entities WHERE domain = ? "
                                         f"AND active) USING SAMPLE {requests} ROWS (reservoir, 1)",
                                         [domain]).fetchall()]
        calls += [("GET", f"/v1/{domain}/{i}", None) for i in ids]
        cols = ", ".join(f'"{c}"' for c in fields)
        for row in con.execute(f"SELECT {cols} FROM records_{domain} USING SAMPLE {requests} ROWS (reservoir, 2)"
                               ).fetchall():
            body = {f: v for f, v in zip(fields, row, strict=True) if isinstance(v, str) and v}
            calls.append(("POST", f"/v1/{domain}/match", body or {"name": "王伟"}))
    con.close()
    rng.shuffle(calls)
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    with log.open("ab") as out:
        proc = subprocess.Popen([*CLI, "serve", "--db", str(db), "--port", str(port), "--log-level", "warning"],
                                stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, preexec_fn=_first_to_go)
        sampler = Sampler(proc)
        try:
            while True:
                if proc.poll() is not None:
                    raise SystemExit(f"server exited during start-up, peak {sampler.stop()} GB; see {log}")
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.5)
            ready = time.perf_counter() - start
            ready_peak = round(sampler.peak, 2)
            times: dict[str, list[float]] = {}
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"X-API-Key": key}, timeout=60) as client:
                for method, path, body in calls:
                    t = time.perf_counter()
                    answer = client.request(method, path, json=body)
                    answer.raise_for_status()
                    label = f"{method} {path.rsplit('/', 1)[0] if method == 'GET' else path}"
                    times.setdefault(label, []).append((time.perf_counter() - t) * 1000)
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    latency = {label: {"n": len(ms), "p50_ms": round(statistics.median(ms), 1),
                       "p99_ms": round(sorted(ms)[max(0, int(len(ms) * 0.99) - 1)], 1)}
               for label, ms in sorted(times.items())}
    return {"seconds": round(ready, 1), "peak_rss_gb": ready_peak, "peak_rss_gb_with_requests": sampler.stop(),
            "load_before": round(load_before, 2), "load_after": round(os.getloadavg()[0], 2),
            "latency": latency}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, required=True, help="fixture size (python -m fixtures.generate)")
    ap.add_argument("--work", type=Path, required=True, help="fixtures, store, models and logs go here")
    ap.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES))
    ap.add_argument("--domains", nargs="+", default=["enterprise", "person"])
    ap.add_argument("--sources", nargs="+", help="ingest only these sources (to resume a run whose ingest stopped)")
    ap.add_argument("--requests", type=int, default=200, help="GETs and matches per domain in the serve sample")
    ap.add_argument("--generate-workers", default="2", choices=("1", "2"),
                    help="fixtures.generate --workers (1: less memory, slower)")
    ap.add_argument("--store-memory", help="RESOLVER_STORE_MEMORY for every stage (DuckDB memory limit "
                    "of the store's connection, e.g. 4GB)")
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--out", type=Path, help="append one JSON line per stage here")
    args = ap.parse_args()
    from box import line as box_line  # benchmarks/box.py, the yardstick
    print(box_line(), flush=True)
    if args.store_memory:
        os.environ["RESOLVER_STORE_MEMORY"] = args.store_memory
    work, fixtures = args.work, args.work / "fixtures"
    db, log = work / "master.duckdb", work / "stages.log"
    work.mkdir(parents=True, exist_ok=True)

    def report(stage: str, target: str, figures: dict[str, Any], records: int) -> None:
        env = {k: os.environ[k] for k in ("RESOLVER_STORE_MEMORY", "RESOLVER_DOC_CACHE") if k in os.environ}
        row = {"records_requested": args.records, "stage": stage, "target": target, "records": records, "env": env,
               "records_per_s": round(records / figures["seconds"]) if figures["seconds"] else None, **figures,
               "store_gb": du_gb(db) if db.exists() else 0.0}
        emit(row, args.out)
        if figures.get("failed"):
            raise SystemExit(f"{stage} {target} failed; see {log}")

    if "generate" in args.stages:
        figures = run_stage([sys.executable, "-m", "fixtures.generate", "--out", str(fixtures),
                             "--records", str(args.records), "--workers", args.generate_workers], log)
        done = (fixtures / "manifest.json").exists()
        total = json.loads((fixtures / "manifest.json").read_text(encoding="utf-8"))["records_total"] if done else 0
        report("generate", f"{du_gb(fixtures)} GB written", figures, total)
    manifest = json.loads((fixtures / "manifest.json").read_text(encoding="utf-8"))
    if "ingest" in args.stages:
        for entry in manifest["files"]:
            if entry["domain"] not in args.domains or (args.sources and entry["source"] not in args.sources):
                continue
            mapping = ROOT / "matching_rules" / "sources" / f"{entry['source']}.yaml"
            figures = run_stage([*CLI, "ingest", "--db", str(db), "--mapping", str(mapping),
                                 str(fixtures / entry["file"])], log)
            report("ingest", entry["source"], figures, entry["rows"])
    for verb in ("train", "resolve"):
        if verb not in args.stages:
            continue
        for domain in args.domains:
            extra = ["--models-dir", str(work / "models" / domain)] if verb == "train" else []
            figures = run_stage([*CLI, verb, "--db", str(db), "--domain", domain, *extra], log)
            report(verb, domain, figures, source_records(db, domain))
    if "unregistered" in args.stages:
        figures = run_stage([*CLI, "unregistered", "--db", str(db), "--out", str(work / "unregistered.csv")], log)
        report("unregistered", "csv", figures, source_records(db, "enterprise"))
    if "serve" in args.stages:
        report("serve", "start-up to /ready", serve_stage(db, log, args.requests, args.port), source_records(db))


if __name__ == "__main__":
    main()
