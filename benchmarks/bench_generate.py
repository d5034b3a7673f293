"""Benchmark the fixture generator: 1M source records by default.

    .venv/bin/python benchmarks/bench_generate.py [--records N] [--out DIR] [--seed S]

Prints wall time, records/s, peak RSS and total bytes written.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fixtures.generate import DEFAULT_SEED, generate  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--out", help="keep the output here (default: a temporary directory)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench_generate_") as tmp:
        out = Path(args.out or tmp)
        start, cpu = time.perf_counter(), time.process_time()
        manifest = generate(out, args.records, seed=args.seed)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        size = sum(p.stat().st_size for p in out.iterdir())
    me, child = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    total = manifest["records_total"]
    print(f"records      {total:,} ({args.records:,} requested)")
    print(f"wall time    {wall:.1f} s")
    print(f"cpu time     {cpu:.1f} s main + {child.ru_utime + child.ru_stime:.1f} s person-source worker")
    print(f"throughput   {total / wall:,.0f} records/s")
    # ru_maxrss is in KiB on Linux; the forked worker shares the parent's pages until it writes
    print(f"peak RSS     {me.ru_maxrss / 1024:,.0f} MiB main, {child.ru_maxrss / 1024:,.0f} MiB worker")
    print(f"bytes        {size / 1e6:,.1f} MB (exports + truth files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
