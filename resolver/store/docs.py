"""Serving documents: one JSON text per entity (entity row, golden values with lineage, member
source records, conflicts), kept by the store in `serving_docs` beside the tables it is built
from. A look-up by master ID is then one indexed point read of one column: reading the
same facts from their own tables took a dozen point reads of wide rows (~12 ms at 1M
records; DuckDB decompresses a vector per column per read) against ~0.5 ms for the document.

Documents hold unmasked values; masking happens when they are shown (resolver.lookup.entity).
The store rewrites the documents of every entity a write touches, inside the write's own
transaction (`refresh`), so they never disagree with the tables.
"""

from __future__ import annotations

import duckdb

from resolver.store.points import in_scope

TABLE = "serving_docs"
# The documents a scoped refresh wrote, kept to the end of its transaction (Store.transaction
# drops it): the server's listener reads them back from here, not from the whole table (one
# scan of it was ~0.4 s for the ~3k documents of a 2,000-record write at 1M records).
FRESH = "docs_written"
CREATE = f"CREATE TABLE IF NOT EXISTS {TABLE} (entity_id VARCHAR PRIMARY KEY, domain VARCHAR, doc VARCHAR)"


def _iso(expr: str, with_zone: bool) -> str:
    """A timestamp as ISO 8601 text, as Python's isoformat writes it (UTC when it has a zone)."""
    if with_zone:
        return f"strftime(timezone('UTC', {expr}), '%Y-%m-%dT%H:%M:%S.%f') || '+00:00'"
    return f"strftime({expr}, '%Y-%m-%dT%H:%M:%S.%f')"


def _record_select(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """SELECT of the records table with timestamp columns replaced by their ISO text."""
    replaced = []
    for name, ctype, *_ in con.execute(f"DESCRIBE {table}").fetchall():
        quoted = f'"{name}"'
        if ctype.startswith("TIMESTAMP"):
            replaced.append(f"{_iso(quoted, 'TIME ZONE' in ctype)} AS {quoted}")
        elif ctype == "DOUBLE":  # pandas' missing number arrives as NaN, which JSON has no word for
            replaced.append(f'CASE WHEN isnan("{name}") THEN NULL ELSE "{name}" END AS "{name}"')
    star = f"* REPLACE ({', '.join(replaced)})" if replaced else "*"
    return f"SELECT {star} FROM {table}"


def _docs_sql(con: duckdb.DuckDBPyConnection, domain: str, scope: str | None,
             records: str | None = None, membership: str = "membership",
             golden: tuple[str, str] = ("golden_values", "conflicts")) -> str:
    """SELECT entity_id, domain, doc for the domain's entities (those in table `scope` if given).
    `records`, `membership` and `golden` (golden values, conflicts) name the tables read
    (defaults: the store's)."""
    def only(column: str) -> str:
        return f"AND {in_scope(con, column, scope)}" if scope else ""

    table = records or f"records_{domain}"
    has_records = bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?",
                                   [table]).fetchall()[0][0])
    # the member's row with `since` added as a struct field: the same text as merging a JSON
    # patch into its JSON, ~20 % less CPU for the documents of a 2,000-record write
    members = (f"""SELECT mb.entity_id, list(to_json(struct_insert(r, since := {_iso('mb.since', False)})))
                   AS members FROM {membership} mb JOIN ({_record_select(con, table)}) r USING (unique_id)
                   WHERE mb.domain = '{domain}' {only('mb.entity_id')} GROUP BY mb.entity_id"""
               if has_records else "SELECT NULL::VARCHAR AS entity_id, NULL::JSON[] AS members LIMIT 0")
    return f"""
        WITH m AS ({members}),
        g AS (SELECT entity_id, list({{'field': field, 'value': value, 'source': source,
                     'source_record_id': source_record_id, 'rule': rule}}) AS golden
              FROM {golden[0]} WHERE domain = '{domain}' {only('entity_id')} GROUP BY entity_id),
        c AS (SELECT entity_id, list({{'field': field, 'value': value, 'source': source,
                     'source_record_id': source_record_id}}) AS conflicts
              FROM {golden[1]} WHERE domain = '{domain}' {only('entity_id')} GROUP BY entity_id)
        SELECT e.entity_id, e.domain, to_json({{
            'entity_id': e.entity_id, 'size': e.size, 'created_at': {_iso('e.created_at', False)},
            'updated_at': {_iso('e.updated_at', False)}, 'model_version': e.model_version, 'active': e.active,
            'golden': coalesce(g.golden, []), 'members': coalesce(m.members, []),
            'conflicts': coalesce(c.conflicts, [])}})::VARCHAR AS doc
        FROM entities e LEFT JOIN m USING (entity_id) LEFT JOIN g USING (entity_id) LEFT JOIN c USING (entity_id)
        WHERE {in_scope(con, 'e.entity_id', scope) if scope else f"e.domain = '{domain}'"}"""


