"""Training on a sample against training on every record: cost of `resolver train` and the
pairwise F1 each model gives on the same records.

    python benchmarks/bench_train_sample.py --db STORE --domain enterprise --truth truth_members.csv \\
        [--samples default all 250k] [--seed 42]

STORE is written (a model version published per run): give a copy. For each `--samples` value
`resolver train --sample VALUE` runs in a child process; its CPU seconds (user + system) and
peak RSS come from the kernel's accounting of that child (wait4), which a loaded box does not
distort; wall seconds are printed with the 1-minute load average. Then each model links the
store's records (score and cluster, nothing saved, the data steward's decisions left out) in a
child process and is scored against the truth: pairwise and B-cubed F1.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "resolver"]


def run_child(cmd: list[str]) -> tuple[str, dict[str, float]]:
    """Run `cmd`; its output and what it cost: wall s, CPU s, peak RSS GB (wait4, that child alone)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{out[-3000:]}")
    return out, {"wall_s": round(time.perf_counter() - started, 1),
                 "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
                 "peak_gb": round(usage.ru_maxrss / 1024 / 1024, 2)}


def score(db: str, domain: str, version: str, truth: str) -> dict[str, Any]:
    """In the child: link with `version` (nothing saved) and evaluate against `truth`."""
    import logging

    import pandas as pd

    from resolver.engine import Resolver
    from resolver.linking.evaluate import evaluate
    from resolver.store import open_store

    logging.getLogger("splink").setLevel(logging.ERROR)
    frame = pd.read_csv(truth, dtype=str)
    if "domain" in frame:
        frame = frame[frame["domain"] == domain]
    store = open_store(db, read_only=True)
    try:
        linkage = Resolver(store, domain).link(version, decisions=False)
    finally:
        store.close()
    # members only: records and pairs would load every record for the worst examples
    ev = evaluate(linkage.clusters, frame, None, None, worst=0)
    return {"entities": int(linkage.report["entities"]), "pairwise_f1": round(ev["pairwise"]["f1"], 5),
            "pairwise_p": round(ev["pairwise"]["precision"], 5), "pairwise_r": round(ev["pairwise"]["recall"], 5),
            "bcubed_f1": round(ev["bcubed"]["f1"], 5)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True)
    ap.add_argument("--domain", required=True)
    ap.add_argument("--truth", required=True)
    ap.add_argument("--samples", nargs="+", default=["default", "all"])
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--models-dir", default=None, help="where train writes its JSON copies (default: beside --db)")
    ap.add_argument("--score-version", help=argparse.SUPPRESS)  # the child's mode
    args = ap.parse_args()
    if args.score_version:
        print(json.dumps(score(args.db, args.domain, args.score_version, args.truth)))
        return
    models = args.models_dir or str(Path(args.db).parent / "bench_models")
    rows = []
    for sample in args.samples:
        cmd = [*CLI, "train", "--db", args.db, "--domain", args.domain, "--models-dir", models]
        if sample != "default":
            cmd += ["--sample", sample]
        if args.seed is not None:
            cmd += ["--sample-seed", str(args.seed)]
        load = os.getloadavg()[0]
        out, cost = run_child(cmd)
        found = re.search(r"model version (\S+) trained on (\d+) source records", out)
        if not found:
            raise SystemExit(f"no model version in the output of train:\n{out[-2000:]}")
        version, trained = found.group(1), int(found.group(2))
        scored, link_cost = run_child([sys.executable, __file__, "--db", args.db, "--domain", args.domain,
                                       "--truth", args.truth, "--score-version", version])
        row = {"domain": args.domain, "sample": sample, "trained_on": trained, "version": version,
               "train": cost, "load_before": round(load, 1), "load_after": round(os.getloadavg()[0], 1),
               "link_and_score": link_cost, **json.loads(scored.strip().splitlines()[-1])}
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(f"\n{'domain':<11}{'sample':>9}{'trained on':>12}{'train CPU s':>12}{'peak GB':>9}{'wall s':>8}"
          f"{'load':>12}{'pairwise F1':>13}{'B3 F1':>9}{'entities':>10}")
    for r in rows:
        print(f"{r['domain']:<11}{r['sample']:>9}{r['trained_on']:>12,}{r['train']['cpu_s']:>12}"
              f"{r['train']['peak_gb']:>9}{r['train']['wall_s']:>8}"
              f"{r['load_before']:>6} -> {r['load_after']:<4}{r['pairwise_f1']:>11.5f}{r['bcubed_f1']:>9.5f}"
              f"{r['entities']:>10,}")


if __name__ == "__main__":
    main()
