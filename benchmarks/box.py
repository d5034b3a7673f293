"""How fast the box is right now: a yardstick to print beside a benchmark's figures.

The 2-core box's speed per CPU second varies between sessions (a 100k incremental ingest took
24 CPU s in session 27 and 65 in session 31 on a quiet box, while standardizing 100k rows cost
the same on both sessions' code), so CPU seconds from two sessions compare only through a
yardstick taken in each.
Two fixed workloads, CPU seconds of this process, the best of three (interference only adds):
a pure-Python loop (the GIL-bound share of our work) and a one-thread DuckDB aggregate.

    python benchmarks/box.py      # prints the yardstick
    from box import line          # in a benchmark run as a script from benchmarks/
"""

from __future__ import annotations

import os
import time

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


if __name__ == "__main__":
    print(line())
