"""`ingest_runs`: one row per file ingested, saying where every one of its lines went.

lines = header + title + skipped + continuation + records + quarantined, and `unaccounted`
is what is left over (0 unless the reader has a bug). `records` are new + updated +
unchanged; `detail` is JSON: the header's line numbers, skipped lines by reason (blank,
total row (合计) …) with their numbers, and notes (header found elsewhere, duplicate column
names, an encoding that overrode the mapping). Created on first use, so stores made before
it need no migration.
"""

from __future__ import annotations

import json
from typing import Any

import duckdb
import pandas as pd

_DDL = """
CREATE SEQUENCE IF NOT EXISTS ingest_run_seq;
CREATE TABLE IF NOT EXISTS ingest_runs (
    run_id BIGINT DEFAULT nextval('ingest_run_seq'), ingested_at TIMESTAMP, domain VARCHAR,
    file VARCHAR, unit VARCHAR, encoding VARCHAR, lines BIGINT, header BIGINT, title BIGINT,
    skipped BIGINT, continuation BIGINT, records BIGINT, new BIGINT, updated BIGINT,
    unchanged BIGINT, quarantined BIGINT, unaccounted BIGINT, detail VARCHAR)
"""
COLUMNS = ("file", "unit", "encoding", "lines", "header", "title", "skipped", "continuation", "records",
           "new", "updated", "unchanged", "quarantined", "unaccounted")


def record(con: duckdb.DuckDBPyConnection, domain: str, account: dict[str, Any]) -> None:
    """Store one file's account (inside the ingest's transaction)."""
    con.execute(_DDL)
    con.execute(
        f"INSERT INTO ingest_runs (ingested_at, domain, {', '.join(COLUMNS)}, detail) "
        f"VALUES (now(), ?, {', '.join('?' for _ in COLUMNS)}, ?)",
        [domain, *(account[c] for c in COLUMNS), json.dumps(account["detail"], ensure_ascii=False)])


def read(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    exists = cur.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'ingest_runs'").fetchall()
    if not exists[0][0]:
        return pd.DataFrame(columns=["run_id", "ingested_at", "domain", *COLUMNS, "detail"])
    return cur.execute("SELECT * FROM ingest_runs ORDER BY run_id").df()
