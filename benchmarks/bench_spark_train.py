"""`resolver train --engine spark` on a copy of a store: CPU seconds, driver and tree peak RSS.

    python benchmarks/bench_spark_train.py --db /work/bench/api1m/master.duckdb --work /work/bench/me
        [--domain person] [--src DIR ...] [--timeout 900] [--nice 5] [--out train.jsonl]

The store is copied to --work once (the original is only read; each run publishes a model into the
copy). Each --src is a checkout of the project (default: this one) whose CLI runs in a child process,
so a before/after pair runs in one invocation on the same copy. Every 0.5 s the child's process tree
is read from /proc: CPU seconds (Python driver, Spark JVM, its Python workers; utime + stime + reaped
children), the driver's high-water RSS (the Python process alone: what grows with the data when the
records are read into pandas) and the tree's RSS (driver + JVM + workers). A run still going after
--timeout seconds is stopped and reported as such, with what it had cost by then. Each output line
of the child is kept with the second it arrived (Splink's log with --debug: where the time goes).
CPU seconds and peak RSS hold under load; wall seconds only with the load average printed beside them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_engines import emit, reap, tree_rss_gb  # noqa: E402
from resolver.engines.spark_meter import tree_cpu_seconds  # noqa: E402


def _hwm_gb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:  # the process has ended
        return 0.0
    return 0.0


def run_train(cmd: list[str], env: dict[str, str], log: Path, timeout: float) -> dict[str, Any]:
    start, load_before = time.perf_counter(), os.getloadavg()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    driver, tree, cpu, done, stopped = [0.0], [0.0], [0.0], threading.Event(), [False]

    def sample() -> None:  # no proc.poll() here: the child must stay unreaped for wait4 below
        while not done.is_set():
            driver[0] = max(driver[0], _hwm_gb(proc.pid))
            tree[0] = max(tree[0], tree_rss_gb(proc.pid))
            cpu[0] = max(cpu[0], tree_cpu_seconds(proc.pid))
            if time.perf_counter() - start > timeout and not stopped[0]:
                stopped[0] = True
                os.killpg(proc.pid, signal.SIGTERM)
            time.sleep(0.5)

    threading.Thread(target=sample, daemon=True).start()
    lines = []
    with log.open("w", encoding="utf-8") as out:
        assert proc.stdout is not None
        for line in proc.stdout:
            stamped = f"[{time.perf_counter() - start:7.1f}] {line.rstrip()}"
            out.write(stamped + "\n")
            out.flush()
            lines.append(line.rstrip())
    done.set()
    cpu_end = max(cpu[0], reap(proc))
    return {"returncode": proc.returncode, "stopped_after_s": timeout if stopped[0] else None,
            "wall_s": round(time.perf_counter() - start, 1), "cpu_s": round(cpu_end, 1),
            "driver_peak_rss_gb": round(driver[0], 2), "tree_peak_rss_gb": round(tree[0], 2),
            "load_before": [round(x, 2) for x in load_before], "load_after": [round(x, 2) for x in os.getloadavg()],
            "summary": [ln for ln in lines if ln.startswith(("model version", "Error", "error"))][-3:]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--domain", default="person")
    ap.add_argument("--src", type=Path, nargs="+", default=[Path(__file__).resolve().parents[1]])
    ap.add_argument("--timeout", type=float, default=900.0)
    ap.add_argument("--nice", type=int, default=5)
    ap.add_argument("--debug", action="store_true", help="Splink's own log in the run's log file")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    copy = args.work / "master.duckdb"
    if not copy.exists():
        shutil.copyfile(args.db, copy)
    for i, src in enumerate(args.src):
        env = {**os.environ, "PYTHONPATH": str(src.resolve())}
        env.setdefault("RESOLVER_SPARK_CHECKPOINT", str(args.work / f"checkpoint{i}"))
        cmd = ["nice", "-n", str(args.nice), sys.executable, "-m", "resolver", *(["--debug"] if args.debug else []),
               "train", "--db", str(copy), "--domain", args.domain, "--engine", "spark",
               "--models-dir", str(args.work / "models")]
        run = run_train(cmd, env, args.work / f"train_{args.domain}_{i}.log", args.timeout)
        shutil.rmtree(args.work / f"checkpoint{i}", ignore_errors=True)
        row = {"domain": args.domain, "src": str(src), **run}
        emit(row, args.out)


if __name__ == "__main__":
    main()
