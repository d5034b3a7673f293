"""Benchmark: what masking costs a look-up by master ID; prints median and p99 µs per call.

    .venv/bin/python benchmarks/bench_masking.py --db out/demo/master.duckdb [--calls 3000]

For each domain it times `get_entity` from the in-memory documents (resolver.lookup.doc_cache,
as the server answers GET /v1/{domain}/{id}) with and without masking, plus the JSON encoding
the server does after it, over the same entities in interleaved order. "masking" is the
difference of the medians. The store is opened on a copy, so a running server is no obstacle.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from resolver.domains import load_schema  # noqa: E402
from resolver.lookup.doc_cache import DocCache  # noqa: E402
from resolver.lookup.entity import get_entity  # noqa: E402
from resolver.store import open_store  # noqa: E402


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, required=True, help="a master store (e.g. the demo's)")
    parser.add_argument("--calls", type=int, default=3000, help="calls per domain and mode")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "master.duckdb"
        shutil.copy(args.db, copy)
        store = open_store(copy)
        reader = store.reader()
        rows = store.cursor().execute("SELECT entity_id, domain FROM serving_docs ORDER BY entity_id").fetchall()
        for domain in sorted({d for _, d in rows}):
            ids = [e for e, d in rows if d == domain]
            schema = load_schema(domain)  # as the server holds it (LookupService.schemas)
            cache = DocCache(reader, domain)
            picked = [ids[i % len(ids)] for i in range(args.calls)]
            times: dict[bool, list[float]] = {True: [], False: []}
            sizes: dict[bool, int] = {True: 0, False: 0}
            for _ in range(2):  # the first pass warms the raw-row plans and the allocator
                for mode in times:
                    times[mode].clear()
                for entity_id in picked:
                    for unmasked in (True, False):
                        start = time.perf_counter_ns()
                        body = orjson.dumps(get_entity(cache, domain, entity_id, unmasked=unmasked, schema=schema))
                        times[unmasked].append((time.perf_counter_ns() - start) / 1000)
                        sizes[unmasked] += len(body)
            clear, masked = statistics.median(times[True]), statistics.median(times[False])
            print(f"{domain:<10} {len(ids):>8} docs  unmasked median {clear:7.1f} µs p99 {_quantile(times[True], .99):7.1f}"
                  f"  masked median {masked:7.1f} µs p99 {_quantile(times[False], .99):7.1f}"
                  f"  masking ≈ {masked - clear:6.1f} µs  (answer {sizes[False] // (2 * len(picked))} bytes)")
        store.close()


if __name__ == "__main__":
    main()
