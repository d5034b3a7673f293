"""One-record POST /records writes in process while reader threads match beside them: how long a
write waits beyond its own thread's CPU (for the GIL, DuckDB's threads, the run queue), with
the interpreter's switch interval at each of --intervals in turn.

    python benchmarks/bench_write_beside_reads.py --db /tmp/demo/master.duckdb --readers 0,1,2

The store is copied first. Readers call `LookupService.match` in a loop, flat out (harder than
one HTTP client each). Wall time here is the box's: compare intervals within one run.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import threading
import time
from pathlib import Path

FIELDS = ("name", "legal_rep", "address", "phone", "uscc")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, required=True, help="a resolved master (copied first)")
    ap.add_argument("--writes", type=int, default=20, help="one-record writes per reader count and interval")
    ap.add_argument("--readers", default="0,2", help="reader threads, comma-separated counts")
    ap.add_argument("--intervals", default="0.005,0.0005", help="switch intervals in seconds, comma-separated")
    args = ap.parse_args()

    from resolver.lookup.group_commit import GroupCommitter
    from resolver.lookup.incremental import prepare
    from resolver.lookup.service import LookupService
    from resolver.store import open_store

    db = args.db.with_name(args.db.stem + ".beside.duckdb")
    shutil.copy(args.db, db)
    store = open_store(db)
    try:
        service = LookupService(store)
        service.warm_up()
        rows = store.cursor().execute(f"SELECT {', '.join(FIELDS)} FROM records_enterprise WHERE source = 'tax' "
                                      "ORDER BY unique_id").fetchall()
        queries = [{k: v for k, v in zip(FIELDS[:4], r, strict=False) if v} for r in rows]
        writer = GroupCommitter(service)
        n = 0
        for readers in (int(r) for r in args.readers.split(",")):
            stop = threading.Event()

            def read(seed: int, stop: threading.Event = stop) -> None:
                rng = random.Random(seed)
                while not stop.is_set():
                    service.match("enterprise", rng.choice(queries))

            threads = [threading.Thread(target=read, args=(i,), daemon=True) for i in range(readers)]
            for t in threads:
                t.start()
            for interval in (float(x) for x in args.intervals.split(",")):
                sys.setswitchinterval(interval)
                walls, waits = [], []
                for _ in range(args.writes):
                    row = rows[n % len(rows)]
                    n += 1
                    record = {"source_record_id": f"beside-{n}", **{k: v for k, v in zip(FIELDS, row, strict=True) if v}}
                    call = prepare(service, "enterprise", "tax", [record], "bench")
                    wall, own = time.perf_counter(), time.thread_time()
                    writer._write([call])
                    walls.append(time.perf_counter() - wall)
                    waits.append(walls[-1] - (time.thread_time() - own))
                print(f"{readers} reader(s), switch interval {interval * 1000:.1f} ms: write median "
                      f"{statistics.median(walls) * 1000:.1f} ms, max {max(walls) * 1000:.1f} ms, beyond its own "
                      f"CPU {statistics.median(waits) * 1000:.1f} ms", flush=True)
            stop.set()
            for t in threads:
                t.join()
        sys.setswitchinterval(0.005)
    finally:
        store.close()
        for part in db.parent.glob(db.name + "*"):
            part.unlink()


if __name__ == "__main__":
    main()
