"""The data inventory and open-data export at scale: seconds per step and peak memory.

    .venv/bin/python benchmarks/bench_inventory.py --db /work/bench/api1m/master.duckdb [--runs 3]

The store is opened read-only (a store someone else owns, or one a server holds, is fine). Each
run happens in a child process of its own, so its peak resident memory is its own: counting
(every figure of `resolver inventory`, all domains), writing HTML and XLSX, and
`resolver export open` for each domain that declares open data. Prints the median of the runs,
the process's CPU time and the largest peak.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def one_run(db: Path, out: Path) -> dict[str, object]:
    """One inventory and open export in this process; seconds per step, peak RSS."""
    from resolver.domains import domain_names, load_schema
    from resolver.exports import write_table
    from resolver.inventory import build_inventory, write_inventory
    from resolver.open_data.export import open_frame
    from resolver.store import open_store

    seconds: dict[str, float] = {}
    store = open_store(db, read_only=True)
    try:
        t = time.perf_counter()
        inventory = build_inventory(store)
        seconds["count"] = time.perf_counter() - t
        for suffix in ("html", "xlsx"):
            t = time.perf_counter()
            write_inventory(inventory, out / f"inventory.{suffix}")
            seconds[f"write_{suffix}"] = time.perf_counter() - t
        rows = {}
        for domain in domain_names():
            if load_schema(domain).open_data is None or domain not in {d.domain for d in inventory.domains}:
                continue
            t = time.perf_counter()
            frame = open_frame(store, domain, "2026-06-30")
            write_table(frame, out / f"open_{domain}.parquet")
            seconds[f"open_{domain}"] = time.perf_counter() - t
            rows[domain] = len(frame)
    finally:
        store.close()
    records = {d.domain: int(d.sources["records"].sum()) for d in inventory.domains}
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"seconds": seconds, "records": records, "open_rows": rows, "cpu_s": usage.ru_utime + usage.ru_stime,
            "peak_rss_mb": round(usage.ru_maxrss / 1024)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, required=True, help="a resolved master store (opened read-only)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--once", action="store_true", help=argparse.SUPPRESS)  # a child run: print its JSON
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.once:
            print(json.dumps(one_run(args.db, Path(tmp))))
            return
        runs = []
        for i in range(args.runs):
            done = subprocess.run([sys.executable, __file__, "--db", str(args.db), "--once"], check=True,
                                  capture_output=True, text=True, cwd=ROOT)
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(f"run {i + 1}: {runs[-1]}", file=sys.stderr)
    steps = list(runs[0]["seconds"])
    print(f"store {args.db}: records {runs[0]['records']}, open rows {runs[0]['open_rows']}, {args.runs} runs")
    for step in steps:
        values = [r["seconds"][step] for r in runs]
        print(f"  {step:<18} median {statistics.median(values):6.2f} s   (min {min(values):.2f}, max {max(values):.2f})")
    total = [sum(r["seconds"].values()) for r in runs]
    print(f"  {'total':<18} median {statistics.median(total):6.2f} s")
    print(f"  {'CPU (user + sys)':<18} median {statistics.median([r['cpu_s'] for r in runs]):6.2f} s "
          "(the process's, imports included: less sensitive to a loaded box than wall time)")
    print(f"  peak RSS           {max(r['peak_rss_mb'] for r in runs)} MB (largest of the runs)")


if __name__ == "__main__":
    main()
