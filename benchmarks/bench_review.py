"""The review queue's cost on a resolved store: the scored pairs a resolution keeps for it, the
model-version column resolve now adds to them, a queue page, and decisions in the clustering.

    python benchmarks/bench_review.py --db out/bench/master.duckdb [--domain enterprise] [--cluster]

The store is opened read-only and never written: the pairs are copied into a scratch DuckDB file
in a temporary folder to measure their size on disk and the time to write them. Prints medians.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd


def _median(fn: Any, runs: int) -> tuple[float, float]:
    """(median wall seconds, median CPU seconds of this process) of `fn()` over `runs` runs."""
    wall, cpu = [], []
    for _ in range(runs):
        w, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), statistics.median(cpu)


def pairs_cost(db: Path, domain: str, version: str) -> None:
    src = duckdb.connect(str(db), read_only=True)
    pairs = src.execute(f"SELECT * FROM pairs_{domain}").df()
    between = int(((pairs["match_probability"] >= 0.5) & (pairs["match_probability"] < 0.9)).sum())
    print(f"{domain}: {len(pairs):,} scored pairs kept, {between:,} between the thresholds 0.5 and 0.9")
    with tempfile.TemporaryDirectory() as tmp:
        for label, frame in (("without model_version", pairs), ("with model_version", None)):
            path = Path(tmp) / f"{label.replace(' ', '_')}.duckdb"

            def write(frame: pd.DataFrame | None = frame, path: Path = path) -> None:
                con = duckdb.connect(str(path))
                data = pairs.assign(model_version=version) if frame is None else frame
                con.register("new_pairs", data)
                con.execute("CREATE OR REPLACE TABLE pairs AS SELECT * FROM new_pairs")
                con.execute("CHECKPOINT")
                con.close()
            wall, cpu = _median(write, 3)
            print(f"  {label:<22} write {wall:6.2f} s (CPU {cpu:5.2f} s), file {path.stat().st_size / 2**20:7.1f} MiB")


def queue_cost(db: Path, domain: str) -> None:
    from resolver.review import review_queue
    from resolver.store import open_store

    store = open_store(db, read_only=True)
    try:
        first = review_queue(store, domain, limit=50)
        print(f"{domain}: queue {first['counts']} (model version {first['model_version']})")
        for offset in (0, max(first["total"] - 50, 0)):
            wall, cpu = _median(lambda offset=offset: review_queue(store, domain, offset=offset, limit=50), 5)
            print(f"  page at offset {offset:>6}: {wall * 1000:7.0f} ms (CPU {cpu * 1000:5.0f} ms)")
        review_queue(store, domain, limit=50, cached=True)  # the server's: candidates kept until a commit
        for offset in (0, max(first["total"] - 50, 0)):
            wall, cpu = _median(lambda offset=offset: review_queue(store, domain, offset=offset, limit=50,
                                                                   cached=True), 5)
            print(f"  page at offset {offset:>6}, candidates kept: {wall * 1000:7.0f} ms (CPU {cpu * 1000:5.0f} ms)")
    finally:
        store.close()


def cluster_cost(db: Path, domain: str, decisions: int) -> None:
    from resolver.linking import constraints
    from resolver.linking.cluster import cluster_with_constraints
    from resolver.linking.model import published_model
    from resolver.store import open_store

    store = open_store(db, read_only=True)
    try:
        clustering = published_model(store, domain).clustering
    finally:
        store.close()
    src = duckdb.connect(str(db), read_only=True)
    columns = sorted({"unique_id", *(c for con in constraints.of(clustering) for c in con.columns)})
    records = src.execute(f"SELECT {', '.join(columns)} FROM records_{domain} ORDER BY unique_id").df()
    pairs = src.execute(f"SELECT unique_id_l, unique_id_r, match_probability FROM pairs_{domain}").df()
    rng = np.random.default_rng(7)
    ids = records["unique_id"].to_numpy()
    picks = [pd.DataFrame({"unique_id_l": ids[rng.integers(0, len(ids), decisions)],
                           "unique_id_r": ids[rng.integers(0, len(ids), decisions)]}) for _ in range(2)]
    strong = pairs[pairs["match_probability"] >= 0.9].sample(n=min(decisions, len(pairs)), random_state=7)
    cannot = pd.concat([picks[0], strong[["unique_id_l", "unique_id_r"]]], ignore_index=True)
    base = _median(lambda: cluster_with_constraints(records, pairs, clustering), 3)
    with_decisions = _median(lambda: cluster_with_constraints(records, pairs, clustering, must_link=picks[1],
                                                              cannot_link=cannot), 3)
    print(f"{domain}: clustering {len(records):,} records, {len(pairs):,} pairs: {base[0]:.2f} s without decisions, "
          f"{with_decisions[0]:.2f} s with {len(picks[1]):,} same and {len(cannot):,} different")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True, help="a resolved store (read only)")
    parser.add_argument("--domain", action="append", help="domain(s) (default: enterprise and person)")
    parser.add_argument("--cluster", action="store_true", help="also time the clustering with decisions")
    parser.add_argument("--decisions", type=int, default=1000, help="decisions of each kind for --cluster")
    args = parser.parse_args()
    domains = args.domain or ["enterprise", "person"]
    src = duckdb.connect(str(args.db), read_only=True)
    records = {d: src.execute(f"SELECT count(*) FROM records_{d}").fetchall()[0][0] for d in domains}
    src.close()
    print(f"store {args.db}: {', '.join(f'{d} {n:,} records' for d, n in records.items())}")
    for domain in domains:
        pairs_cost(args.db, domain, f"{domain}-20260101T000000-00000000")
        queue_cost(args.db, domain)
        if args.cluster:
            cluster_cost(args.db, domain, args.decisions)


if __name__ == "__main__":
    main()
