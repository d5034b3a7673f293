"""Read queries the look-ups share, all parameterised; table and column names come only
from this module's own constants or the store's schema, never from a caller."""

from __future__ import annotations

import re
from typing import Any

import duckdb

from resolver.errors import NotFoundError
from resolver.store import Store
from resolver.store.store import DOMAINS, records_table

# Columns a look-up filters on: indexed so a point query does not scan the table. DuckDB
# (2.0) uses an index only for a lone `column = ?`: `AND domain = ?` or an IN list turns the
# point query into a scan (3 ms → 150 ms on 4.4M golden values), so queries here filter on
# the indexed column alone and check the rest in Python.
LOOKUP_COLUMNS = {
    "enterprise": ("uscc", "org_code", "reg_no", "tax_id", "name", "name_core", "trade_name",
                   "legal_rep_id", "legal_rep", "phone"),
    "person": ("id_number", "name", "phone", "birth_date"),
}
_SAFE_NAME = re.compile(r"[a-z_][a-z0-9_]*")


def check_domain(domain: str) -> str:
    if domain not in DOMAINS:
        raise NotFoundError(f"unknown domain '{domain}' (known: {', '.join(DOMAINS)})")
    return domain


def table_columns(cur: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    rows = cur.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
        [table]).fetchall()
    return [r[0] for r in rows]


def ensure_indexes(store: Store) -> list[str]:
    """Create the indexes point look-ups need (idempotent). Returns the index names created or kept.

    The store's schema (owned by resolver.store) has primary keys only; these secondary
    indexes are the API's concern, so they are added here at server start.
    """
    names = []
    cur = store.cursor()
    plan = [("golden_values", "entity_id"), ("membership", "entity_id"), ("conflicts", "entity_id")]
    for domain in DOMAINS:
        table = records_table(domain)
        have = set(table_columns(cur, table))
        plan += [(table, c) for c in LOOKUP_COLUMNS[domain] if c in have]
    for table, column in plan:
        if not (_SAFE_NAME.fullmatch(table) and _SAFE_NAME.fullmatch(column)):
            continue
        name = f"lookup_{table}_{column}"
        cur.execute(f'CREATE INDEX IF NOT EXISTS {name} ON {table} ("{column}")')
        names.append(name)
    return names


def has_records(cur: duckdb.DuckDBPyConnection, domain: str) -> bool:
    return bool(table_columns(cur, records_table(domain)))


def golden_for(cur: duckdb.DuckDBPyConnection, domain: str, entity_ids: list[str]
               ) -> dict[str, dict[str, dict[str, Any]]]:
    """entity_id → field → {value, source, source_record_id, rule}."""
    if not entity_ids:
        return {}
    out: dict[str, dict[str, dict[str, Any]]] = {e: {} for e in entity_ids}
    for entity_id in entity_ids:  # one indexed point query each: an IN list or a second predicate scans
        rows = cur.execute("SELECT field, value, source, source_record_id, rule, domain FROM golden_values "
                           "WHERE entity_id = ?", [entity_id]).fetchall()
        for field, value, source, record_id, rule, row_domain in rows:
            if row_domain == domain:
                out[entity_id][field] = {"value": value, "source": source, "source_record_id": record_id,
                                         "rule": rule}
    return out


def entity_row(cur: duckdb.DuckDBPyConnection, domain: str, entity_id: str) -> dict[str, Any] | None:
    rows = cur.execute(
        "SELECT entity_id, size, created_at, updated_at, model_version, active, domain FROM entities "
        "WHERE entity_id = ?", [entity_id]).fetchall()
    if not rows or rows[0][-1] != domain:
        return None
    names = ("entity_id", "size", "created_at", "updated_at", "model_version", "active")
    return dict(zip(names, rows[0][:-1], strict=True))


def member_records(cur: duckdb.DuckDBPyConnection, domain: str, entity_id: str) -> list[dict[str, Any]]:
    """The entity's source records, every stored column, plus `since`."""
    table = records_table(domain)
    members = cur.execute("SELECT unique_id, since FROM membership WHERE entity_id = ?", [entity_id]).fetchall()
    if not members:
        return []
    since = dict(members)
    rows = []
    for unique_id, _ in members:  # indexed point queries: an IN list scans the table
        query = cur.execute(f"SELECT * FROM {table} WHERE unique_id = ?", [unique_id])
        names = [d[0] for d in query.description]
        rows += [dict(zip(names, row, strict=True)) for row in query.fetchall()]
    for row in rows:
        row["since"] = since.get(row["unique_id"])
    return sorted(rows, key=lambda r: (str(r["source"]), str(r["source_record_id"])))


def conflicts_for(cur: duckdb.DuckDBPyConnection, domain: str, entity_id: str) -> list[dict[str, Any]]:
    rows = cur.execute(
        "SELECT field, value, source, source_record_id, domain FROM conflicts WHERE entity_id = ? "
        "ORDER BY field, value", [entity_id]).fetchall()
    names = ("field", "value", "source", "source_record_id")
    return [dict(zip(names, r[:-1], strict=True)) for r in rows if r[-1] == domain]


def entities_of(cur: duckdb.DuckDBPyConnection, unique_ids: list[str]) -> dict[str, str]:
    """unique_id → master ID for the records that belong to an entity."""
    out: dict[str, str] = {}
    for unique_id in dict.fromkeys(unique_ids):  # point queries on the primary key (see LOOKUP_COLUMNS)
        rows = cur.execute("SELECT entity_id FROM membership WHERE unique_id = ?", [unique_id]).fetchall()
        if rows:
            out[unique_id] = rows[0][0]
    return out
