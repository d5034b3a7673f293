"""Where a full resolve's memory and CPU go, step by step, on a copy of a trained store.

    python benchmarks/bench_resolve_memory.py --db STORE [--domain enterprise] [--work DIR] [--first]

Copies STORE (ingested, a model published) into WORK, runs `Resolver.resolve` in this process and
prints, per step, wall and CPU seconds, the process's RSS at the step's end and its peak within
the step (sampled every 50 ms), with finer steps inside the save (golden records, documents,
commit). After scoring it prints what the linking session's DuckDB holds (in memory and spilled)
and the sizes of the pairs and records frames: what grows with the records outside the store's
DuckDB. CPU seconds and peak RSS hold on a shared box; wall seconds only on a quiet one.
With `--first` the copy forgets the domain's resolution first (untimed: its entities, membership,
golden values, conflicts, documents, history, pairs and next master ID), so that the run is a
first resolution, which writes every entity and document; a resolved store resolved again with
the same model rewrites only what changed.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import resolver.engine as engine_module  # noqa: E402
import resolver.store.docs as docs_module  # noqa: E402
import resolver.store.store as store_module  # noqa: E402
from resolver.engine import Resolver  # noqa: E402
from resolver.store import open_store  # noqa: E402


def rss_gb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 2**20
    return 0.0


class Steps:
    """Per step: wall s, CPU s, RSS at its end and the peak within it (a sampling thread)."""

    def __init__(self) -> None:
        self.peak = rss_gb()
        self.rows: list[tuple[str, float, float, float, float]] = []
        self.last = (time.perf_counter(), time.process_time(), "start")
        self.done = False
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while not self.done:
            self.peak = max(self.peak, rss_gb())
            time.sleep(0.05)

    def __call__(self, name: str) -> None:
        now, cpu = time.perf_counter(), time.process_time()
        rss = rss_gb()
        self.peak = max(self.peak, rss)
        self.rows.append((self.last[2], now - self.last[0], cpu - self.last[1], rss, self.peak))
        print(f"  {self.last[2]:<40} {now - self.last[0]:7.1f} s  cpu {cpu - self.last[1]:6.1f} s  "
              f"rss {rss:5.2f} GB  peak {self.peak:5.2f} GB", flush=True)
        self.last = (now, cpu, name)
        self.peak = rss


def instrument(step: Steps) -> None:
    """Mark the save's inner steps and report the linking session after scoring."""
    build_golden, refresh = store_module.build_golden, docs_module.refresh

    def golden(*args: Any, **kwargs: Any) -> Any:
        step("save: golden records")
        return build_golden(*args, **kwargs)

    def documents(*args: Any, **kwargs: Any) -> Any:
        step("save: documents")
        out = refresh(*args, **kwargs)
        step("save: commit")
        return out

    store_module.build_golden = golden  # type: ignore[assignment]
    docs_module.refresh = documents  # type: ignore[assignment]
    transaction = store_module.Store.transaction

    @contextlib.contextmanager
    def opened(self: Any, **frames: Any) -> Iterator[Any]:
        step("save: master IDs, memberships")
        with transaction(self, **frames) as con:
            yield con

    store_module.Store.transaction = opened  # type: ignore[method-assign,assignment]
    predict = engine_module.predict_pairs

    def scored(records: Any, model: Any, **kwargs: Any) -> Any:
        pairs = predict(records, model, **kwargs)
        con = kwargs.get("con")
        if con is not None and hasattr(con, "sql"):
            held, spilled = con.execute("SELECT sum(memory_usage_bytes) / 2^30, sum(temporary_storage_bytes) / 2^30 "
                                        "FROM duckdb_memory()").fetchall()[0]
            print(f"    linking session DuckDB: {held:.2f} GB in memory, {spilled:.2f} GB spilled", flush=True)
        print(f"    pairs {len(pairs):,} ({pairs.memory_usage(deep=True).sum() / 2**30:.2f} GB), records "
              f"{len(records):,} ({records.memory_usage(deep=True).sum() / 2**30:.2f} GB)", flush=True)
        return pairs

    engine_module.predict_pairs = scored  # type: ignore[assignment]


def forget_resolution(path: Path, domain: str) -> None:
    """Make the store at `path` as it was before its first resolution of `domain`."""
    import duckdb

    con = duckdb.connect(str(path))
    for table in ("entities", "membership", "golden_values", "conflicts", "serving_docs", "entity_history"):
        con.execute(f"DELETE FROM {table} WHERE domain = ?", [domain])
    con.execute(f"DELETE FROM pairs_{domain}")
    con.execute("DELETE FROM meta WHERE key = ?", [f"next_id_{domain}"])
    con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True, type=Path, help="a trained store (read, never written)")
    parser.add_argument("--domain", default="enterprise")
    parser.add_argument("--work", type=Path, default=None, help="where the copy goes (default: beside --db)")
    parser.add_argument("--first", action="store_true", help="resolve the copy as a first resolution")
    args = parser.parse_args()
    work = args.work or args.db.parent
    copy = work / f"{args.db.stem}_resolve_memory.duckdb"
    shutil.copyfile(args.db, copy)
    try:
        if args.first:
            forget_resolution(copy, args.domain)
        step = Steps()
        instrument(step)
        store = open_store(copy)
        started, cpu = time.perf_counter(), time.process_time()
        resolution = Resolver(store, args.domain).resolve(step=step)
        step("done")
        step.done = True
        store.close()
        print(f"total {time.perf_counter() - started:.1f} s, cpu {time.process_time() - cpu:.1f} s, "
              f"peak {max(r[4] for r in step.rows):.2f} GB; {resolution.records:,} records -> "
              f"{resolution.entities:,} entities, {resolution.pairs:,} pairs")
    finally:
        copy.unlink(missing_ok=True)
        Path(f"{copy}.wal").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