def refresh(con: duckdb.DuckDBPyConnection, domain: str, scope: str | None = None, *,
            records: str | None = None, golden: tuple[str, str] | None = None, keep: bool = True) -> None:
    """Rewrite the documents of the domain's entities (only those listed in table `scope` if given).

    Call inside the transaction that changed them. `domain`, `scope` and the table names are
    the store's own (never caller text): they are spliced into the SQL. A scoped refresh reads
    the scope's members first and then only their records: joining the whole records table
    cost ~0.2 s a write at 1M records whatever the scope. `records` may name a table holding
    every member's record (the incremental path's neighbourhood) and `golden` the tables of
    the scope's new golden values and conflicts (resolver.store.golden.build_golden), read
    instead of the store's whole tables. Without `keep` a scoped refresh writes its documents
    straight to the table and not also to `FRESH` (nobody listens to the file: for 100k
    entities the copy was ~600 MB of text written twice).
    """
    con.execute(CREATE)
    con.execute(f"DROP TABLE IF EXISTS {FRESH}")  # only the last refresh's are kept, the others are in TABLE
    if not scope:
        con.execute(f"DELETE FROM {TABLE} WHERE domain = ?", [domain])
        con.execute(f"INSERT INTO {TABLE} {_docs_sql(con, domain, None)}")
        return
    con.execute(f"DELETE FROM {TABLE} WHERE {in_scope(con, 'entity_id', scope)}")
    table = records or f"records_{domain}"
    tables = golden or ("golden_values", "conflicts")
    if not bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?",
                            [table]).fetchall()[0][0]):
        con.execute(f"INSERT INTO {TABLE} {_docs_sql(con, domain, scope, golden=tables)}")
        return
    con.execute(f"CREATE OR REPLACE TEMP TABLE doc_members AS SELECT * FROM membership "
                f"WHERE {in_scope(con, 'entity_id', scope)}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE doc_records AS SELECT * FROM {table} "
                "WHERE unique_id IN (SELECT unique_id FROM doc_members)")
    built = _docs_sql(con, domain, scope, "doc_records", "doc_members", tables)
    if keep:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {FRESH} AS {built}")
        con.execute(f"INSERT INTO {TABLE} SELECT * FROM {FRESH}")
    else:
        con.execute(f"INSERT INTO {TABLE} {built}")
    con.execute("DROP TABLE doc_records")
    con.execute("DROP TABLE doc_members")


def read(cur: duckdb.DuckDBPyConnection, entity_id: str) -> tuple[str, str] | None:
    """(domain, JSON document) of one master ID, or None."""
    rows = cur.execute(f"SELECT domain, doc FROM {TABLE} WHERE entity_id = ?", [entity_id]).fetchall()
    return (rows[0][0], rows[0][1]) if rows else None


# Point reads use the index (~1-5 ms each at 1M); a list uses none, so above this many IDs one
# scan of the table (0.6-1.4 s at 1M for 2.8k documents) is cheaper than the point reads.
POINT_READS_UP_TO = 200


def read_many(cur: duckdb.DuckDBPyConnection, entity_ids: list[str]) -> dict[str, tuple[str, str] | None]:
    """(domain, JSON document) of each master ID, None for those without one."""
    if len(entity_ids) <= POINT_READS_UP_TO:
        return {e: read(cur, e) for e in entity_ids}
    found: dict[str, tuple[str, str] | None] = dict.fromkeys(entity_ids)
    rows = cur.execute(f"SELECT entity_id, domain, doc FROM {TABLE} WHERE entity_id IN (SELECT unnest(?))",
                       [entity_ids]).fetchall()
    found.update((e, (d, doc)) for e, d, doc in rows)
    return found


def read_written(cur: duckdb.DuckDBPyConnection, entity_ids: list[str]) -> dict[str, tuple[str, str] | None]:
    """`read_many` for the writing transaction (`cur` its connection): the documents its last
    refresh wrote come from that refresh's temp table, the others from the store's table."""
    found: dict[str, tuple[str, str] | None] = {}
    if cur.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = ?", [FRESH]).fetchall()[0][0]:
        rows = cur.execute(f"SELECT entity_id, domain, doc FROM {FRESH} WHERE entity_id IN (SELECT unnest(?))",
                           [entity_ids]).fetchall()
        found = {e: (d, doc) for e, d, doc in rows}
    rest = [e for e in entity_ids if e not in found]
    return {**found, **read_many(cur, rest)} if rest else found
