"""`resolver resolve --engine spark` on a copy of a store: per-stage wall time, CPU seconds and peak RSS.

    python benchmarks/bench_spark_stages.py --db /work/bench/api1m/master.duckdb --work /work/bench/me/1m
        --truth /work/bench/api1m/truth_members.csv [--domains person enterprise] [--nice 19]
        [--out stages.jsonl]

The store is copied to --work (the original is only read). Before the Spark run the copy holds the
store's own (DuckDB) resolution: its membership is scored against the truth and kept. The real CLI
then runs in a child process (`--snapshot` kept in --work, loaded into the copy); each step line it
logs to stderr marks a stage boundary, and at each boundary we read the CPU seconds of the child's
whole process tree (Python driver, Spark JVM, Python workers; utime+stime+reaped children from
/proc) and the peak RSS of the tree since the last boundary (sampled every 0.5 s). Afterwards the
Spark membership is scored against the truth and against the DuckDB membership (pairwise F1).
CPU seconds and peak RSS hold under load; wall times only with the load average printed beside them.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_engines import emit, reap, tree_rss_gb  # noqa: E402
from resolver.engine import Resolver  # noqa: E402
from resolver.engines.spark_meter import tree_cpu_seconds  # noqa: E402
from resolver.store import open_store  # noqa: E402

STEP = re.compile(r"^\[\s*([\d.]+) s\] (.+)$")


def pairwise_agreement(a: pd.DataFrame, b: pd.DataFrame) -> dict[str, float]:
    """Pairwise precision/recall/F1 of clustering `a` against clustering `b` (columns unique_id, entity_id)."""
    m = a.merge(b, on="unique_id", suffixes=("_a", "_b"))

    def pairs(counts: pd.Series) -> int:
        return int((counts * (counts - 1) // 2).sum())

    both = pairs(m.groupby(["entity_id_a", "entity_id_b"]).size())
    in_a, in_b = pairs(m.groupby("entity_id_a").size()), pairs(m.groupby("entity_id_b").size())
    p, r = both / max(in_a, 1), both / max(in_b, 1)
    return {"precision": round(p, 5), "recall": round(r, 5), "f1": round(2 * p * r / max(p + r, 1e-12), 5),
            "records_compared": len(m)}


def score(db: Path, domain: str, truth: pd.DataFrame) -> tuple[dict[str, Any], pd.DataFrame]:
    store = open_store(db, read_only=True)
    try:
        members = store.membership(domain)[["unique_id", "entity_id"]].copy()
        ev = Resolver(store, domain).evaluate(truth[truth["domain"] == domain], worst=0)
    finally:
        store.close()
    return ({"entities": int(members["entity_id"].nunique()), "records": len(members),
             "pairwise_f1": round(ev["pairwise"]["f1"], 5), "bcubed_f1": round(ev["bcubed"]["f1"], 5)},
            members)


def run_stages(cmd: list[str], env: dict[str, str], log: Path) -> dict[str, Any]:
    start, load_before = time.perf_counter(), os.getloadavg()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak, last_cpu, done = [0.0], [0.0], threading.Event()
    stages: list[dict[str, Any]] = []
    current: dict[str, Any] = {"stage": "start-up", "t0": 0.0, "cpu0": 0.0}

    def sample() -> None:  # no proc.poll() here: the child must stay unreaped for wait4 below
        while not done.is_set():
            peak[0] = max(peak[0], tree_rss_gb(proc.pid))
            last_cpu[0] = max(last_cpu[0], tree_cpu_seconds(proc.pid))
            time.sleep(0.5)

    def close(now: float) -> None:
        cpu = tree_cpu_seconds(proc.pid)
        stages.append({"stage": current["stage"], "wall_s": round(now - current["t0"], 1),
                       "cpu_s": round(cpu - current["cpu0"], 1), "peak_rss_gb": round(peak[0], 2),
                       "load1": round(os.getloadavg()[0], 2)})
        current.update(t0=now, cpu0=cpu)
        peak[0] = 0.0

    threading.Thread(target=sample, daemon=True).start()
    lines = []
    with log.open("w", encoding="utf-8") as out:
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(line)
            out.flush()
            lines.append(line.rstrip())
            hit = STEP.match(line.strip())
            if hit:
                close(time.perf_counter() - start)
                current["stage"] = hit.group(2)
    done.set()
    # last stage: the JVM may be gone unreaped by the driver; take the larger of the last
    # sample and what the kernel reports for the child and its reaped children
    cpu_end = max(current["cpu0"], last_cpu[0], reap(proc))
    now = time.perf_counter() - start
    stages.append({"stage": current["stage"], "wall_s": round(now - current["t0"], 1),
                   "cpu_s": round(max(cpu_end - current["cpu0"], 0.0), 1), "peak_rss_gb": round(peak[0], 2),
                   "load1": round(os.getloadavg()[0], 2)})
    return {"returncode": proc.returncode, "wall_s": round(now, 1), "cpu_s": round(cpu_end, 1),
            "peak_rss_gb": max(s["peak_rss_gb"] for s in stages), "load_before": [round(x, 2) for x in load_before],
            "load_after": [round(x, 2) for x in os.getloadavg()], "stages": stages, "summary": lines[-6:]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--truth", type=Path, required=True)
    ap.add_argument("--domains", nargs="+", default=["person", "enterprise"])
    ap.add_argument("--nice", type=int, default=19)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    from box import line as box_line  # benchmarks/box.py, the yardstick
    print(box_line(), flush=True)
    args.work.mkdir(parents=True, exist_ok=True)
    copy = args.work / "master.duckdb"
    if not copy.exists():
        shutil.copyfile(args.db, copy)
    truth = pd.read_csv(args.truth, dtype=str)
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": root}
    env.setdefault("RESOLVER_SPARK_CHECKPOINT", str(args.work / "checkpoint"))
    for domain in args.domains:
        duck, duck_members = score(copy, domain, truth)
        snap = args.work / f"snapshot_{domain}"
        cmd = ["nice", "-n", str(args.nice), sys.executable, "-m", "resolver", "resolve", "--db", str(copy),
               "--domain", domain, "--engine", "spark", "--snapshot", str(snap)]
        run = run_stages(cmd, env, args.work / f"{domain}.log")
        row: dict[str, Any] = {"domain": domain, "duckdb": duck, "spark_settings": {
            k: v for k, v in env.items() if k.startswith("RESOLVER_SPARK")}, **run}
        if run["returncode"] == 0:
            spark, spark_members = score(copy, domain, truth)
            row["spark"] = spark
            row["spark_vs_duckdb"] = pairwise_agreement(spark_members, duck_members)
        emit(row, args.out)


if __name__ == "__main__":
    main()
