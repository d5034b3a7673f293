"""The reads of the one incremental path (resolver.incremental), inside the ingest's own
transaction: the neighbourhood of the touched records (`read`), found by the model's blocking
keys and caps (`search`) or given by the caller's index. `keys` are resolver.linking.rules
BlockingKey objects (the store does not import the linker's types)."""

from __future__ import annotations

from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from resolver.store import described, points
from resolver.store.points import in_scope

RECORDS = "hood_records"  # temp table of the neighbourhood's records, left for the caller to drop
BEFORE = "hood_before"  # temp table of `gather`: each neighbourhood record's entity before the write
# Record metadata no scoring or constraint reads: the raw row alone made the frame ~4x slower to build.
_NOT_LINKED = ("raw", "record_hash", "file", "ingested_at")
# Up to this many members' entities go into `read`'s SQL as a literal CASE; more, as a temp table
# (in memory: a CASE of 2 / 20 / 50 / 5,000 literals 1.2 / 2.4 / 6.8 / 872 ms, the table and its
# join 2.0 / 2.6 / 4.1 / 35 ms).
CASE_UP_TO = 20
# `read`'s frame from Arrow (False: DuckDB's `.df()`, which built each text column from Python
# objects: ~90-140 ms of CPU for 9,500 rows against ~35-50)
ARROW_FRAME = True
_TEXT = pd.StringDtype("pyarrow", na_value=np.nan)  # the text dtype `.df()` gives


def _converts(kind: pa.DataType, nulls: int) -> bool:
    """Whether a column of `kind` converts from Arrow as `.df()` makes it (the records' types)."""
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return _converts(kind.value_type, 0)
    return (pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_boolean(kind)
            or pa.types.is_floating(kind) or (pa.types.is_integer(kind) and not nulls))


def frame_of(con: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    """The result of `sql` as the frame `.df()` makes of it, dtypes and missing values alike
    (a text column all NULL is object of None, a NULL list pd.NA), converted from Arrow."""
    if not ARROW_FRAME:
        return con.execute(sql).df()
    table = con.sql(sql).to_arrow_table()
    if not all(_converts(f.type, c.null_count) for f, c in zip(table.schema, table.columns, strict=True)):
        return con.execute(sql).df()  # a type not checked against `.df()` (a decimal, a date): read it so
    frame = table.to_pandas(types_mapper={pa.string(): _TEXT, pa.large_string(): _TEXT,
                                          pa.bool_(): pd.BooleanDtype()}.get)
    for name, column in zip(table.column_names, table.columns, strict=True):
        kind = column.type
        if (pa.types.is_string(kind) or pa.types.is_large_string(kind)) and column.null_count == len(column):
            frame[name] = pd.Series([None] * len(column), dtype=object, index=frame.index)
        elif (pa.types.is_list(kind) or pa.types.is_large_list(kind)) and column.null_count:
            frame[name] = frame[name].where(frame[name].notna(), pd.NA)
    return frame


def read(con: duckdb.DuckDBPyConnection, domain: str, table: str, touched: list[str], keys: list[Any],
         found: set[str] | None) -> pd.DataFrame:
    """Touched records, existing records sharing a bounded blocking key with one (`found`, or
    searched here), and their entities' members: their rows (without `_NOT_LINKED`) with `_entity_before` (their
    entity, None for new records), read through `con` (inside the ingest's transaction). Their
    records are also left in the temp table `RECORDS` (the caller drops it)."""
    few = gather_few(con, table, touched, found) if found is not None else None
    if few is None:
        gather(con, table, touched, keys, found)
    have = {name for name, _ in described.columns(con, RECORDS)}
    drop = ", ".join(f'"{c}"' for c in _NOT_LINKED if c in have)
    if few is not None and len(few) > CASE_UP_TO:  # a large entity's members: a table, not a CASE of thousands
        con.execute(f"CREATE OR REPLACE TEMP TABLE {BEFORE} AS SELECT unnest(?::VARCHAR[]) AS unique_id, "
                    "unnest(?::VARCHAR[]) AS entity_id", [list(few), list(few.values())])
        few = None
    if few is None:  # `gather` kept each row's entity (BEFORE): no second scan of the membership
        before, rows = "m.entity_id", f"{RECORDS} t LEFT JOIN {BEFORE} m USING (unique_id)"
    else:  # `gather_few` read each member's entity: a literal CASE, no read of the membership again
        before, rows = _entity_case(few), f"{RECORDS} t"
    frame = frame_of(con,
        f"SELECT t.* {f'EXCLUDE ({drop})' if drop else ''}, {before} AS _entity_before FROM {rows} "
        # in one order: new entities are numbered in the order of their clusters' first records,
        # and a multi-threaded scan's order varies from run to run
        "ORDER BY t.unique_id")
    if few is None:  # (none made for a CASE)
        con.execute(f"DROP TABLE IF EXISTS {BEFORE}")
    return frame


def gather_few(con: duckdb.DuckDBPyConnection, table: str, touched: list[str], found: set[str]) -> dict[str, str] | None:
    """`gather` for a write of a few records whose neighbours the caller found (the server's
    index): the IDs go to DuckDB as literal lists (index look-ups) from Python, where `gather`
    made temp tables and asked for their IDs back (~10 statements). Returns the entity of each
    record already in one among those left in `RECORDS` (the touched records new to the store
    are there too), or None (nothing done) when the records near are more than POINTS_UP_TO."""
    near = sorted(set(found) | set(touched))
    if len(near) > points.POINTS_UP_TO:
        return None
    entities = [r[0] for r in con.execute(
        f"SELECT DISTINCT entity_id FROM membership WHERE {points.literal_in('unique_id', near)}").fetchall()]
    if len(entities) > points.POINTS_UP_TO:
        return None
    members = dict(con.execute(
        f"SELECT unique_id, entity_id FROM membership WHERE {points.literal_in('entity_id', entities)}").fetchall())
    ids = sorted(set(touched) | set(members))
    if len(ids) <= points.POINTS_UP_TO:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {RECORDS} AS SELECT * FROM {table} "
                    f"WHERE {points.literal_in('unique_id', ids)}")
    else:  # a large entity: its members by a join, as `gather` reads them
        con.register("hood_id_list", pd.DataFrame({"unique_id": ids}, dtype="object"))
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {RECORDS} AS SELECT * FROM {table} "
                        "WHERE unique_id IN (SELECT unique_id FROM hood_id_list)")
        finally:
            con.unregister("hood_id_list")
    return members


