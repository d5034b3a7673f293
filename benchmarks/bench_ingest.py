"""Ingest benchmark: every fixture export into a fresh master store, then 10k new records incrementally.

Prints per file and in total: rows, seconds, rows/s; peak RSS.
With --post MASTER: times the write path of POST /v1/{domain}/records instead (copies of tax rows
under new record ids, one call each, on a copy of a resolved MASTER) and prints the median ms per call.
Usage: python benchmarks/bench_ingest.py [--fixtures DIR | --records N] [--db PATH]
       python benchmarks/bench_ingest.py --post MASTER.duckdb [--calls 40] [--per-call 5]
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


def post_records(master: Path, calls: int, per_call: int) -> None:
    """Median milliseconds per ingest_records call (the POST /records write path, no HTTP)."""
    import shutil
    import statistics

    from resolver.lookup.incremental import ingest_records
    from resolver.lookup.service import LookupService
    from resolver.store import open_store

    db = Path(tempfile.mkdtemp(prefix="bench_post_")) / "master.duckdb"
    shutil.copy(master, db)
    store = open_store(db)
    service = LookupService(store)
    fields = ["name", "uscc", "legal_rep", "address", "phone", "established", "status"]
    rows = store.cursor().execute(
        f"SELECT {', '.join(fields)} FROM records_enterprise WHERE source = 'tax' ORDER BY unique_id "
        f"LIMIT {calls * per_call}").fetchall()
    service.model("enterprise")  # a published model is there (the index is built with the service)
    times = []
    for call in range(calls):
        batch = [{"source_record_id": f"POST{call:04d}{n}",
                  **{f: str(v) for f, v in zip(fields, rows[call * per_call + n], strict=True) if v}}
                 for n in range(per_call)]
        started = time.perf_counter()
        ingest_records(service, "enterprise", "tax", batch, "bench")
        times.append((time.perf_counter() - started) * 1000)
    store.close()
    print(f"POST /records write path: {calls} calls of {per_call} records on a copy of {master}: "
          f"median {statistics.median(times):.1f} ms, min {min(times):.1f}, max {max(times):.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--fixtures", type=Path, help="existing fixture directory (with manifest.json)")
    ap.add_argument("--records", type=int, default=1_000_000, help="generate this many if no --fixtures")
    ap.add_argument("--db", type=Path, help="store path (default: a temp file, removed afterwards)")
    ap.add_argument("--sources", default="", help="comma-separated subset of sources")
    ap.add_argument("--post", type=Path, help="time the POST /records write path on a copy of this store")
    ap.add_argument("--calls", type=int, default=40)
    ap.add_argument("--per-call", type=int, default=5)
    args = ap.parse_args()
    if args.post:
        post_records(args.post, args.calls, args.per_call)
        return

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
    total_rows, total_seconds, total_bytes = 0, 0.0, 0
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
        total_bytes += (fixtures / entry["file"]).stat().st_size
        if counts.account and counts.account["unaccounted"]:
            print(f"  {counts.account['unaccounted']} lines unaccounted for in {entry['file']}")
        print(f"{entry['file']:<34}{counts.read:>9}{seconds:>9.1f}{counts.read / seconds:>9.0f}")
    store.close()
    print(f"{'total':<34}{total_rows:>9}{total_seconds:>9.1f}{total_rows / total_seconds:>9.0f}"
          f"  ({total_bytes / 2**20:.1f} MB of exports)")
    print(f"peak RSS {peak_rss_mb():.0f} MB; store {db.stat().st_size / 2**20:.0f} MB at {db}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
