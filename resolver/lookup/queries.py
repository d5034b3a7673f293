"""What the look-ups share: the columns they filter on, the domain check, golden records from
the serving documents. Their SQL is the store's (resolver.store.reads)."""

from __future__ import annotations

import re
from typing import Any

import orjson

from resolver.domains import domain_names, is_domain, load_schema
from resolver.errors import NotFoundError
from resolver.lookup.doc_cache import DocCache
from resolver.store import Store
from resolver.store.reads import Reader
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


def ensure_indexes(store: Store) -> list[str]:
    """Create the indexes point look-ups need (idempotent). Returns the index names created or kept.

    The store's schema (owned by resolver.store) has primary keys only; these secondary
    indexes are the API's concern, so they are added here at server start.
    """
    # golden_values and conflicts: an incremental write deletes a few entities' rows by ID
    # (resolver.store.points; a scan of 4.3M golden rows at 1M records without it)
    plan = [("membership", "entity_id"), ("golden_values", "entity_id"), ("conflicts", "entity_id")]
    with store.reader() as reader:
        for domain in domain_names():
            table = records_table(domain)
            have = set(reader.table_columns(table))
            plan += [(table, c) for c in lookup_columns(domain) if c in have]
    return store.add_indexes([(t, c) for t, c in plan if _SAFE_NAME.fullmatch(t) and _SAFE_NAME.fullmatch(c)])


DocSource = Reader | DocCache


def entity_doc(source: DocSource, domain: str, entity_id: str) -> dict[str, Any] | None:
    """The entity's serving document (resolver.store.docs), unmasked, or None; from the store
    (a Reader) or from the documents held in memory (a DocCache)."""
    found = source.get(entity_id) if isinstance(source, DocCache) else source.doc(entity_id)
    if found is None or found[0] != domain:
        return None
    doc: dict[str, Any] = orjson.loads(found[1])
    return doc


# per schema object (an edited schema file is a new object): (schema, typed fields, field ranks)
_FACTS: dict[int, tuple[Any, dict[str, str], dict[str, int]]] = {}


def schema_facts(domain: str) -> tuple[dict[str, str], dict[str, int]]:
    """(field → type of the fields whose golden values are typed (number, date), field → its
    rank in the schema)."""
    schema = load_schema(domain)
    found = _FACTS.get(id(schema))
    if found is None or found[0] is not schema:
        found = _FACTS[id(schema)] = (schema, {f.name: f.type for f in schema.fields.values()
                                               if f.type in ("number", "date")},
                                      {name: rank for rank, name in enumerate(schema.fields)})
    return found[1], found[2]


def golden_in_schema_order(domain: str, golden: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A document's golden values in the schema's field order. The document lists them in the
    order DuckDB's threads aggregated them, which changes from one save to the next; an answer
    (and its ETag) must not."""
    rank = schema_facts(domain)[1]
    return sorted(golden, key=lambda g: (rank.get(g["field"], len(rank)), g["field"]))


def golden_for(source: DocSource, domain: str, entity_ids: list[str]
               ) -> dict[str, dict[str, dict[str, Any]]]:
    """entity_id → field → {value, source, source_record_id, rule}."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for entity_id in entity_ids:  # one indexed point read each: an IN list scans
        doc = entity_doc(source, domain, entity_id)
        out[entity_id] = {g["field"]: {k: g[k] for k in ("value", "source", "source_record_id", "rule")}
                          for g in golden_in_schema_order(domain, doc["golden"] if doc else [])}
    return out
