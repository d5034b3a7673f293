"""The group committer's write in process: CPU seconds of one POST /records group commit by
its size, on a copy of a master (the server's indexes, its checkpoint threshold, its views),
and with --statements the slowest statements of each transaction.

    python benchmarks/bench_group_commit.py --db /tmp/api1m/master.duckdb --workdir /tmp/gc \\
        --sizes 20,2,20,2,50 --statements

Each round is `size` calls of --per-call records (the store's tax records' values under new
record IDs, half without their USCC, as benchmarks/bench_api.py sends them), standardized as
the API does (`prepare`, its CPU printed apart) and written by `GroupCommitter._write`. CPU
seconds are the process's (DuckDB's threads included): comparable on a shared box, where wall
time is not. The first round pays warm-up; compare the later ones.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import pstats
import random
import resource
import shutil
import time
from pathlib import Path
from typing import Any

FIELDS = ("name", "legal_rep", "address", "phone", "uscc")


class TimedConnection:
    """A DuckDB connection that notes each `execute`'s wall time and SQL (and its cursors')."""

    def __init__(self, con: Any, notes: list[tuple[float, str]], trace: list[tuple[float, float, str]]):
        object.__setattr__(self, "_con", con)
        object.__setattr__(self, "_notes", notes)
        object.__setattr__(self, "_trace", trace)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)

    def cursor(self) -> TimedConnection:
        return TimedConnection(self._con.cursor(), self._notes, self._trace)

    def sql(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        return TimedRelation(self._con.sql(sql, *args, **kwargs), " ".join(str(sql).split()), self._notes, self._trace)

    def execute(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        out = self._con.execute(sql, *args, **kwargs)
        end = time.perf_counter()
        text = " ".join(str(sql).split())
        self._notes.append((end - start, text[:150]))
        self._trace.append((start, end, text[:110]))
        return out


class TimedRelation:
    """A relation of `TimedConnection.sql`: its `to_arrow_table` (where it runs) noted like a statement."""

    def __init__(self, rel: Any, text: str, notes: list[tuple[float, str]], trace: list[tuple[float, float, str]]):
        self._rel, self._text, self._notes, self._trace = rel, text, notes, trace

    def __getattr__(self, name: str) -> Any:
        return getattr(self._rel, name)

    def to_arrow_table(self, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        out = self._rel.to_arrow_table(*args, **kwargs)
        end = time.perf_counter()
        self._notes.append((end - start, self._text[:150]))
        self._trace.append((start, end, self._text[:110]))
        return out


def print_trace(trace: list[tuple[float, float, str]], wall: float) -> None:
    """Every statement of one write in order: its wall ms and the ms since the previous one ended."""
    if not trace:
        return
    last = trace[0][0]
    print(f"  trace: {len(trace)} statements, {sum(e - s for s, e, _ in trace) * 1000:.1f} ms in them, "
          f"{wall * 1000:.1f} ms the write (from the first statement: {(trace[-1][1] - trace[0][0]) * 1000:.1f})")
    print("      gap ms   stmt ms")
    for start, end, sql in trace:
        print(f"    {(start - last) * 1000:7.1f}  {(end - start) * 1000:7.1f}  {sql}")
        last = end


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, required=True, help="a resolved master (copied first)")
    ap.add_argument("--workdir", type=Path, required=True, help="folder for the copy")
    ap.add_argument("--sizes", default="20,20,20", help="calls per round, comma-separated")
    ap.add_argument("--per-call", type=int, default=100, help="records per call")
    ap.add_argument("--statements", action="store_true", help="print each round's slowest statements")
    ap.add_argument("--trace", type=int, default=-1,
                    help="with --statements: print every statement of this round in order, with the "
                         "wall time since the previous one ended (Python between them)")
    ap.add_argument("--profile", action="store_true",
                    help="cProfile the writes of every round but the first; print the top functions")
    ap.add_argument("--switch", default="",
                    help="MODULE:FLAG, a boolean switch of the code set off in every odd round and on in "
                         "the others (interleaved before/after in one process), e.g. resolver.store.docs:SORTED_SCOPED; "
                         "several, comma-separated, switch together")
    args = ap.parse_args()
    from box import line as box_line  # benchmarks/box.py, the yardstick
    print(box_line(), flush=True)

    from resolver.lookup.group_commit import GroupCommitter
    from resolver.lookup.incremental import prepare
    from resolver.lookup.queries import ensure_indexes
    from resolver.lookup.service import LookupService
    from resolver.store import open_store

    args.workdir.mkdir(parents=True, exist_ok=True)
    db = args.workdir / "master.duckdb"
    shutil.copy(args.db, db)
    sizes = [int(s) for s in args.sizes.split(",")]
    start = time.time()
    store = open_store(db)
    try:
        ensure_indexes(store)
        store.set_checkpoint_threshold("100GiB")  # the server checkpoints between writes
        service = LookupService(store)
        print(f"views loaded in {time.time() - start:.1f}s", flush=True)
        rng = random.Random(5)
        rows = store.cursor().execute(f"SELECT {', '.join(FIELDS)} FROM records_enterprise USING SAMPLE "
                                      f"{sum(sizes) * args.per_call} ROWS (reservoir, 2)").fetchall()
        bodies = []
        for row in rows:
            body = {f: v for f, v in zip(FIELDS, row, strict=True) if isinstance(v, str) and v}
            if rng.random() < 0.5:
                body.pop("uscc", None)
            bodies.append(body)
        notes: list[tuple[float, str]] = []
        trace: list[tuple[float, float, str]] = []
        if args.statements:
            store._con = TimedConnection(store._con, notes, trace)  # type: ignore[assignment]
        writer = GroupCommitter(service)
        profiler = cProfile.Profile() if args.profile else None
        at = 0
        for n, size in enumerate(sizes):
            before = time.process_time()
            calls = []
            for c in range(size):
                records = [{"source_record_id": f"bench-gc-{n}-{c}-{i}", **bodies[at + i]} for i in range(args.per_call)]
                at += args.per_call
                calls.append(prepare(service, "enterprise", "tax", records, "bench"))
            standardized = time.process_time() - before
            trace.clear()
            for switch in filter(None, args.switch.split(",")):
                module, flag = switch.split(":")
                setattr(importlib.import_module(module), flag, n % 2 == 0)
            used, wall, own = cpu(), time.perf_counter(), time.thread_time()
            if profiler is not None and n > 0:
                profiler.enable()
            answers = writer._write(calls)
            if profiler is not None:
                profiler.disable()
            used, wall, own = cpu() - used, time.perf_counter() - wall, time.thread_time() - own
            if n == args.trace:
                print_trace(trace, wall)
            actions: dict[str, int] = {}
            for answer in answers:
                for outcome in answer["results"]:
                    actions[outcome["action"]] = actions.get(outcome["action"], 0) + 1
            switched = f" [{args.switch}={n % 2 == 0}]" if args.switch else ""
            print(f"round {n}{switched}: {size * args.per_call} records, write {used:.2f} CPU s ({wall:.2f} s wall, "
                  f"{own:.2f} s the writer thread's CPU), "
                  f"prepare {standardized:.2f} CPU s, {actions}", flush=True)
            if args.statements:
                notes.sort(reverse=True)
                print(f"  {len(notes)} statements, {sum(t for t, _ in notes):.2f} s wall; the slowest:")
                for seconds, sql in notes[:15]:
                    print(f"    {seconds * 1000:7.1f} ms  {sql}")
                notes.clear()
        if profiler is not None:
            profiler.dump_stats(args.workdir / "profile.pstats")
            stats = pstats.Stats(profiler)
            stats.sort_stats("cumulative").print_stats(60)
            stats.sort_stats("tottime").print_stats(40)
    finally:
        store.close()


if __name__ == "__main__":
    main()
