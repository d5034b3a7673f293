"""Read queries the look-ups share, all parameterised; table and column names come only
from this module's own constants or the store's schema, never from a caller."""

from __future__ import annotations

import re
from typing import Any

import duckdb

from resolver.errors import NotFoundError
from resolver.store import Store
from resolver.store.store import DOMAINS, records_table

# Columns a look-up filters on: indexed so a point query does not scan the table.
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
    marks = ", ".join("?" for _ in entity_ids)
    rows = cur.execute(
        "SELECT entity_id, field, value, source, source_record_id, rule FROM golden_values "
        f"WHERE entity_id IN ({marks}) AND domain = ?", [*entity_ids, domain]).fetchall()
    out: dict[str, dict[str, dict[str, Any]]] = {e: {} for e in entity_ids}
    for entity_id, field, value, source, record_id, rule in rows:
        out[entity_id][field] = {"value": value, "source": source, "source_record_id": record_id,
                                 "rule": rule}
    return out


def entity_row(cur: duckdb.DuckDBPyConnection, domain: str, entity_id: str) -> dict[str, Any] | None:
    rows = cur.execute(
        "SELECT entity_id, size, created_at, updated_at, model_version, active FROM entities "
        "WHERE entity_id = ? AND domain = ?", [entity_id, domain]).fetchall()
    if not rows:
        return None
    names = ("entity_id", "size", "created_at", "updated_at", "model_version", "active")
    return dict(zip(names, rows[0], strict=True))


def member_records(cur: duckdb.DuckDBPyConnection, domain: str, entity_id: str) -> list[dict[str, Any]]:
    """The entity's source records, every stored column, plus `since`."""
    table = records_table(domain)
    members = cur.execute("SELECT unique_id, since FROM membership WHERE entity_id = ?", [entity_id]).fetchall()
    if not members:
        return []
    since = dict(members)
    marks = ", ".join("?" for _ in members)  # placeholders only: ids reach SQL as parameters
    query = cur.execute(f"SELECT * FROM {table} WHERE unique_id IN ({marks}) ORDER BY source, source_record_id",
                        [m[0] for m in members])
    names = [d[0] for d in query.description]
    rows = [dict(zip(names, row, strict=True)) for row in query.fetchall()]
    for row in rows:
        row["since"] = since.get(row["unique_id"])
    return rows


def conflicts_for(cur: duckdb.DuckDBPyConnection, domain: str, entity_id: str) -> list[dict[str, Any]]:
    rows = cur.execute(
        "SELECT field, value, source, source_record_id FROM conflicts WHERE entity_id = ? AND domain = ? "
        "ORDER BY field, value", [entity_id, domain]).fetchall()
    names = ("field", "value", "source", "source_record_id")
    return [dict(zip(names, r, strict=True)) for r in rows]


def entities_of(cur: duckdb.DuckDBPyConnection, unique_ids: list[str]) -> dict[str, str]:
    """unique_id → master ID for the records that belong to an entity."""
    if not unique_ids:
        return {}
    marks = ", ".join("?" for _ in unique_ids)
    rows = cur.execute(f"SELECT unique_id, entity_id FROM membership WHERE unique_id IN ({marks})",
                       unique_ids).fetchall()
    return dict(rows)
