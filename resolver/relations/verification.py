"""The 协查 verification answer: what each department holds about one entity (an applicant for
低收入家庭核查, 再就业, 低保 …), by the checks of relations.yaml's `verification`.

A check lists either related entities (enterprises the person represents or operates: name,
USCC, status and revenue *band*) with the evidence record each rests on, or the entity's own
records of some departments (insured employment and employer, housing-fund account, household
registration). Every item names its department, source record and date; items are grouped by
department, and every department a check consults is listed, holding something or not.
Personal fields are masked as entity answers mask them.
"""

from __future__ import annotations

from typing import Any

from resolver.access.masking import mask_fields
from resolver.errors import NotFoundError
from resolver.lookup import queries
from resolver.lookup.entity import check_master_id
from resolver.relations.answer import (
    DocsFor,
    UnmaskedFor,
    department_labels,
    entity_summary,
    relation_items,
)
from resolver.relations.rules import Band, Check, RelationRules, Verification, load_relations
from resolver.store.reads import Reader


def verification_rules(domain: str, rules: RelationRules | None = None) -> Verification:
    """The verification declared for `domain`, or NotFoundError (no check is declared for it)."""
    rules = rules or load_relations()
    found = rules.verification
    if found is None or found.domain != domain:
        raise NotFoundError(f"no verification is declared for {domain} entities (relations.yaml)")
    return found


def band(value: Any, bands: tuple[Band, ...]) -> str | None:
    """The label of the band `value` falls in (a number below the band's `below`), None when unreadable."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    for b in bands:
        if b.below is None or number < b.below:
            return b.label
    return None


def _banded(fields: dict[str, Any], bands: dict[str, tuple[Band, ...]]) -> dict[str, Any]:
    """Banded fields replaced by their band's label (the exact figure is not shown)."""
    return {k: (band(v, bands[k]) if k in bands and v is not None else v) for k, v in fields.items()}


def _date(record: dict[str, Any] | None, columns: tuple[str, ...]) -> tuple[str | None, str]:
    """(date, what it is): the record's first date column with a value, else the day its
    department's export was loaded."""
    record = record or {}
    for column in columns:
        if record.get(column):
            return str(record[column])[:10], column
    ingested = record.get("ingested_at")
    return (str(ingested)[:10] if ingested else None), "ingested_at"


def _related_items(links: list[dict[str, Any]], docs_for: DocsFor, check: Check, rules: RelationRules,
                   unmasked_for: UnmaskedFor) -> list[dict[str, Any]]:
    """Items of a check on related entities: one per evidence record, dated by that record (a
    member of the related entity's document)."""
    bands = rules.verification.bands if rules.verification else {}
    out = []
    for link in links:
        if link["relation"] not in check.relations:
            continue
        other = link["related_domain"]
        doc = queries.entity_doc(docs_for(other), other, link["related_id"])
        members = {str(m["unique_id"]): m for m in (doc["members"] if doc else [])}
        related = entity_summary(docs_for(other), other, link["related_id"], check.show, unmasked_for(other), doc)
        fields = _banded(related["fields"], bands)
        for ev in link["evidence"]:
            date, date_kind = _date(members.get(f"{ev['source']}:{ev['source_record_id']}"), check.date)
            out.append({"check": check.name, "label": check.label, "relation": link["relation"],
                        "source": ev["source"], "source_record_id": ev["source_record_id"],
                        "date": date, "date_kind": date_kind, "confidence": ev["confidence"],
                        "fields": fields, "related": {"entity_id": link["related_id"], "domain": other}})
    return out


def _own_items(links: list[dict[str, Any]], docs_for: DocsFor, domain: str, doc: dict[str, Any],
               check: Check, rules: RelationRules, unmasked: bool, unmasked_for: UnmaskedFor
               ) -> list[dict[str, Any]]:
    """Items of a check on the entity's own records of some departments, each with the entity
    its relation names (an employer) when the check has one."""
    employers: dict[str, tuple[str, str, str]] = {}  # evidence record → (domain, related ID, confidence)
    if check.relation:
        for link in links:
            if link["relation"] == check.relation and link["direction"] == "outgoing":
                for ev in link["evidence"]:
                    employers[f"{ev['source']}:{ev['source_record_id']}"] = (
                        link["related_domain"], link["related_id"], ev["confidence"])
    bands = rules.verification.bands if rules.verification else {}
    out = []
    for member in sorted(doc["members"], key=lambda m: (str(m["source"]), str(m["source_record_id"]))):
        if member["source"] not in check.sources:
            continue
        fields = {f: member.get(f) for f in check.show if member.get(f) is not None}
        date, date_kind = _date(member, check.date)
        item: dict[str, Any] = {
            "check": check.name, "label": check.label, "source": member["source"],
            "source_record_id": member["source_record_id"], "date": date, "date_kind": date_kind,
            "fields": _banded(mask_fields(domain, fields, unmasked), bands)}
        linked = employers.get(str(member["unique_id"]))
        if check.relation:
            item["related"] = None
            if linked is not None:
                other, related_id, confidence = linked
                summary = entity_summary(docs_for(other), other, related_id, rules.show.get(other, ()),
                                         unmasked_for(other))
                item["related"] = {"entity_id": related_id, "domain": other, "relation": check.relation,
                                   "confidence": confidence, "fields": _banded(summary["fields"], bands)}
        out.append(item)
    return out


def verify_entity(reader: Reader, docs_for: DocsFor, domain: str, entity_id: str, unmasked_for: UnmaskedFor
                  ) -> dict[str, Any]:
    """What each department holds about `entity_id`, check by check (see the module docstring)."""
    rules = load_relations()
    verification = verification_rules(domain, rules)
    check_master_id(domain, entity_id)
    doc = queries.entity_doc(docs_for(domain), domain, entity_id)
    if doc is None:
        raise NotFoundError(f"no {domain} entity {entity_id}")
    unmasked = unmasked_for(domain)
    links = relation_items(reader, domain, entity_id, rules)
    items: list[dict[str, Any]] = []
    for check in verification.checks:
        if check.relations:
            items += _related_items(links, docs_for, check, rules, unmasked_for)
        else:
            items += _own_items(links, docs_for, domain, doc, check, rules, unmasked, unmasked_for)
    labels = department_labels()
    consulted = sorted({s for c in verification.checks for s in c.sources} | {i["source"] for i in items})
    departments = [{"source": s, "label": labels.get(s, s),
                    "checks": [c.label for c in verification.checks if s in c.sources],
                    "items": [i for i in items if i["source"] == s]} for s in consulted]
    golden = {g["field"]: g["value"] for g in queries.golden_in_schema_order(domain, doc["golden"])}
    shown = rules.show.get(domain, ())
    return {
        "entity_id": entity_id, "domain": domain, "model_version": doc.get("model_version"),
        "subject": mask_fields(domain, {k: v for k, v in golden.items() if not shown or k in shown}, unmasked),
        "departments": departments,
        "checks": [{"name": c.name, "label": c.label, "items": sum(1 for i in items if i["check"] == c.name)}
                   for c in verification.checks],
        "masked": not unmasked,
    }
