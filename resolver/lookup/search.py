"""Search the master by any identifier or by name. Every value reaches SQL as a parameter.

Identifiers are read by the domain's schema (resolver.lookup.identifiers) and normalised
with resolver.standardize.ids first, so a query finds records
whatever form either side was written in: a USCC also finds old records that carry only
its organization code; a 15-digit tax number (region + org code) finds the org code; a
15-digit resident ID is converted to 18 digits. A value that fails its check character is
still searched as typed (sources keep invalid values raw) and reported as invalid.
"""

from __future__ import annotations

from typing import Any

from resolver.access.sensitivity import rules
from resolver.domains import load_schema
from resolver.errors import InputError
from resolver.lookup import queries
from resolver.lookup.entity import golden_record
from resolver.lookup.identifiers import IdentifierQuery, classify
from resolver.standardize import ids
from resolver.standardize.enterprise_name import parse_enterprise_name
from resolver.standardize.person_name import clean_person_name
from resolver.store import Store
from resolver.store.reads import Reader
from resolver.store.store import records_table

MAX_QUERY_LENGTH = 100
FUZZY_MIN = 0.85


def classify_identifier(domain: str, raw: str) -> IdentifierQuery:
    """Work out which identifier `raw` is, or raise InputError saying what was expected (without
    repeating `raw`: an error detail travels to logs and proxies, and it may be an ID number)."""
    code = ids.compact(raw)
    if not code or len(code) > 20 or not code.isalnum():  # a plate starts with its province (浙)
        raise InputError("id is not an identifier: expected letters and digits only")
    return classify(domain, code)


def _records_where(reader: Reader, table: str, have: set[str], column: str, value: str,
                   limit: int) -> list[str]:
    return reader.records_where(table, column, value, limit) if column in have else []


def _name_hits(reader: Reader, domain: str, table: str, have: set[str], name: str,
               limit: int) -> list[tuple[str, str, float]]:
    """(unique_id, matched_on, score) for a name, by the type of the schema's name field: exact
    full name, then (a company name) exact core and fuzzy core."""
    spec = next((f for f in load_schema(domain).fields.values() if f.search == "name"), None)
    if spec is None:
        raise InputError("this domain has no name to search by")
    if spec.type != "enterprise_name":
        cleaned = clean_person_name(name) if spec.type == "person_name" else " ".join(name.split())
        if not cleaned:
            raise InputError("name is empty after cleaning")
        return [(u, spec.name, 1.0) for u in _records_where(reader, table, have, spec.name, cleaned, limit)]
    parsed = parse_enterprise_name(name)
    if not parsed.name:
        raise InputError("name is empty after cleaning")
    core, trade = spec.parts["core"], spec.parts["trade_name"]
    hits = [(u, spec.name, 1.0) for u in _records_where(reader, table, have, spec.name, parsed.name, limit)]
    if parsed.core:
        hits += [(u, core, 0.95) for u in _records_where(reader, table, have, core, parsed.core, limit)]
    if not hits and parsed.core and trade in have and core in have and parsed.trade_name:
        # Fuzzy: candidates sharing the trade name (字号), ranked by similarity of the core name.
        rows = reader.similar_cores(table, core, trade, parsed.core, parsed.trade_name, limit)
        hits += [(u, f"{spec.name}_fuzzy", round(float(s) * 0.9, 4)) for u, s in rows if s >= FUZZY_MIN]
    return hits


def search(store: Store, domain: str, id: str | None = None, name: str | None = None, *,
           limit: int = 20, offset: int = 0, unmasked: bool = False,
           docs: queries.DocSource | None = None) -> dict[str, Any]:
    """Entities whose source records carry the identifier `id` and/or the name `name`.

    Golden records come from `docs` (a server's DocCache) when given, else from the store.

    Returns {"query": ..., "results": [{entity_id, matched_on, score, golden}], "total",
    "offset", "limit"} best first: entities `offset` to `offset + limit` of the `total` found.
    With both, an entity must match both (identifier hits ranked first). The records behind
    the hits are read up to 200 per identifier column and per name form, so `total` counts
    the entities of at most those.
    """
    queries.check_domain(domain)
    if not id and not name:
        raise InputError("give id=… or name=… (or both)")
    for label, text in (("id", id), ("name", name)):
        if text is not None and len(text) > MAX_QUERY_LENGTH:
            raise InputError(f"{label} is longer than {MAX_QUERY_LENGTH} characters")
    limit = max(1, min(int(limit), 100))
    offset = max(0, int(offset))
    with store.reader() as reader:
        return _search(reader, domain, id, name, limit, offset, unmasked, docs)


def _search(reader: Reader, domain: str, id: str | None, name: str | None, limit: int, offset: int,
            unmasked: bool, docs: queries.DocSource | None) -> dict[str, Any]:
    table = records_table(domain)
    have = set(reader.table_columns(table))
    summary: dict[str, Any] = {}
    by_id: list[tuple[str, str, float]] = []
    if id:
        ident = classify_identifier(domain, id)
        summary["identifier"] = {"kind": ident.kind, "value_valid": ident.valid}
        for column, value in ident.lookups:
            score = 1.0 if column == ident.kind else 0.9
            by_id += [(u, column, score) for u in _records_where(reader, table, have, column, value, 200)]
    by_name = _name_hits(reader, domain, table, have, name, 200) if name else []
    if id and name:
        named = {u for u, _, _ in by_name}
        hits = [(u, m, s) for u, m, s in by_id if u in named]
    else:
        hits = by_id or by_name
    entity_of = reader.entities_of([u for u, _, _ in hits])
    best: dict[str, tuple[float, str, list[str]]] = {}
    for unique_id, matched_on, score in hits:
        entity_id = entity_of.get(unique_id)
        if entity_id is None:
            continue  # a source record not yet resolved into an entity
        prev = best.get(entity_id)
        if prev is None or score > prev[0]:
            best[entity_id] = (score, matched_on, (prev[2] if prev else []) + [unique_id])
        else:
            prev[2].append(unique_id)
    ranked = sorted(best.items(), key=lambda kv: (-kv[1][0], kv[0]))[offset:offset + limit]
    golden = queries.golden_for(docs or reader, domain, [e for e, _ in ranked])
    sense = rules(domain)
    results = []
    for entity_id, (score, matched_on, records) in ranked:
        values, _ = golden_record(sense, golden.get(entity_id, {}), unmasked)
        results.append({"entity_id": entity_id, "matched_on": matched_on, "score": score,
                        "matched_records": sorted(set(records)), "golden": values})
    return {"domain": domain, "query": summary, "results": results, "masked": not unmasked,
            "total": len(best), "offset": offset, "limit": limit}
