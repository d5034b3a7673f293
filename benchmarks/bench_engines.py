"""DuckDB vs Spark engine: `resolver train` + `resolve` on one ingested store, per engine.

    python benchmarks/bench_engines.py --db STORE.duckdb --truth DIR/truth_members.csv
                                       [--domains enterprise person] [--engines duckdb spark]

Build the store first (fixtures, then `resolver ingest` per manifest entry). Each engine
works on its own copy of the store and runs the real CLI verbs in a child process; we
report wall time per verb, peak memory of the whole process tree (Python + the Spark
JVM, sampled from /proc every 0.2 s), the 1-minute load average before and after (the
machine is shared), entity count and pairwise/B-cubed F1 against truth.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from resolver.engine import Resolver  # noqa: E402
from resolver.store import open_store  # noqa: E402


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def tree_rss_gb(pid: int) -> float:
    tree, todo, total = _children(), [pid], 0
    while todo:
        p = todo.pop()
        todo += tree.get(p, [])
        try:
            with open(f"/proc/{p}/status", encoding="ascii") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024 / 1024


def reap(proc: subprocess.Popen) -> float:
    """Wait for `proc`; the CPU seconds of it and its reaped children (0.0 if already reaped)."""
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    except ChildProcessError:
        proc.wait()
        return 0.0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime


def emit(row: dict, out: Path | None) -> None:
    """Print one benchmark row as a JSON line, and append it to `out` when given."""
    print(json.dumps(row, ensure_ascii=False), flush=True)
    if out:
        with out.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def run_measured(cmd: list[str]) -> dict[str, float]:
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = [0.0]

    def sample() -> None:
        while proc.poll() is None:
            peak[0] = max(peak[0], tree_rss_gb(proc.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    sampler.join()
    seconds = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{out[-3000:]}")
    return {"seconds": round(seconds, 1), "peak_rss_gb": round(peak[0], 2),
            "load_before": round(load_before, 2), "load_after": round(os.getloadavg()[0], 2),
            "output": out.strip().splitlines()[-2:]}  # type: ignore[dict-item]


def bench(db: Path, truth: pd.DataFrame, domain: str, engine: str, work: Path) -> dict:
    copy = work / f"{engine}_{domain}.duckdb"
    shutil.copyfile(db, copy)
    cli = [sys.executable, "-m", "resolver"]
    common = ["--db", str(copy), "--domain", domain, "--engine", engine]
    train = run_measured(cli + ["train", *common, "--models-dir", str(work / f"models_{engine}")])
    resolve = run_measured(cli + ["resolve", *common])
    store = open_store(copy, read_only=True)
    try:
        resolver = Resolver(store, domain)
        members = store.membership(domain).rename(columns={"entity_id": "cluster_id"})
        n_records = len(resolver.records())
        ev = resolver.evaluate(truth[truth["domain"] == domain], worst=0)
    finally:
        store.close()
    return {"domain": domain, "engine": engine, "source_records": n_records,
            "entities": int(members["cluster_id"].nunique()),
            "pairwise_f1": round(ev["pairwise"]["f1"], 5), "bcubed_f1": round(ev["bcubed"]["f1"], 5),
            "train": train, "resolve": resolve}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--truth", type=Path, required=True)
    ap.add_argument("--domains", nargs="+", default=["enterprise", "person"])
    ap.add_argument("--engines", nargs="+", default=["duckdb", "spark"])
    ap.add_argument("--out", type=Path, help="append one JSON line per run here")
    args = ap.parse_args()
    truth = pd.read_csv(args.truth, dtype=str)
    with tempfile.TemporaryDirectory(prefix="bench_engines_") as tmp:
        for domain in args.domains:
            for engine in args.engines:
                row = bench(args.db, truth, domain, engine, Path(tmp))
                emit(row, args.out)


if __name__ == "__main__":
    main()
