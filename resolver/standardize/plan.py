"""What a domain's schema asks of the standardizer: the order its fields are standardized in,
which facts one field reads from another, and each field's per-value parser.

Everything here comes from `matching_rules/<domain>/schema.yaml` (resolver.domains): a field's
`type` (and `standard` for identifiers) chooses its parser; `fill_from`, `check_against`,
`either_with` and `from:` say which other fields it reads. No field or domain name appears.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from resolver.domains import DomainSchema, FieldSpec
from resolver.errors import ConfigError
from resolver.standardize import codes, fields, generic, ids
from resolver.standardize.phone import parse_phone
from resolver.standardize.values import normalize_sex

# What an identifier of one standard can give another when that one is absent (`fill_from`):
# the org code inside a valid USCC or 15/18-digit tax number, the operator's resident ID
# inside a personal tax number.
FILLS = {("org_code", "uscc"), ("org_code", "tax_number"), ("resident_id", "tax_number")}
# Batch parsers take the list of a field's distinct values (one NFKC / OpenCC call for all).
BATCH_TYPES = frozenset({"enterprise_name", "person_name", "address"})


@dataclass(frozen=True)
class Parser:
    """A field's per-value parser: ``func(value)`` or, when ``batch``, ``func(values)``."""

    func: Callable[[Any], Any] | None
    batch: bool = False


@dataclass(frozen=True)
class Plan:
    """A domain's fields in the order they are standardized, with the links between them."""

    schema: DomainSchema
    order: tuple[FieldSpec, ...]
    kind_name: str | None          # the enterprise-name field whose organisation form gives a kind
    operator_of: dict[str, str]    # tax-number field -> the resident-ID field filled from it
    id_parts: frozenset[str]       # resident-ID fields whose birth date / sex another field reads
    parsers: dict[str, Parser]
    columns: tuple[str, ...]       # the standardized frame's columns, and the typed ones
    bool_columns: frozenset[str]
    float_columns: frozenset[str]
    list_columns: frozenset[str]
    released: tuple[tuple[str, ...], ...]  # per step: fields no later step reads from

    def field(self, name: str) -> FieldSpec:
        return self.schema.fields[name]


def plan_of(schema: DomainSchema, default_city: str, default_area_code: str) -> Plan:
    """The plan for ``schema``; a link the standardizer cannot follow is a ConfigError."""
    problems: list[str] = []
    specs = schema.fields
    kind_name = None
    for spec in specs.values():
        where = f"fields.{spec.name}"
        for other in spec.fill_from:
            pair = (spec.standard, specs[other].standard)
            if spec.type != "identifier" or pair not in FILLS:
                problems.append(f"{where}.fill_from: a {specs[other].standard or specs[other].type} "
                                f"field holds no {spec.standard or spec.type}")
        if spec.check_against and not (spec.type == "sex" and _is_resident_id(specs[spec.check_against])):
            problems.append(f"{where}.check_against: only a sex field is checked, against a resident ID")
        if spec.either_with and not (spec.type == "date" and _is_resident_id(specs[spec.either_with])):
            problems.append(f"{where}.either_with: only a date has an either part, from a resident ID")
        if spec.type == "entity_kind":
            name, code = spec.sources_of_kind.get("name"), spec.sources_of_kind.get("code")
            if name is not None and specs[name].type != "enterprise_name":
                problems.append(f"{where}.from.name: '{name}' is not an enterprise_name field")
            if code is not None and specs[code].standard != "uscc":
                problems.append(f"{where}.from.code: '{code}' is not a USCC field")
            kind_name = kind_name or name
    if problems:
        raise ConfigError(schema.path, problems)
    if kind_name is None:
        kind_name = next((f.name for f in specs.values() if f.type == "enterprise_name"), None)
    operator_of = {src: f.name for f in specs.values() if f.standard == "resident_id"
                   for src in f.fill_from}
    id_parts = frozenset(n for f in specs.values() for n in (f.either_with, f.check_against) if n)
    parsers = {f.name: _parser(f, id_parts, default_city, default_area_code) for f in specs.values()}
    order = _order(schema, kind_name)
    return Plan(schema, order, kind_name, operator_of, id_parts, parsers,
                tuple(schema.columns()), schema.bool_columns(), schema.float_columns(),
                schema.list_columns(), _released(order, kind_name))


def _is_resident_id(spec: FieldSpec) -> bool:
    return spec.type == "identifier" and spec.standard == "resident_id"


def _needs(spec: FieldSpec, kind_name: str | None) -> list[str]:
    """The fields whose results ``spec`` reads (a tax number: the kind the name reads as)."""
    kind = [kind_name] if kind_name and spec.standard == "tax_number" else []
    return [*spec.fill_from, *filter(None, (spec.check_against, spec.either_with)),
            *spec.sources_of_kind.values(), *kind]


def _order(schema: DomainSchema, kind_name: str | None) -> tuple[FieldSpec, ...]:
    """Schema order, except that a field comes after the fields it reads (the earliest ready
    field first, so flags keep the schema's order wherever they can)."""
    waiting = list(schema.fields.values())
    done: set[str] = set()
    out: list[FieldSpec] = []
    while waiting:
        ready = next((f for f in waiting if all(n in done or n == f.name for n in _needs(f, kind_name))),
                     None)
        if ready is None:
            cycle = ", ".join(f.name for f in waiting)
            raise ConfigError(schema.path, [f"fields {cycle}: read each other in a cycle"])
        waiting.remove(ready)
        done.add(ready.name)
        out.append(ready)
    return tuple(out)


def _released(order: tuple[FieldSpec, ...], kind_name: str | None) -> tuple[tuple[str, ...], ...]:
    """After which step each field's facts (the org code in a USCC, the kind a name reads as …)
    are read for the last time, so a big frame does not carry them to its end."""
    last = {spec.name: i for i, spec in enumerate(order)}
    for i, spec in enumerate(order):
        for name in _needs(spec, kind_name):
            last[name] = max(last[name], i)
    return tuple(tuple(n for n, at in last.items() if at == i) for i in range(len(order)))


def _parser(spec: FieldSpec, id_parts: frozenset[str], default_city: str,
            default_area_code: str) -> Parser:
    type_ = spec.type
    if type_ == "identifier":
        return Parser(_identifier_parser(spec, id_parts))
    if type_ == "enterprise_name":
        return Parser(fields.parse_names, batch=True)
    if type_ == "person_name":
        return Parser(fields.clean_person_names, batch=True)
    if type_ == "address":
        return Parser(partial(fields.parse_addresses, default_city=default_city), batch=True)
    simple: dict[str, Callable[[Any], Any] | None] = {
        "phone": partial(parse_phone, default_area_code=default_area_code),
        "date": generic.clean_date, "number": generic.clean_number, "sex": normalize_sex,
        "code": codes.normalizer(spec.values), "name": generic.clean_name,
        "text": None, "entity_kind": None,  # kept as given (a stated kind must be one of the list)
    }
    return Parser(simple[type_])


def _identifier_parser(spec: FieldSpec, id_parts: frozenset[str]) -> Callable[[str], Any]:
    standard = spec.standard or "none"
    if standard == "resident_id":  # the birth date and sex only where something reads them
        wanted = set(spec.parts) - {"valid"} or spec.name in id_parts
        return ids.parse_resident_id if wanted else ids.normalize_resident_id
    return {
        "uscc": fields.uscc_with_org, "org_code": ids.normalize_org_code,
        "reg_no": ids.normalize_reg_no, "tax_number": fields.tax_with_org,
        "none": generic.clean_identifier,
    }[standard]
