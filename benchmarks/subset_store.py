"""A 1/N subset of a resolved store, of one distribution with it: for growth ratios.

    python benchmarks/subset_store.py --db STORE --out SUBSET [--every 10] [--keep 0]

Keeps the entities whose ID hashes to `keep` of `every` (`hash(entity_id) % every = keep`, both
domains), and with them every row that names them: their membership, golden values, conflicts,
documents, history, relations; the source records of their members; the pairs whose two ends
are both kept. Tables that name neither (meta, models, runs) are copied whole. The rows are
written afresh into SUBSET (`COPY FROM DATABASE`), so its row groups hold no deleted rows.
STORE is read, never written: the deletes run on a scratch copy beside SUBSET.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import duckdb


def keep_condition(columns: list[str], every: int, keep: int) -> str | None:
    """The WHERE that keeps a table's rows of the subset; None: keep them all."""
    if "entity_id" in columns:
        return f"hash(entity_id) % {every} = {keep}"
    if "unique_id" in columns:
        return "unique_id IN (SELECT unique_id FROM membership)"
    if "unique_id_l" in columns:
        return ("unique_id_l IN (SELECT unique_id FROM membership) "
                "AND unique_id_r IN (SELECT unique_id FROM membership)")
    if "from_id" in columns:  # relations across domains: both ends kept
        return (f"hash(from_id) % {every} = {keep} AND hash(to_id) % {every} = {keep}")
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--every", type=int, default=10)
    parser.add_argument("--keep", type=int, default=0)
    args = parser.parse_args()
    scratch = args.out.with_suffix(".scratch.duckdb")
    shutil.copyfile(args.db, scratch)
    args.out.unlink(missing_ok=True)
    con = duckdb.connect(str(scratch))
    tables = [t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()]
    # membership first: the records' and pairs' conditions read the kept membership
    for table in sorted(tables, key=lambda t: t != "membership"):
        columns = [c for (c,) in con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = ?",
                                             [table]).fetchall()]
        where = keep_condition(columns, args.every, args.keep)
        if where:
            con.execute(f"DELETE FROM {table} WHERE NOT ({where})")
        print(table, con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0], flush=True)
    con.execute(f"ATTACH '{args.out}' AS subset")
    name = con.execute("SELECT current_database()").fetchall()[0][0]
    con.execute(f'COPY FROM DATABASE "{name}" TO subset')
    con.close()
    scratch.unlink()


if __name__ == "__main__":
    main()
