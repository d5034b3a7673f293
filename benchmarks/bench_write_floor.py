"""The floor of a POST /records write: what DuckDB's writes alone cost when every row they need
is already in memory (no neighbourhood read, no scoring, no golden values or documents computed).

    python benchmarks/bench_write_floor.py --db /work/bench/s30/1m/master.duckdb --workdir /tmp/floor \\
        --records 2000 --rounds 3

On a copy of the master: `--records` stored enterprise records are copied under new IDs into
their originals' entities, in one transaction that inserts the records and their members,
updates the entities, deletes their golden rows by rowid and inserts them again, rewrites their
documents, adds one history event each, and commits. Prints each statement's CPU/wall ms and the
transaction's CPU seconds (the process's, DuckDB's threads included). The copies are taken out
again between rounds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

import duckdb
import pyarrow as pa


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, required=True, help="a resolved master (copied first)")
    ap.add_argument("--workdir", type=Path, required=True)
    ap.add_argument("--records", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    db = args.workdir / "master.duckdb"
    shutil.copy(args.db, db)
    con = duckdb.connect(str(db))
    con.execute("SET memory_limit = '2GB'")
    records = con.execute(f"SELECT * FROM records_enterprise USING SAMPLE {args.records} ROWS (reservoir, 7)"
                          ).to_arrow_table()
    ids = records.column("unique_id").to_pylist()
    copies = [f"floor:{n}" for n in range(len(ids))]
    records = records.set_column(records.schema.get_field_index("unique_id"), "unique_id", pa.array(copies))
    entity_of = dict(con.execute("SELECT unique_id, entity_id FROM membership WHERE unique_id IN (SELECT unnest(?))",
                                 [ids]).fetchall())
    entities = sorted(set(entity_of.values()))
    members = pa.table({"unique_id": copies, "domain": ["enterprise"] * len(ids),
                        "entity_id": [entity_of[i] for i in ids]})
    golden = con.execute("SELECT rowid AS _row, * FROM golden_values WHERE entity_id IN (SELECT unnest(?))",
                         [entities]).to_arrow_table()
    rows, golden = golden.column("_row").to_pylist(), golden.drop(["_row"])
    docs = con.execute("SELECT * FROM serving_docs WHERE entity_id IN (SELECT unnest(?))", [entities]).to_arrow_table()
    print(f"{len(ids)} records, {len(entities)} entities, {len(rows)} golden rows, {docs.num_rows} documents")
    for name, table in (("records_in", records), ("members_in", members), ("golden_in", golden), ("docs_in", docs)):
        con.register(name, table)
    statements = [
        ("BEGIN", "BEGIN", None),
        ("records", "INSERT INTO records_enterprise SELECT * FROM records_in", None),
        ("membership", "INSERT INTO membership SELECT unique_id, domain, entity_id, now(), 'floor' FROM members_in",
         None),
        ("entities", "UPDATE entities SET size = size + 1, updated_at = now() WHERE entity_id IN (SELECT unnest(?))",
         "entities"),
        ("golden delete by rowid", "DELETE FROM golden_values WHERE rowid IN (SELECT unnest(?))", "rows"),
        ("golden insert", "INSERT INTO golden_values SELECT * FROM golden_in", None),
        ("documents", "UPDATE serving_docs SET doc = d.doc FROM docs_in d WHERE serving_docs.entity_id = d.entity_id",
         None),
        ("history", "INSERT INTO entity_history (event_at, domain, event, entity_id) "
                    "SELECT now(), 'enterprise', 'joined', unnest(?)", "entities"),
        ("COMMIT", "COMMIT", None),
    ]
    for n in range(args.rounds):
        params = {"entities": [entities], "rows": [rows]}
        notes = []
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for label, sql, param in statements:
            c, w = time.process_time(), time.perf_counter()
            con.execute(sql, params[param] if param else None)
            notes.append(f"{label} {(time.process_time() - c) * 1000:.0f}/{(time.perf_counter() - w) * 1000:.0f}")
        print(f"round {n}: {time.process_time() - cpu0:.3f} CPU s, {time.perf_counter() - wall0:.3f} s wall, "
              f"load {os.getloadavg()[0]:.1f}; CPU/wall ms: " + ", ".join(notes), flush=True)
        con.execute("BEGIN")
        con.execute("DELETE FROM membership WHERE unique_id LIKE 'floor:%'")
        con.execute("DELETE FROM records_enterprise WHERE unique_id LIKE 'floor:%'")
        con.execute("COMMIT")
        rows = [r[0] for r in con.execute("SELECT rowid FROM golden_values WHERE entity_id IN (SELECT unnest(?))",
                                          [entities]).fetchall()]


if __name__ == "__main__":
    main()
