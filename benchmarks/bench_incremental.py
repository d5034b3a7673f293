"""Incremental ingest benchmark: N tax records under new record ids into a resolved master.

The new records are copies of existing tax rows with fresh record ids, so most should join
existing entities (what a department's re-export looks like). Prints wall time, records/s,
joined/created counts and peak RSS. The store is copied first, so the master is untouched.

Usage: python benchmarks/bench_incremental.py --db MASTER.duckdb --fixtures DIR [--records 10000] [--chunk N]
(MASTER must have been through `resolver train` and `resolver resolve` for enterprise.)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, os.environ.get("PYTHONPATH") or str(ROOT))


def new_tax_file(fixtures: Path, out: Path, n: int) -> int:
    """Write n tax rows with record ids prefixed INC (same encoding, title and header lines)."""
    manifest = json.loads((fixtures / "manifest.json").read_text(encoding="utf-8"))
    entry = next(f for f in manifest["files"] if f["source"] == "tax")
    lines = (fixtures / entry["file"]).read_bytes().split(b"\n")
    head = lines[: entry["header_row"]]
    body = [line for line in lines[entry["header_row"]:] if line.strip()]
    step = max(1, len(body) // n)
    picked = [b"INC" + line for line in body[::step][:n]]  # record id is the first column
    out.write_bytes(b"\n".join(head + picked) + b"\n")
    return len(picked)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--fixtures", type=Path, required=True)
    ap.add_argument("--records", type=int, default=10_000)
    ap.add_argument("--chunk", type=int, default=None,
                    help="records per transaction (default: ingest_incremental's own; omit it to measure "
                         "an older checkout through PYTHONPATH)")
    args = ap.parse_args()

    from resolver.incremental import ingest_incremental
    from resolver.store import open_store

    tmp = Path(tempfile.mkdtemp(prefix="bench_incr_"))
    db = tmp / "master.duckdb"
    shutil.copy(args.db, db)
    n = new_tax_file(args.fixtures, tmp / "new_tax.csv", args.records)
    store = open_store(db)
    before = store.cursor().execute("SELECT count(*) FROM records_enterprise").fetchall()[0][0]
    print(f"master: {before} enterprise source records; load average {os.getloadavg()[0]:.2f}")
    started = time.perf_counter()
    result = ingest_incremental(store, ROOT / "matching_rules" / "sources" / "tax.yaml", tmp / "new_tax.csv",
                                **({"chunk": args.chunk} if args.chunk else {}))
    store.close()  # timed too: closing checkpoints what the ingest wrote
    seconds = time.perf_counter() - started
    print(f"{n} new records, {args.chunk or 'default'} per transaction, in {seconds:.1f}s ({n / seconds:.0f} records/s); neighbourhood "
          f"{result.neighbourhood}; joined {result.joined}, new entities {result.created}; "
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; "
          f"load average {os.getloadavg()[0]:.2f}")
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
