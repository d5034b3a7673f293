"""The 漏管户 worklist on a resolved store: the list computed with its case facts (once per state
of the store), then per call, from the cache: first page, old-district filter, age sort,
search, a case update (which must not compute the list again), and a district's XLSX export.

    python benchmarks/bench_worklist.py --db DB [--as-of 2026-06-30] [--repeat 7]

Writes case rows into DB.access.sqlite: run it on a copy. Prints medians in ms and the sizes.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _median_ms(call: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = call()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), out


def main() -> None:
    from resolver.lookup.unregistered import UnregisteredCache
    from resolver.lookup.worklist import Change, Filters, update_case, worklist, worklist_report
    from resolver.store import open_store
    from resolver.unregistered.report import xlsx_bytes

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--as-of", default=None)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    store = open_store(args.db)
    cache = UnregisteredCache(args.db)
    try:
        records = store.cursor().execute("SELECT count(*) FROM membership").fetchall()[0][0]
        t = time.perf_counter()
        frame = cache.frame(store, args.as_of)
        cold = time.perf_counter() - t
        print(f"store: {records:,} resolved records; list: {len(frame):,} rows "
              f"({int((frame['list'] == 'suspect').sum()):,} suspects)")
        print(f"list with case facts computed: {cold:.1f} s (once per state of the store)")
        base = Filters(as_of=args.as_of)
        top = worklist(store, base, cache=cache)["items"]
        district = next((i["district"] for i in top if i["district"]), "西湖区")
        shapes: dict[str, Callable[[], Any]] = {
            "first page (50, score)": lambda: worklist(store, base, cache=cache),
            "district by old name 江干, page 1": lambda: worklist(store, Filters(as_of=args.as_of, district="江干"),
                                                                 cache=cache),
            "sort by age, page 3": lambda: worklist(store, base, sort="age", offset=100, cache=cache),
            "search by name part": lambda: worklist(store, Filters(as_of=args.as_of, q="科技"), cache=cache),
        }
        for name, call in shapes.items():
            ms, page = _median_ms(call, args.repeat)
            print(f"  {name:<36} {ms:8.1f} ms median  (total {page['total']:,})")
        misses = cache.misses
        entity = top[0]["entity_id"]
        ms, _ = _median_ms(lambda: update_case(store, entity, Change(status="核查中", note="bench"), key_id=None,
                                               department="bench", as_of=args.as_of, cache=cache), args.repeat)
        print(f"  {'case update (PATCH body)':<36} {ms:8.1f} ms median  (list computed again: {cache.misses - misses})")
        ms, size = _median_ms(lambda: len(xlsx_bytes(worklist_report(store, Filters(as_of=args.as_of, district=district),
                                                                      cache=cache))), max(1, args.repeat // 3))
        print(f"  {'XLSX export of ' + district:<36} {ms:8.1f} ms median  ({size / 1024:.0f} KiB)")
        print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    finally:
        cache.close()
        store.close()


if __name__ == "__main__":
    main()
