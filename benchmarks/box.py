"""How fast the box is right now: a yardstick to print beside a benchmark's figures.

The 2-core box's speed per CPU second varies between sessions (a 100k incremental ingest took
24 CPU s in session 27 and 65 in session 31 on a quiet box, while standardizing 100k rows cost
the same on both sessions' code), so CPU seconds from two sessions compare only through a
yardstick taken in each.
Two fixed workloads, CPU seconds of this process, the best of three (interference only adds):
a pure-Python loop (the GIL-bound share of our work) and a one-thread DuckDB aggregate.

    python benchmarks/box.py      # prints the yardstick
    from box import line          # in a benchmark run as a script from benchmarks/

The yardstick is taken once, before a run; the box's rate also moves within minutes (two
back-to-back 20 x 100 runs of the same work: 85 and 111 ms of server CPU a call, docs/serving.md,
session 39). `probe()` samples it during a run: a child process times a small fixed loop once a
second (~2 % of one core) and the run prints the samples' median and maximum. The run's own
work slows the loop too (0.032 s during a 20 x 100 run against ~0.02 on an idle box): compare
the samples of runs of the same work.

    python benchmarks/box.py --probe   # one CPU-seconds sample a second, until killed
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

LOOP = 5_000_000
ROWS = 20_000_000


def _best(work, rounds: int = 3) -> float:
    best = float("inf")
    for _ in range(rounds):
        t = time.process_time()
        work()
        best = min(best, time.process_time() - t)
    return best


def _loop() -> None:
    s = 0
    for i in range(LOOP):
        s += i


def yardstick() -> dict[str, float]:
    """{'load1', 'python_s', 'duckdb_s'}: the load average and the two workloads' CPU seconds."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET threads = 1")
    query = f"SELECT sum(hash(i % 1000)) FROM range({ROWS}) t(i)"
    result = {"load1": round(os.getloadavg()[0], 2),
              "python_s": round(_best(_loop), 3),
              "duckdb_s": round(_best(lambda: con.execute(query).fetchall()), 3)}
    con.close()
    return result


def line() -> str:
    y = yardstick()
    return (f"box: load {y['load1']:.2f}; yardstick CPU s: python loop {y['python_s']:.3f}, "
            f"duckdb aggregate {y['duckdb_s']:.3f} (lower is faster; compare across sessions)")


PROBE_LOOP = LOOP // 7  # ~0.02 CPU s on a quiet box


def _probe_forever() -> None:
    while True:
        t = time.process_time()
        s = 0
        for i in range(PROBE_LOOP):
            s += i
        print(f"{time.process_time() - t:.4f}", flush=True)
        time.sleep(1.0)


@contextmanager
def probe() -> Iterator[list[float]]:
    """The box's rate during the block: the list, filled when the block ends, holds the CPU
    seconds of each one-second sample of a fixed loop (higher: the box was slower then)."""
    samples: list[float] = []
    child = subprocess.Popen([sys.executable, __file__, "--probe"], stdout=subprocess.PIPE, text=True)
    try:
        yield samples
    finally:
        child.terminate()
        out, _ = child.communicate(timeout=10)
        samples += [float(x) for x in out.split()]


def probe_line(samples: list[float]) -> str:
    if not samples:
        return "box during: no sample"
    return (f"box during: loop CPU s median {statistics.median(samples):.4f}, max {max(samples):.4f} "
            f"({len(samples)} samples; higher is slower; the run's own work raises it too: "
            f"compare runs of the same work)")


if __name__ == "__main__":
    if sys.argv[1:] == ["--probe"]:
        _probe_forever()
    print(line())
