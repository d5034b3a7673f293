"""An entity's relations across domains as the API answers them: one item per related entity
and relation, with its evidence records and its confidence, paged; the related entity shown
by the fields relations.yaml's `show` names, masked as that domain's entity answer masks them.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from resolver.access.masking import mask_fields
from resolver.errors import NotFoundError, ResolverError
from resolver.lookup import queries
from resolver.lookup.entity import check_master_id
from resolver.mapping import load_mapping
from resolver.paths import rules_dir
from resolver.relations.rules import RelationRules, load_relations
from resolver.store.reads import Reader

# domain → where its serving documents are read (the server's in-memory views, or a reader)
DocsFor = Callable[[str], queries.DocSource]
# domain → whether the caller may see that domain's personal fields
UnmaskedFor = Callable[[str], bool]


def domains_involved(domain: str, rules: RelationRules | None = None) -> list[str]:
    """`domain` and every domain a relation of relations.yaml links it to: reading its relations
    needs read access to all of them."""
    rules = rules or load_relations()
    return sorted({domain, *(d for r in rules.touching(domain) for d in r.domains)})


@lru_cache(maxsize=4)
def _labels(folder: str, stamp: int) -> dict[str, str]:
    out = {}
    for path in sorted(Path(folder).glob("*.yaml")):
        try:
            mapping = load_mapping(path)
        except ResolverError:  # a broken mapping is reported by ingest; here its source keeps its name
            continue
        out[mapping.source] = mapping.label
    return out


def department_labels() -> dict[str, str]:
    """source → the department's name (the mappings' `label`) of the rules folder."""
    folder = rules_dir() / "sources"
    try:
        stamp = folder.stat().st_mtime_ns
    except OSError:
        return {}
    return _labels(str(folder), stamp)


def entity_summary(docs: queries.DocSource, domain: str, entity_id: str, fields: tuple[str, ...],
                   unmasked: bool, doc: dict[str, Any] | None = None) -> dict[str, Any]:
    """The related entity: master ID, domain, the `fields` of its golden record (masked).
    `doc`: its serving document when the caller has read it already."""
    doc = doc if doc is not None else queries.entity_doc(docs, domain, entity_id)
    golden = {g["field"]: g["value"] for g in queries.golden_in_schema_order(domain, doc["golden"] if doc else [])
              if not fields or g["field"] in fields}
    return {"entity_id": entity_id, "domain": domain, "active": bool(doc and doc.get("active")),
            "fields": mask_fields(domain, golden, unmasked)}


def relation_items(reader: Reader, domain: str, entity_id: str, rules: RelationRules) -> list[dict[str, Any]]:
    """One item per (relation, related entity) of `entity_id`, evidence grouped, strongest
    confidence first in each; sorted by relation then related master ID. Related entities not shown."""
    grouped: dict[tuple[str, str, str], dict[str, Any]] = {}
    for a, b in rules.pairs():
        if domain not in (a, b):
            continue
        for row in reader.relation_evidence(a, b, entity_id):
            rel = rules.relations.get(row["relation"])
            if rel is None:  # a relation since taken out of relations.yaml: rebuilt away at the next resolve
                continue
            outgoing = row["from_id"] == entity_id and row["from_domain"] == domain
            other = (row["to_domain"], row["to_id"]) if outgoing else (row["from_domain"], row["from_id"])
            key = (rel.name, other[1], "from" if outgoing else "to")
            item = grouped.setdefault(key, {
                "relation": rel.name, "label": rel.label, "direction": "outgoing" if outgoing else "incoming",
                "related_domain": other[0], "related_id": other[1], "evidence": []})
            item["evidence"].append({"source": row["source"], "source_record_id": row["source_record_id"],
                                     "confidence": row["confidence"]})
    order = {name: {s.confidence: i for i, s in enumerate(rel.steps)} for name, rel in rules.relations.items()}
    for item in grouped.values():
        rank = order[item["relation"]]
        item["evidence"].sort(key=lambda e: (rank.get(e["confidence"], 99), e["source"], e["source_record_id"]))
        item["confidence"] = item["evidence"][0]["confidence"]
    return sorted(grouped.values(), key=lambda i: (i["relation"], i["related_id"], i["direction"]))


def entity_relations(reader: Reader, docs_for: DocsFor, domain: str, entity_id: str, unmasked_for: UnmaskedFor,
                     *, offset: int = 0, limit: int = 50) -> dict[str, Any]:
    """GET /v1/{domain}/{entity_id}/relations: a page of the entity's relations, with total."""
    check_master_id(domain, entity_id)
    rules = load_relations()
    if queries.entity_doc(docs_for(domain), domain, entity_id) is None:
        raise NotFoundError(f"no {domain} entity {entity_id}")
    items = relation_items(reader, domain, entity_id, rules)
    page = items[offset:offset + limit]
    for item in page:
        other = item.pop("related_domain")
        item["related"] = entity_summary(docs_for(other), other, item.pop("related_id"),
                                         rules.show.get(other, ()), unmasked_for(other))
    return {"entity_id": entity_id, "domain": domain, "offset": offset, "limit": limit, "total": len(items),
            "items": page, "masked": {d: not unmasked_for(d) for d in domains_involved(domain, rules)}}