def _entity_case(entity_of: dict[str, str]) -> str:
    """SQL: the entity of `t.unique_id` in `entity_of`, NULL for a record not there (as the LEFT
    JOIN of the membership it replaces; ~4 ms of a one-record write at 1M records)."""
    if not entity_of:
        return "CAST(NULL AS VARCHAR)"
    whens = " ".join(f"WHEN {points._literal(u)} THEN {points._literal(e)}" for u, e in sorted(entity_of.items()))
    return f"CASE t.unique_id {whens} END"


def gather(con: duckdb.DuckDBPyConnection, table: str, touched: list[str], keys: list[Any],
           found: set[str] | None) -> None:
    """Leave in the temp table `RECORDS` the rows of the touched records, of the existing records
    sharing a bounded blocking key with one (`found`, or searched here) and of every member of
    their entities."""
    con.register("touched_ids", pd.DataFrame({"unique_id": touched}, dtype="object"))
    try:
        if found is None:
            search(con, table, keys)
        else:
            con.register("found_ids", pd.DataFrame({"unique_id": sorted(found)}, dtype="object"))
            con.execute("CREATE OR REPLACE TEMP TABLE hood AS SELECT unique_id FROM found_ids")
            con.unregister("found_ids")
        # their entities, then those entities' members: by literal IDs when few (index look-ups
        # where subqueries scan the 1M membership rows, resolver.store.points)
        near = "(SELECT unique_id FROM hood UNION SELECT unique_id FROM touched_ids)"
        con.execute("CREATE OR REPLACE TEMP TABLE hood_entities AS SELECT DISTINCT entity_id FROM membership "
                    f"WHERE {in_scope(con, 'unique_id', near, 'unique_id')}")
        # with each member's entity, kept for `read` (a touched record new to the store has none)
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {BEFORE} AS SELECT unique_id, max(entity_id) AS entity_id FROM "
            "(SELECT unique_id, NULL::VARCHAR AS entity_id FROM touched_ids UNION ALL "
            f"SELECT unique_id, entity_id FROM membership WHERE {in_scope(con, 'entity_id', 'hood_entities')}) "
            "GROUP BY unique_id")
        con.execute("DROP TABLE hood_entities")
        # Kept to the end of the transaction: every member of an entity the write changes is
        # here, so golden records and documents read these rows, not the whole table again.
        members = in_scope(con, "unique_id", BEFORE, "unique_id")
        con.execute(f"CREATE OR REPLACE TEMP TABLE {RECORDS} AS SELECT * FROM {table} WHERE {members}")
        con.execute("DROP TABLE hood")
    finally:
        con.unregister("touched_ids")


def touched_ids(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """Records of the view `incoming_hashes` (unique_id, record_hash) that are new or whose values changed."""
    rows = con.execute(
        f"SELECT i.unique_id FROM incoming_hashes i LEFT JOIN {table} t USING (unique_id) "
        "WHERE t.unique_id IS NULL OR t.record_hash <> i.record_hash").fetchall()
    return [r[0] for r in rows]


def search(con: duckdb.DuckDBPyConnection, table: str, keys: list[Any]) -> None:
    """Fill temp table `hood` with the records sharing a blocking key value of `touched_ids`
    whose block is within the key's cap (counted over the whole table, as a full run does)."""
    from resolver.engines.inputs import key_expression

    # only the keys' columns: the whole rows (the raw line too) of 100k touched records were ~0.5 s
    wanted = ", ".join(f'"{c}"' for c in sorted({c for key in keys for c in key.columns}))
    con.execute(f"CREATE OR REPLACE TEMP TABLE touched_rows AS SELECT {wanted or 'unique_id'} FROM {table} "
                "WHERE unique_id IN (SELECT unique_id FROM touched_ids)")
    con.execute("CREATE OR REPLACE TEMP TABLE hood (unique_id VARCHAR)")
    for key in keys:
        expr = key_expression(key)
        cap = f"HAVING count(*) <= {int(key.max_block_size)}" if key.max_block_size else ""
        # Rows whose every key column holds a value of a touched record: a superset of the rows
        # sharing a key value with one, found by hash probes on plain columns (computing the key
        # over the whole table cost ~1 s per call at 500k records).
        near = " AND ".join(f'"{c}" IN (SELECT "{c}" FROM touched_rows)' for c in key.columns)
        con.execute(
            f"INSERT INTO hood WITH cand AS (SELECT unique_id, {expr} AS k FROM {table} WHERE {near}) "
            f"SELECT unique_id FROM cand WHERE k IN (SELECT {expr} FROM touched_rows) "
            f"AND k IN (SELECT k FROM cand GROUP BY k {cap})")
    con.execute("DROP TABLE touched_rows")
