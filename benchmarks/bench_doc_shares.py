"""The documents step of a full resolution by number of shares, on a copy of a resolved store.

    python benchmarks/bench_doc_shares.py --db STORE [--domain enterprise] [--shares 2 8 32]
        [--repeat 3] [--work DIR] [--code DIR] [--digest] [--md5 FILE]

Copies STORE (resolved; read, never written) into WORK once. Each run opens the copy and, in one
transaction that it rolls back, does what a domain's first full resolution does before and in its
documents step: rebuilds the domain's golden values (untimed, so that they are the transaction's
own rows, as in a save), deletes the domain's documents (untimed) and builds every entity's
document again with `docs.refresh` cut into the given number of shares (`members_per_statement`
set to the members over the shares; 0: as many as the store's memory limit gives, as `resolve`
cuts them). Prints per run: CPU and wall seconds of the refresh, the
process's peak RSS, DuckDB's peak memory and spilled bytes (`duckdb_memory()`), the peak size of
the store's temp folder (allocated bytes), CPU seconds per kind of statement, and with `--digest`
a SHA-256 of every document with its members and golden values sorted (the same on any code that
builds the same documents); with `--md5 FILE` the MD5 of every document's unpacked text, one
`entity_id md5` line each in entity ID order (byte-identical documents give the same file). `--code DIR` imports `resolver` from DIR (another checkout) instead
of this one. CPU seconds and peak memory hold on a shared box; wall seconds only on a quiet one.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import math
import os
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _allocated(folder: Path) -> int:
    """Bytes on disk under `folder` (a temp file's freed blocks are holes)."""
    total = 0
    for dirpath, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.stat(os.path.join(dirpath, name)).st_blocks * 512
            except FileNotFoundError:
                continue  # a temp file DuckDB removed between the listing and the stat
    return total


def _rss_gb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 2**20
    return 0.0


class Sampler:
    """Peaks of RSS, DuckDB's memory and spill (`duckdb_memory()` on its own cursor) and the temp folder."""

    def __init__(self, cursor: Any, temp: Path) -> None:
        self.cursor, self.temp = cursor, temp
        self.rss = self.held = self.spilled = self.folder = 0.0
        self.done = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.done:
            self.rss = max(self.rss, _rss_gb())
            held, spilled = self.cursor.execute("SELECT sum(memory_usage_bytes), sum(temporary_storage_bytes) "
                                                "FROM duckdb_memory()").fetchall()[0]
            self.held = max(self.held, (held or 0) / 2**30)
            self.spilled = max(self.spilled, (spilled or 0) / 2**30)
            self.folder = max(self.folder, _allocated(self.temp) / 2**30)
            time.sleep(0.25)

    def stop(self) -> None:
        self.done = True
        self.thread.join()


class Counted:
    """A connection whose statements' CPU seconds are booked by kind (their first words)."""

    def __init__(self, con: Any) -> None:
        self.con = con
        self.cpu: dict[str, float] = {}

    def execute(self, sql: str, *args: Any) -> Any:
        words = " ".join(sql.split()[:6])
        kind = next((k for k in ("doc_member_json", "doc_split_entities", "doc_split_members", "doc_split_golden",
                                 "doc_split_conflicts", "INSERT INTO serving_docs", "DELETE FROM serving_docs")
                     if k in words), "other")
        started = time.process_time()
        out = self.con.execute(sql, *args)
        self.cpu[kind] = self.cpu.get(kind, 0.0) + time.process_time() - started
        return out

    def sql(self, query: str) -> Any:
        """The sorted build's reads, booked by what they read (their Arrow tables are read by the caller)."""
        kind = next((f"sorted {k}" for k in ("golden_values", "conflicts", "doc_heads ORDER", " x.m ") if k in query),
                    "sorted other")
        return _Timed(self.con.sql(query), self.cpu, kind)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.con, name)


class _Timed:
    """A relation whose `to_arrow_table` books its CPU seconds under `kind`."""

    def __init__(self, rel: Any, cpu: dict[str, float], kind: str) -> None:
        self.rel, self.cpu, self.kind = rel, cpu, kind

    def to_arrow_table(self) -> Any:
        started = time.process_time()
        out = self.rel.to_arrow_table()
        self.cpu[self.kind] = self.cpu.get(self.kind, 0.0) + time.process_time() - started
        return out

    def to_arrow_reader(self, rows: int) -> Any:
        """The streamed read (session 40's members), its batches' CPU seconds booked as they are fetched."""
        started = time.process_time()
        reader = iter(self.rel.to_arrow_reader(rows))
        self.cpu[self.kind] = self.cpu.get(self.kind, 0.0) + time.process_time() - started
        while True:
            started = time.process_time()
            batch = next(reader, None)
            self.cpu[self.kind] = self.cpu.get(self.kind, 0.0) + time.process_time() - started
            if batch is None:
                return
            yield batch


def _digest(cur: Any, domain: str, unpack: Any) -> str:
    """SHA-256 over every document of `domain`, members and golden values sorted (checkouts before
    session 33 stored them in the order DuckDB's threads gave), in entity ID order."""
    def key(item: Any) -> str:
        return json.dumps(item, ensure_ascii=False, sort_keys=True)
    h = hashlib.sha256()
    rows = cur.execute("SELECT entity_id, doc FROM serving_docs WHERE domain = ? ORDER BY entity_id", [domain])
    while batch := rows.fetchmany(10_000):
        for entity_id, blob in batch:
            doc = json.loads(unpack(blob))
            for k in ("members", "golden"):
                doc[k] = sorted(doc[k], key=key)
            h.update(entity_id.encode() + b"\0" + key(doc).encode() + b"\n")
    return h.hexdigest()


