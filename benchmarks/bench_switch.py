"""What following commits costs a serving LookupService (docs/store.md, "Switching to a new master
while serving"): the gate on a request, and a full re-resolve's switch.

    .venv/bin/python benchmarks/bench_switch.py [--enterprises 1000] [--calls 3000]

Builds a master store like the tests' (tests/lookup/lookup_data.py: enterprises in 1-4 sources,
resolved by truth, a model trained on them), then in one process:

1. the gate alone: one shared enter and exit, one thread and four threads at once;
2. a look-up by ID (`LookupService.entity`, which takes no gate) with and without the gate around it,
   and a search and a match (which hold it);
3. a full `Resolver.resolve()` through a second Store on the file while four threads search: the
   time the listener spends building the new view inside the transaction, the time the gate is
   held exclusively (COMMIT and the swap), and the longest search meanwhile.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "lookup"))

from lookup_data import build_store  # noqa: E402

from resolver.engine import Resolver  # noqa: E402
from resolver.lookup.service import LookupService  # noqa: E402
from resolver.store import commits, open_store  # noqa: E402


def median_us(call: Callable[[], Any], n: int) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter_ns()
        call()
        times.append((time.perf_counter_ns() - start) / 1000)
    return statistics.median(times)


def gate_alone(n: int) -> None:
    gate = commits.Gate()

    def once() -> None:
        with gate.shared():
            pass

    print(f"gate shared enter+exit, 1 thread: {median_us(once, n):.2f} µs (median of {n})")
    spent: list[float] = []

    def loop() -> None:
        spent.append(median_us(once, n))

    threads = [threading.Thread(target=loop) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(f"gate shared enter+exit, 4 threads at once: {statistics.median(spent):.2f} µs (median per thread)")


def requests(service: LookupService, n: int) -> None:
    ids = [e for e, _ in service.store.cursor().execute(
        "SELECT entity_id, domain FROM serving_docs WHERE domain = 'enterprise' ORDER BY entity_id").fetchall()]
    pick = itertools.cycle(ids)

    def get() -> None:
        service.entity("enterprise", next(pick))

    def gated_get() -> None:
        with service.gate.shared():
            service.entity("enterprise", next(pick))

    for _ in range(2):  # the first round warms up
        plain, gated = median_us(get, n), median_us(gated_get, n)
    print(f"GET by ID in-process: {plain:.1f} µs without the gate, {gated:.1f} µs with it (median of {n})")
    uscc = service.store.cursor().execute(
        "SELECT uscc FROM records_enterprise WHERE uscc IS NOT NULL LIMIT 1").fetchall()[0][0]
    name = service.store.cursor().execute(
        "SELECT name FROM records_enterprise LIMIT 1").fetchall()[0][0]
    print(f"search by USCC in-process (holds the gate): {median_us(lambda: service.search('enterprise', id=uscc), n // 10):.0f} µs")
    print(f"match in-process (holds the gate): {median_us(lambda: service.match('enterprise', {'name': name}), n // 10):.0f} µs")


def switch(service: LookupService, db: Path) -> None:
    """A full re-resolve through a second Store while four threads search."""
    spans: dict[str, float] = {}
    prepare, commit = commits.prepare, commits.commit

    def timed_prepare(*args: Any) -> Any:
        start = time.perf_counter()
        try:
            return prepare(*args)
        finally:
            spans["build"] = time.perf_counter() - start

    def timed_commit(*args: Any) -> Any:
        start = time.perf_counter()
        try:
            return commit(*args)
        finally:
            spans["exclusive"] = time.perf_counter() - start

    commits.prepare, commits.commit = timed_prepare, timed_commit  # type: ignore[assignment]
    uscc = service.store.cursor().execute(
        "SELECT uscc FROM records_enterprise WHERE uscc IS NOT NULL LIMIT 1").fetchall()[0][0]
    stop = threading.Event()
    waits: list[float] = []

    def search() -> None:
        while not stop.is_set():
            start = time.perf_counter()
            service.search("enterprise", id=uscc)
            waits.append(time.perf_counter() - start)

    threads = [threading.Thread(target=search) for _ in range(4)]
    for t in threads:
        t.start()
    other = open_store(db)
    try:
        started = time.perf_counter()
        with service.write_lock:
            Resolver(other, "enterprise").resolve()
        total = time.perf_counter() - started
    finally:
        stop.set()
        for t in threads:
            t.join()
        other.close()
        commits.prepare, commits.commit = prepare, commit  # type: ignore[assignment]
    print(f"full re-resolve through a second Store: {total:.1f} s; the new view built inside the transaction in "
          f"{spans['build'] * 1000:.0f} ms; gate held exclusively (COMMIT + swap) {spans['exclusive'] * 1000:.0f} ms")
    print(f"4 threads searching meanwhile: {len(waits)} searches, median {statistics.median(waits) * 1000:.1f} ms, "
          f"longest {max(waits) * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--enterprises", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        built = build_store(Path(tmp), n_enterprises=args.enterprises, n_people=10)
        store = open_store(built.path)
        service = LookupService(store)
        records = store.cursor().execute("SELECT count(*) FROM records_enterprise").fetchall()[0][0]
        print(f"store: {records} enterprise source records")
        gate_alone(args.calls * 10)
        requests(service, args.calls)
        switch(service, built.path)
        service.close()
        store.close()


if __name__ == "__main__":
    main()
