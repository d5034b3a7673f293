"""Check that two checkouts' `ingest --incremental` leave the same store: run one checkout's
ingest of the benchmark's file (benchmarks/bench_incremental.py, same seed) into a copy of a
master and write a digest of what it left, then compare two digests.

The digest holds, per table, the row count and an order-free sum of a hash of every row with
its timestamp columns left out (they hold the run's clock); per document, its unpacked JSON
text with the clock's values (`created_at`, `updated_at`, `since`, `ingested_at`) blanked, as
it is (members by source and record ID, golden values by field since session 33: the same between
two runs) and with its members and golden values sorted (what compares with an older checkout,
whose order followed DuckDB's threads); and
the returned result (counts, placements, moved records); each document's hash goes beside the
digest (OUT with suffix .docs.json) to find the ones that differ. The file and the store copy sit at
the same paths in every run, so the records' `file` column is the same too.

Usage: PYTHONPATH=CHECKOUT python benchmarks/compare_incremental.py run --db MASTER.duckdb
           --fixtures DIR --records 100000 --workdir DIR --out A.json
       python benchmarks/compare_incremental.py diff A.json B.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, os.environ.get("PYTHONPATH") or str(ROOT))
sys.path.insert(1, str(ROOT))
sys.path.insert(2, str(ROOT / "benchmarks"))

_CLOCK = re.compile(rb'"(created_at|updated_at|since|ingested_at)":"[^"]*"')


def _sum_hash(texts: list[bytes]) -> int:
    return sum(int.from_bytes(hashlib.blake2b(t, digest_size=16).digest(), "little") for t in texts)


def digest(db: Path) -> dict[str, Any]:
    import duckdb
    import orjson

    from resolver.store.docs import unpack

    con = duckdb.connect(str(db), read_only=True)
    out: dict[str, Any] = {}
    tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT temporary "
                                        "ORDER BY 1").fetchall()]
    for table in tables:
        if table == "serving_docs":
            continue
        cols = [f'"{name}"' for name, ctype, *_ in con.execute(f'DESCRIBE "{table}"').fetchall()
                if not ctype.startswith("TIMESTAMP")]
        n, h = con.execute(f'SELECT count(*), coalesce(sum(hash(ROW({", ".join(cols)}))::HUGEINT), 0) '
                           f'FROM "{table}"').fetchall()[0]
        out[table] = [int(n), str(h)]
    total, canonical, count = 0, 0, 0
    per_doc: dict[str, str] = {}
    cur = con.execute("SELECT entity_id, domain, doc FROM serving_docs")
    while rows := cur.fetchmany(50_000):
        for e, d, doc in rows:
            text = _CLOCK.sub(rb'"\1":"-"', unpack(doc))
            key = e.encode() + b"\0" + (d or "").encode() + b"\0"
            total += _sum_hash([key + text])
            per_doc[e] = hashlib.blake2b(text, digest_size=8).hexdigest()
            # sorted: checkouts before session 33 stored members and golden values in the order
            # DuckDB's threads gave them
            parsed = orjson.loads(text)
            for part in ("members", "golden"):
                parsed[part] = sorted(parsed.get(part, []), key=lambda v: orjson.dumps(v, option=orjson.OPT_SORT_KEYS))
            canonical += _sum_hash([key + orjson.dumps(parsed, option=orjson.OPT_SORT_KEYS)])
        count += len(rows)
    out["serving_docs"] = [count, str(total % 2**128)]
    out["serving_docs (members, golden sorted)"] = [count, str(canonical % 2**128)]
    out["_per_doc"] = per_doc
    con.close()
    return out


def run(args: argparse.Namespace) -> None:
    from bench_incremental import new_tax_file

    from resolver.incremental import ingest_incremental
    from resolver.store import open_store

    work = args.workdir
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    db, file = work / "master.duckdb", work / "new_tax.csv"
    shutil.copy(args.db, db)
    new_tax_file(args.fixtures, file, args.records, args.updates)
    store = open_store(db)
    started = time.process_time()
    result = ingest_incremental(store, ROOT / "matching_rules" / "sources" / "tax.yaml", file)
    cpu = time.process_time() - started
    store.close()
    placements = sorted(json.dumps([p.unique_id, p.entity_id, p.action, p.match_probability, p.reason])
                        for p in result.placements)
    account = dict(result.counts.account or {})
    summary = {"counts": [result.counts.read, result.counts.loaded, result.counts.updated,
                          result.counts.unchanged, result.counts.quarantined],
               "account": json.loads(json.dumps(account, sort_keys=True, default=str)),
               "touched": result.touched, "neighbourhood": result.neighbourhood, "joined": result.joined,
               "created": result.created, "model_version": result.model_version,
               "placements": [len(placements), str(_sum_hash([p.encode() for p in placements]))],
               "moved": [len(result.moved), str(_sum_hash([f"{u}\0{e}".encode() for u, e in result.moved.items()]))]}
    out = {"code": os.environ.get("PYTHONPATH") or str(ROOT), "cpu_s": round(cpu, 1), "result": summary,
           "tables": digest(db)}
    per_doc = out["tables"].pop("_per_doc")
    args.out.with_suffix(".docs.json").write_text(json.dumps(per_doc), encoding="utf-8")
    args.out.write_text(json.dumps(out, indent=1, sort_keys=True), encoding="utf-8")
    shutil.rmtree(work)
    print(f"{out['code']}: {cpu:.1f} CPU s; digest in {args.out}")


def diff(a_path: Path, b_path: Path) -> int:
    a, b = (json.loads(p.read_text(encoding="utf-8")) for p in (a_path, b_path))
    bad = 0
    for part in ("result", "tables"):
        for name in sorted(set(a[part]) | set(b[part])):
            same = a[part].get(name) == b[part].get(name)
            bad += not same
            print(f"{'same' if same else 'DIFFERENT':9s} {part}.{name}: {a[part].get(name)}"
                  + ("" if same else f" vs {b[part].get(name)}"))
    print("IDENTICAL" if not bad else f"{bad} DIFFERENCES")
    return 1 if bad else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--db", type=Path, required=True)
    r.add_argument("--fixtures", type=Path, required=True)
    r.add_argument("--records", type=int, default=10_000)
    r.add_argument("--updates", type=float, default=0.2)
    r.add_argument("--workdir", type=Path, required=True, help="emptied; the store copy and file go here")
    r.add_argument("--out", type=Path, required=True)
    d = sub.add_parser("diff")
    d.add_argument("a", type=Path)
    d.add_argument("b", type=Path)
    args = ap.parse_args()
    if args.cmd == "run":
        run(args)
    else:
        sys.exit(diff(args.a, args.b))


if __name__ == "__main__":
    main()
