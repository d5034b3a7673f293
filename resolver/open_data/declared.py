"""A domain's `open_data:` declaration (schema.yaml), checked so that nothing personal can be named.

A field may be published only when it says nothing about a natural person: not `pii`, not a
part derived from a pii field, not a person's name, phone or full address. Of an address only
its coarse parts (OPEN_ADDRESS_PARTS) may be published or counted by. docs/inventory.md
explains the choices; loading reports every problem at once (resolver.domains).
"""

from __future__ import annotations

from typing import Any

from resolver.domains import FieldSpec, OpenData

# Address parts coarse enough to publish: a district holds tens of thousands of people.
OPEN_ADDRESS_PARTS = ("province", "city", "district", "district_code")
# Types whose values are about a person whatever the sensitivity says (a legal representative's
# name is public in the register, not in a bulk download).
PERSONAL_TYPES = ("person_name", "phone", "address")
AGE_BAND = "age_band"  # the dimension `counts_by` may name: age from `age_from` in `age_bands`
MIN_CELL = 10  # the smallest `min_cell` allowed: k >= 10
_KEYS = {"records", "only", "leave_out", "counts_by", "age_from", "age_bands", "min_cell"}


def _owner(column: str, specs: dict[str, FieldSpec]) -> tuple[FieldSpec, str | None] | None:
    """(field, part or None) that makes `column`, or None."""
    for spec in specs.values():
        if column == spec.name:
            return spec, None
        for part, name in spec.parts.items():
            if name == column:
                return spec, part
    return None


def personal_reason(column: str, specs: dict[str, FieldSpec]) -> str | None:
    """Why `column` may not be published, or None when it may."""
    owner = _owner(column, specs)
    if owner is None:
        return "is not a field of this domain nor a part of one"
    spec, part = owner
    if spec.pii:
        return f"comes from '{spec.name}', a personal (pii) field"
    if spec.type == "address":
        return None if part in OPEN_ADDRESS_PARTS else \
            f"is an address or a fine part of one (only {', '.join(OPEN_ADDRESS_PARTS)} may be published)"
    if spec.type in PERSONAL_TYPES:
        return f"is a {spec.type} field: it is about a person"
    return None


def _names(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _filters(key: str, raw: Any, specs: dict[str, FieldSpec], problems: list[str]) -> dict[str, tuple[str, ...]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append(f"open_data.{key}: must map a field to the list of its values")
        return {}
    out: dict[str, tuple[str, ...]] = {}
    for name, values in raw.items():
        spec = specs.get(str(name))
        if spec is None:
            problems.append(f"open_data.{key}.{name}: not a field of this domain")
        elif not _names(values):
            problems.append(f"open_data.{key}.{name}: must be a list of values")
        else:
            unknown = [v for v in values if spec.values and v not in spec.values]
            if unknown:
                problems.append(f"open_data.{key}.{name}: {', '.join(unknown)} not among its values "
                                f"({', '.join(spec.values)})")
            out[str(name)] = tuple(values)
    return out


def _counts(raw: dict[str, Any], specs: dict[str, FieldSpec], problems: list[str]) -> tuple[str, ...]:
    by = raw.get("counts_by")
    if not (isinstance(by, list) and _names(by) and len(by) == 2):
        problems.append("open_data.counts_by: must name exactly two dimensions (a table with row and column totals)")
        return ()
    for column in by:
        if column == AGE_BAND:
            age_from = specs.get(str(raw.get("age_from")))
            if age_from is None or age_from.type != "date":
                problems.append("open_data.age_from: counting by age_band needs the date field ages are read from")
            bands = raw.get("age_bands")
            if not (isinstance(bands, list) and bands and all(isinstance(b, int) and b > 0 for b in bands)
                    and bands == sorted(set(bands))):
                problems.append("open_data.age_bands: rising ages above 0 where a band starts ([18, 35, 60])")
            continue
        reason = personal_reason(column, specs)
        owner = _owner(column, specs)
        if reason is None and owner is not None and owner[0].type not in ("address", "code", "sex", "entity_kind"):
            reason = "counts need a dimension with few values (an address part, a code list, sex or age_band)"
        if reason:
            problems.append(f"open_data.counts_by: '{column}' {reason}")
    return tuple(by)


def parse_open_data(raw: Any, specs: dict[str, FieldSpec], problems: list[str]) -> OpenData | None:
    """The declaration, or None with `problems` added."""
    if not isinstance(raw, dict):
        problems.append("open_data: must be a mapping with `records` or `counts_by`")
        return None
    before = len(problems)
    problems += [f"open_data.{k}: unknown key (allowed: {', '.join(sorted(_KEYS))})" for k in raw if k not in _KEYS]
    if ("records" in raw) == ("counts_by" in raw):
        problems.append("open_data: declare either `records` (golden records) or `counts_by` (counts), one of them")
        return None
    records: tuple[str, ...] = ()
    if "records" in raw:
        if not (_names(raw["records"]) and raw["records"]):
            problems.append("open_data.records: must list the fields to publish")
        else:
            records = tuple(raw["records"])
            problems += [f"open_data.records: '{c}' {reason}" for c in records
                         if (reason := personal_reason(c, specs))]
    only = _filters("only", raw.get("only"), specs, problems)
    leave_out = _filters("leave_out", raw.get("leave_out"), specs, problems)
    counts_by = _counts(raw, specs, problems) if "counts_by" in raw else ()
    min_cell = raw.get("min_cell", MIN_CELL)
    if not (isinstance(min_cell, int) and min_cell >= MIN_CELL):
        problems.append(f"open_data.min_cell: a whole number of at least {MIN_CELL}")
    if len(problems) > before:
        return None
    return OpenData(records=records, only=only, leave_out=leave_out, counts_by=counts_by,
                    age_from=raw.get("age_from"), age_bands=tuple(raw.get("age_bands") or ()), min_cell=int(min_cell))