def _md5s(cur: Any, domain: str, unpack: Any, out: Path) -> None:
    """`entity_id md5` of every document's unpacked text, in entity ID order, to `out`."""
    rows = cur.execute("SELECT entity_id, doc FROM serving_docs WHERE domain = ? ORDER BY entity_id", [domain])
    with out.open("w", encoding="utf-8") as fh:
        while batch := rows.fetchmany(10_000):
            fh.writelines(f"{e} {hashlib.md5(unpack(blob)).hexdigest()}\n" for e, blob in batch)


def run(copy: Path, domain: str, shares: int, digest: bool, md5: Path | None = None,
        flags: list[str] | None = None) -> dict[str, Any]:
    import pyarrow as pa

    from resolver.store import docs, open_store
    for flag in flags or []:  # NAME=0|1: a switch of resolver.store.docs, e.g. SCOPE_IN_MEMBERS=1
        name, value = flag.split("=")
        setattr(docs, name, bool(int(value)))
    from resolver.store.golden import build_golden, load_survivorship
    from resolver.store.store import store_memory_limit

    store = open_store(copy)
    # the store's limit as `resolve`'s save passes it (a checkout before session 40 takes none)
    limit = ({"limit": store_memory_limit()} if "limit" in inspect.signature(docs.refresh).parameters else {})
    try:
        con = store._con
        con.execute("SET enable_progress_bar = false")
        members = con.execute("SELECT count(*) FROM membership WHERE domain = ?", [domain]).fetchall()[0][0]
        if shares:
            per = math.ceil(members / shares)
            docs.members_per_statement = lambda _con: per  # type: ignore[assignment]
        con.execute("BEGIN TRANSACTION")
        try:
            build_golden(con, domain, load_survivorship(domain))
            con.execute("DELETE FROM serving_docs WHERE domain = ?", [domain])
            con.execute("CREATE TEMP TABLE doc_scope AS SELECT entity_id FROM entities WHERE domain = ?", [domain])
            counted = Counted(con)
            sampler = Sampler(store.cursor(), Path(f"{copy}.tmp"))
            pool = pa.default_memory_pool()
            arrow_before = pool.max_memory() or 0
            wall, cpu = time.perf_counter(), time.process_time()
            docs.refresh(counted, domain, "doc_scope", keep=False, narrow=False, **limit)  # type: ignore[arg-type]
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            sampler.stop()
            made = con.execute("SELECT count(*) FROM serving_docs WHERE domain = ?", [domain]).fetchall()[0][0]
            parts = docs._shares(con, domain, "membership", "doc_scope")
            out = {"docs_py": docs.__file__, "shares": shares or parts, "flags": flags, **limit, "members": members, "docs": made, "cpu_s": round(cpu, 2), "wall_s": round(wall, 2),
                   "peak_rss_gb": round(sampler.rss, 2), "duckdb_held_gb": round(sampler.held, 2),
                   "arrow_peak_gb": round((pool.max_memory() or 0) / 2**30, 2), "arrow_peak_before_gb":
                   round(arrow_before / 2**30, 2), "duckdb_spilled_gb": round(sampler.spilled, 2), "temp_folder_gb": round(sampler.folder, 2),
                   "by_statement": {k: round(v, 2) for k, v in sorted(counted.cpu.items(), key=lambda kv: -kv[1])},
                   "load": os.getloadavg()[0]}
            con.execute("SET memory_limit = '8GB'")  # the read-back sorts every document: not the step's limit
            if digest:
                out["digest"] = _digest(con, domain, docs.unpack)
            if md5:
                _md5s(con, domain, docs.unpack, md5)
            return out
        finally:
            con.execute("ROLLBACK")
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True, type=Path, help="a resolved store (read, never written)")
    parser.add_argument("--domain", default="enterprise")
    parser.add_argument("--shares", type=int, nargs="+", default=[2, 8, 32])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--work", type=Path, required=True, help="where the copy goes")
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout whose `resolver` is measured")
    parser.add_argument("--digest", action="store_true", help="also hash the documents built")
    parser.add_argument("--md5", type=Path, default=None, help="write each document's MD5 here (last run's)")
    parser.add_argument("--flag", action="append", default=[], help="NAME=0|1: set a switch of resolver.store.docs")
    args = parser.parse_args()
    from box import line as box_line  # benchmarks/box.py, the yardstick
    print(box_line(), flush=True)
    sys.path.insert(0, str(args.code.resolve()))
    args.work.mkdir(parents=True, exist_ok=True)
    copy = args.work / "bench_doc_shares.duckdb"
    if not copy.exists() or copy.stat().st_mtime < args.db.stat().st_mtime:
        shutil.copyfile(args.db, copy)
    print(json.dumps({"code": str(args.code), "db": str(args.db)}), flush=True)
    for _ in range(args.repeat):
        for shares in args.shares:
            print(json.dumps(run(copy, args.domain, shares, args.digest, args.md5, args.flag)), flush=True)


if __name__ == "__main__":
    main()
