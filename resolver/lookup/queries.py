"""Read queries the look-ups share, all parameterised; table and column names come only
from this module's own constants or the store's schema, never from a caller."""

from __future__ import annotations

import re
from typing import Any

import duckdb
import orjson

from resolver.domains import domain_names, is_domain, load_schema
from resolver.errors import NotFoundError
from resolver.lookup.doc_cache import DocCache
from resolver.store import Store, docs
from resolver.store.store import records_table

_SAFE_NAME = re.compile(r"[a-z_][a-z0-9_]*")


def lookup_columns(domain: str) -> tuple[str, ...]:
    """Columns a look-up filters on: every field the schema calls searchable, with a company
    name's core and trade name. Indexed so a point query does not scan the table. DuckDB (2.0)
    uses an index only for a lone `column = ?`: `AND domain = ?` or an IN list turns the point
    query into a scan (3 ms → 150 ms on 4.4M golden values), so queries here filter on the
    indexed column alone and check the rest in Python."""
    out: list[str] = []
    for spec in load_schema(domain).fields.values():
        if spec.search:
            out.append(spec.name)
            out += [spec.parts[p] for p in ("core", "trade_name") if p in spec.parts]
    return tuple(out)


def check_domain(domain: str) -> str:
    if not is_domain(domain):
        raise NotFoundError(f"unknown domain (known: {', '.join(domain_names())})")
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
    plan = [("membership", "entity_id")]
    for domain in domain_names():
        table = records_table(domain)
        have = set(table_columns(cur, table))
        plan += [(table, c) for c in lookup_columns(domain) if c in have]
    for table, column in plan:
        if not (_SAFE_NAME.fullmatch(table) and _SAFE_NAME.fullmatch(column)):
            continue
        name = f"lookup_{table}_{column}"
        cur.execute(f'CREATE INDEX IF NOT EXISTS {name} ON {table} ("{column}")')
        names.append(name)
    return names


def has_records(cur: duckdb.DuckDBPyConnection, domain: str) -> bool:
    return bool(table_columns(cur, records_table(domain)))


DocSource = duckdb.DuckDBPyConnection | DocCache


def entity_doc(source: DocSource, domain: str, entity_id: str) -> dict[str, Any] | None:
    """The entity's serving document (resolver.store.docs), unmasked, or None; from the store
    (a cursor) or from the documents held in memory (a DocCache)."""
    found = source.get(entity_id) if isinstance(source, DocCache) else docs.read(source, entity_id)
    if found is None or found[0] != domain:
        return None
    doc: dict[str, Any] = orjson.loads(found[1])
    return doc


def golden_for(source: DocSource, domain: str, entity_ids: list[str]
               ) -> dict[str, dict[str, dict[str, Any]]]:
    """entity_id → field → {value, source, source_record_id, rule}."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for entity_id in entity_ids:  # one indexed point read each: an IN list scans
        doc = entity_doc(source, domain, entity_id)
        out[entity_id] = {g["field"]: {k: g[k] for k in ("value", "source", "source_record_id", "rule")}
                          for g in (doc["golden"] if doc else [])}
    return out


def entities_of(cur: duckdb.DuckDBPyConnection, unique_ids: list[str]) -> dict[str, str]:
    """unique_id → master ID for the records that belong to an entity."""
    out: dict[str, str] = {}
    for unique_id in dict.fromkeys(unique_ids):  # point queries on the primary key (see lookup_columns)
        rows = cur.execute("SELECT entity_id FROM membership WHERE unique_id = ?", [unique_id]).fetchall()
        if rows:
            out[unique_id] = rows[0][0]
    return out


def members_of(cur: duckdb.DuckDBPyConnection, entity_id: str) -> list[str]:
    """The unique_ids of an entity's source records (indexed point query)."""
    return [r[0] for r in cur.execute("SELECT unique_id FROM membership WHERE entity_id = ?", [entity_id]).fetchall()]
