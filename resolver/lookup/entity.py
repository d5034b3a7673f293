"""An entity by master ID: golden record with lineage, member source records, conflicts, model version."""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Any

from resolver.access.masking import mask_conflicts, mask_fields
from resolver.access.raw_rows import mask_raw
from resolver.access.sensitivity import Sensitivity, sensitivity_of
from resolver.domains import DomainSchema, load_schema
from resolver.errors import ConfigError, InputError, NotFoundError
from resolver.lookup import queries

# Columns of a stored source record that are bookkeeping, not the record's content.
_RECORD_META = {"raw", "record_hash", "file", "ingested_at", "since", "row_number", "unique_id",
                "source", "source_record_id", "std_flags"}


def check_master_id(domain: str, entity_id: str, schema: DomainSchema | None = None) -> Sensitivity:
    """A master ID is the domain's prefix (its schema's `id_prefix`) and 9 digits (E000000001);
    anything else is a bad request. Returns the domain's sensitivity. `schema`: the domain's,
    when the caller holds it (the server reads every schema once at start); else it is read."""
    if schema is None:
        try:
            schema = load_schema(domain)
        except ConfigError:
            queries.check_domain(domain)  # an unknown domain is NotFoundError; a broken schema stays ConfigError
            raise
    letters = schema.id_prefix
    if not re.fullmatch(rf"{letters}\d{{9}}", entity_id):
        raise InputError(f"entity_id is not a valid {domain} master ID "
                         f"(expected {letters} followed by 9 digits)")  # never echoed: it may be an ID number
    return sensitivity_of(schema)


def json_value(value: Any) -> Any:
    """A stored value as JSON can carry it: NaN → None, dates → ISO text, numpy scalars → Python."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return json_value(value.item())
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    return value


def typed_value(kind: str, text: Any) -> Any:
    """A golden value (stored as text) as JSON types it by its field's schema type: a number as
    a number (92, 1.5; never "92.0"), a date as an ISO date; anything else, or text that does
    not read as its type, as it is."""
    if not isinstance(text, str):
        return text
    try:
        if kind == "number":
            number = float(text)
            if math.isnan(number) or math.isinf(number):
                return text
            return int(number) if number.is_integer() and abs(number) < 2**53 else number
        if kind == "date":
            return date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        return text
    return text


def _typed_fields(domain: str) -> dict[str, str]:
    """field → schema type for the fields whose golden values are typed (number, date)."""
    return queries.schema_facts(domain)[0]


def golden_record(domain: str | Sensitivity, golden: dict[str, dict[str, Any]], unmasked: bool
                  ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """(field → value, field → lineage) with personal fields masked (and derived ones, with
    their lineage, left out) unless `unmasked`. Numbers and dates are typed (`typed_value`)
    where shown as stored; a masked value stays the masked text."""
    stored = {f: g["value"] for f, g in golden.items()}
    values = mask_fields(domain, stored, unmasked)
    kinds = _typed_fields(domain if isinstance(domain, str) else domain.domain)
    for name, kind in kinds.items():
        if name in values and values[name] == stored.get(name):
            values[name] = typed_value(kind, values[name])
    lineage = {f: {"source": g["source"], "source_record_id": g["source_record_id"], "rule": g["rule"]}
               for f, g in golden.items() if f in values}
    return values, lineage


def file_name(path: str | None) -> str | None:
    """The name of the file a record came from, without the server's directories."""
    return None if path is None else re.split(r"[/\\]", path)[-1]


def member_view(domain: str | Sensitivity, row: dict[str, Any], unmasked: bool) -> dict[str, Any]:
    """One source record of a serving document as the API shows it: keys, standardized
    fields, flags, raw row. The document holds JSON values already (no NaN, dates as text)."""
    fields = {k: v for k, v in row.items() if v is not None and k not in _RECORD_META}
    return {
        "unique_id": row["unique_id"],
        "source": row["source"],
        "source_record_id": row["source_record_id"],
        "since": row.get("since"),
        "ingested_at": row.get("ingested_at"),
        "file": file_name(row.get("file")),
        "flags": [f for f in (row.get("std_flags") or "").split(";") if f],
        "fields": mask_fields(domain, fields, unmasked),
        "raw": mask_raw(domain, row, unmasked),
    }


def get_entity(source: queries.DocSource, domain: str, entity_id: str, *, unmasked: bool = False,
               schema: DomainSchema | None = None) -> dict[str, Any]:
    """Golden record + lineage + member records + conflicts + model version of one master ID.

    Read from the entity's serving document (a cursor: one point read; a DocCache: memory). Personal fields are masked
    unless `unmasked` (the caller holds `<domain>:pii`). Raises InputError for a malformed
    master ID and NotFoundError for an unknown one.
    """
    sense = check_master_id(domain, entity_id, schema)
    doc = queries.entity_doc(source, domain, entity_id)
    if doc is None:
        raise NotFoundError(f"no {domain} entity {entity_id}")
    golden = {g["field"]: g for g in queries.golden_in_schema_order(domain, doc["golden"])}
    values, lineage = golden_record(sense, golden, unmasked)
    members = sorted(doc["members"], key=lambda r: (str(r["source"]), str(r["source_record_id"])))
    conflicts = mask_conflicts(sense, sorted(doc["conflicts"], key=lambda c: (c["field"], c["value"] or "")),
                               unmasked, members)
    return {
        "entity_id": entity_id,
        "domain": domain,
        "active": bool(doc["active"]),
        "size": int(doc["size"] or 0),
        "created_at": doc["created_at"],
        "updated_at": doc["updated_at"],
        "model_version": doc["model_version"],
        "golden": values,
        "lineage": lineage,
        "members": [member_view(sense, r, unmasked) for r in members],
        "conflicts": conflicts,
        "masked": not unmasked,
        "successors": [],  # a retired ID's are filled in by the service (resolver.lookup.history)
        "event": None,
    }


def members_page(source: queries.DocSource, domain: str, entity_id: str, offset: int, limit: int, *,
                 unmasked: bool = False, schema: DomainSchema | None = None) -> dict[str, Any]:
    """One page of an entity's member source records (ordered by source, source record ID),
    masked as in `get_entity`, with the total."""
    sense = check_master_id(domain, entity_id, schema)
    doc = queries.entity_doc(source, domain, entity_id)
    if doc is None:
        raise NotFoundError(f"no {domain} entity {entity_id}")
    members = sorted(doc["members"], key=lambda r: (str(r["source"]), str(r["source_record_id"])))
    return {"entity_id": entity_id, "domain": domain, "total": len(members), "offset": offset, "limit": limit,
            "items": [member_view(sense, r, unmasked) for r in members[offset:offset + limit]],
            "masked": not unmasked}
