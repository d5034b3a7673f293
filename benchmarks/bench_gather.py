"""The group committer's batching policy alone: closed-loop callers against a writer whose
transaction only sleeps, so what is measured is which calls share a transaction and how long
each waits, not the store.

    python benchmarks/bench_gather.py --callers 20 --spread 0.5 --arrive 0.3 --calls 200

Each caller's call reaches the route after a random 0..--arrive seconds (the client's send,
the server's parsing: not yet announced), is announced (`preparing`), spends a random
0..--spread seconds (the checks and the standardizing, which under load vary widely), then is
submitted; the caller waits for its answer and waits for its answer; the writer's transaction takes --write-seconds plus --call-seconds a call (the defaults: a
2,000-record commit of 20 calls at 1M records, ~3.2 s). Prints the
transactions, calls per transaction and latency percentiles, for `--gather` 0 (the writer never
waits) and for the default policy (PYTHONPATH=another checkout measures its policy).
"""

from __future__ import annotations

import argparse
import random
import statistics
import threading
import time
from typing import Any

import pandas as pd


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--callers", type=int, default=20)
    ap.add_argument("--calls", type=int, default=200, help="calls in all")
    ap.add_argument("--write-seconds", type=float, default=1.2, help="a transaction's fixed time")
    ap.add_argument("--call-seconds", type=float, default=0.1, help="a transaction's time per call it carries")
    ap.add_argument("--spread", type=float, default=0.5, help="a call's preparing time is uniform in 0..spread s")
    ap.add_argument("--arrive", type=float, default=0.3,
                    help="before it is announced, a call spends uniform 0..arrive s reaching the route")
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args()

    from resolver.lookup import group_commit

    for gather in (0.0, group_commit.GATHER_SECONDS):
        group_commit.GATHER_SECONDS = gather
        sizes, latencies, took = run(args)
        cuts = statistics.quantiles(latencies, n=100, method="inclusive")
        print(f"gather {gather:g} s: {len(sizes)} transactions, calls each {sorted(sizes)}; "
              f"{len(latencies) / took:.2f} calls/s; latency p50 {cuts[49]:.2f} p95 {cuts[94]:.2f} "
              f"p99 {cuts[98]:.2f} max {max(latencies):.2f} s", flush=True)


def run(args: argparse.Namespace) -> tuple[list[int], list[float], float]:
    """One policy's run: calls per transaction, each call's latency, seconds in all."""
    from resolver.lookup.group_commit import GroupCommitter
    from resolver.lookup.incremental import Pending

    class Sleeper(GroupCommitter):
        def __init__(self) -> None:
            self.sizes: list[int] = []
            super().__init__(service=None)  # type: ignore[arg-type]  # only _write uses it

        def _write(self, calls: list[Pending]) -> list[dict[str, Any]]:
            self.sizes.append(len(calls))
            time.sleep(args.write_seconds + args.call_seconds * len(calls))
            return [{} for _ in calls]

    writer = Sleeper()
    rng = random.Random(args.seed)
    lock = threading.Lock()
    latencies: list[float] = []
    left = [args.calls]

    def caller(n: int) -> None:
        while True:
            with lock:
                if left[0] <= 0:
                    return
                left[0] -= 1
                delay = rng.uniform(0, args.spread)
                arrive = rng.uniform(0, args.arrive)
            start = time.perf_counter()
            time.sleep(arrive)
            with writer.preparing():
                time.sleep(delay)
                good = pd.DataFrame({"unique_id": [f"t:{n}-{start}"]})
                future = writer.submit(Pending("enterprise", "tax", "v", f"c{n}", good, good.iloc[:0]))
            future.result()
            with lock:
                latencies.append(time.perf_counter() - start)

    began = time.perf_counter()
    threads = [threading.Thread(target=caller, args=(n,)) for n in range(args.callers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return writer.sizes, latencies, time.perf_counter() - began


if __name__ == "__main__":
    main()
