"""Ingest benchmark: every fixture export into a fresh master store, then 10k new records incrementally.

Prints per file and in total: rows, seconds, rows/s; peak RSS; and the incremental figures.
Usage: python benchmarks/bench_ingest.py [--fixtures DIR | --records N] [--db PATH] [--incremental N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--fixtures", type=Path, help="existing fixture directory (with manifest.json)")
    ap.add_argument("--records", type=int, default=1_000_000, help="generate this many if no --fixtures")
    ap.add_argument("--db", type=Path, help="store path (default: a temp file, removed afterwards)")
    ap.add_argument("--sources", default="", help="comma-separated subset of sources")
    args = ap.parse_args()

    from resolver.ingest import ingest_file
    from resolver.store import open_store

    tmp = Path(tempfile.mkdtemp(prefix="bench_ingest_"))
    fixtures = args.fixtures
    if fixtures is None:
        from fixtures.generate import generate

        fixtures = tmp / "fixtures"
        started = time.perf_counter()
        generate(fixtures, args.records)
        print(f"generated {args.records} records in {time.perf_counter() - started:.1f}s")
    manifest = json.loads((fixtures / "manifest.json").read_text(encoding="utf-8"))
    wanted = set(filter(None, args.sources.split(",")))
    db = args.db or tmp / "master.duckdb"
    store = open_store(db)
    total_rows, total_seconds = 0, 0.0
    print(f"load average before: {os.getloadavg()[0]:.2f}; cores: {os.cpu_count()}")
    print(f"{'file':<34}{'rows':>9}{'seconds':>9}{'rows/s':>9}")
    for entry in manifest["files"]:
        if wanted and entry["source"] not in wanted:
            continue
        started = time.perf_counter()
        counts = ingest_file(store, ROOT / "matching_rules" / "sources" / f"{entry['source']}.yaml",
                             fixtures / entry["file"])
        seconds = time.perf_counter() - started
        total_rows += counts.read
        total_seconds += seconds
        print(f"{entry['file']:<34}{counts.read:>9}{seconds:>9.1f}{counts.read / seconds:>9.0f}")
    store.close()
    print(f"{'total':<34}{total_rows:>9}{total_seconds:>9.1f}{total_rows / total_seconds:>9.0f}")
    print(f"peak RSS {peak_rss_mb():.0f} MB; store {db.stat().st_size / 2**20:.0f} MB at {db}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
