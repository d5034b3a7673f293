"""One record, standardized in plain Python: what `standardize_records` gives for its row.

The match endpoint standardizes one query record per request; a one-row frame costs
milliseconds of pandas overhead around ~100 µs of parsing. This runs the same per-value
steps (the plan's parsers and resolver.standardize.fields) per field type, in the frame
path's order, so every column, its type and the flags in `std_flags` come out as the frame's
row would; missing values are None (the frame's NA/NaN). tests/lookup/test_one_record.py
checks the two agree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from resolver.domains import ADDRESS_PARTS, DomainSchema, FieldSpec
from resolver.standardize import fields, generic, ids
from resolver.standardize.address import EMPTY as EMPTY_ADDRESS
from resolver.standardize.enterprise_name import MISSING
from resolver.standardize.person_name import name_pinyin
from resolver.standardize.plan import Plan
from resolver.standardize.records import cached_plan, schema_of
from resolver.standardize.tokens import NameTokenizer

DEFAULT_CITY = "杭州市"
INDIVIDUAL = "individual_business"


class _Row:
    """The record's raw values as the frame path reads them, the output, its flags and the
    facts fields hand each other."""

    def __init__(self, record: dict[str, Any], value_maps: dict[str, dict[str, str]] | None,
                 plan: Plan, tokenizer: NameTokenizer, trade_names: Iterable[str]):
        self.record = record
        self.maps = value_maps or {}
        self.plan = plan
        self.tokenizer = tokenizer
        self.trade_names = trade_names
        self.out: dict[str, Any] = {}
        self.flags: list[str] = []
        self.facts: dict[str, dict[str, Any]] = {}
        self.kinds: dict[str, str | None] = {}  # enterprise-name field -> the kind it reads as
        self._raw: dict[str, str | None] = {}
        self._parsed: dict[str, Any] = {}

    def raw(self, field: str) -> str | None:
        """A field's value: stripped, value-mapped, None when missing or a placeholder."""
        if field not in self._raw:
            self._raw[field] = fields.raw_value(self.record.get(field), self.maps.get(field))
        return self._raw[field]

    def parsed(self, spec: FieldSpec) -> Any:
        """The field's parser on its raw value (None when missing), once."""
        name = spec.name
        if name not in self._parsed:
            raw = self.raw(name)
            parser = self.plan.parsers[name]
            self._parsed[name] = None if raw is None else \
                parser.func([raw])[0] if parser.batch else parser.func(raw)  # type: ignore[misc]
        return self._parsed[name]

    def parts(self, spec: FieldSpec, width: int) -> tuple[Any, ...]:
        parsed = self.parsed(spec)
        return tuple(parsed[:width]) if parsed is not None else (None,) * width

    def flag(self, test: bool, code: str) -> None:
        if test:
            self.flags.append(code)


def _flag_missing(row: _Row, spec: FieldSpec) -> None:
    row.flag(spec.search == "name" and row.out[spec.name] is None, f"{spec.name}_missing")


def _enterprise_name(row: _Row, spec: FieldSpec) -> None:
    parsed = row.parsed(spec) or MISSING
    parts = spec.parts
    for part, value in (("core", parsed.core), ("trade_name", parsed.trade_name),
                        ("region", parsed.region), ("org_form", parsed.org_form),
                        ("parent", parsed.parent_name)):
        if part in parts:
            row.out[parts[part]] = value
    row.out[spec.name] = parsed.name
    row.kinds[spec.name] = INDIVIDUAL if fields.is_star_name(row.record.get(spec.name)) \
        else parsed.entity_kind
    if "tokens" in parts:
        core, trade = parsed.core, parsed.trade_name
        row.tokenizer.add_trade_names(set(row.trade_names) | fields.learned_trade_names([trade]))
        row.out[parts["tokens"]] = row.tokenizer.tokens(core, trade) if core else None
    _flag_missing(row, spec)


def _person_name(row: _Row, spec: FieldSpec) -> None:
    row.out[spec.name] = name = row.parsed(spec)
    if "pinyin" in spec.parts:
        row.out[spec.parts["pinyin"]] = name_pinyin(name)
    _flag_missing(row, spec)


def _latin_name(row: _Row, spec: FieldSpec) -> None:
    row.out[spec.name] = name = row.parsed(spec)
    if "phonetic" in spec.parts:
        row.out[spec.parts["phonetic"]] = generic.soundex(name)
    _flag_missing(row, spec)


def _put_checked(row: _Row, spec: FieldSpec, value: Any, valid: Any) -> None:
    row.out[spec.name], row.out[spec.parts["valid"]] = value, valid
    row.flag(fields.is_false(valid), f"{spec.name}_invalid")


def _uscc(row: _Row, spec: FieldSpec) -> None:
    value, valid, org, org_valid = row.parts(spec, 4)
    _put_checked(row, spec, value, valid)
    row.facts[spec.name] = {"org": org, "org_valid": org_valid}


def _reg_no(row: _Row, spec: FieldSpec) -> None:
    _put_checked(row, spec, *row.parts(spec, 2))


def _tax_number(row: _Row, spec: FieldSpec) -> None:
    value, valid, kind, org, org_valid, operator, other = row.parts(spec, 7)
    operator_field = row.plan.operator_of.get(spec.name)
    rep = row.parts(row.plan.field(operator_field), 1)[0] if operator_field else None
    kind_field = row.plan.kind_name
    name_kind = row.kinds.get(kind_field) if kind_field else None
    if other is not None and fields.reads_as_operator_id(other, name_kind, rep):
        kind, org, org_valid, operator = "personal", None, None, other
    _put_checked(row, spec, value, valid)
    if "kind" in spec.parts:
        row.out[spec.parts["kind"]] = kind
    row.facts[spec.name] = {"org": org, "org_valid": org_valid, "operator": operator}


def _org_code(row: _Row, spec: FieldSpec) -> None:
    given, given_valid = row.parts(spec, 2)
    if not spec.fill_from:
        _put_checked(row, spec, given, given_valid)
        return
    derived = next(((row.facts[s]["org"], row.facts[s]["org_valid"]) for s in spec.fill_from
                    if row.facts[s]["org"] is not None), (None, None))
    code, valid, invalid, conflict = fields.org_code_of(given, given_valid, *derived)
    row.out[spec.name], row.out[spec.parts["valid"]] = code, valid
    row.flag(invalid, f"{spec.name}_invalid")
    row.flag(conflict, f"{spec.name}_conflict")


def _resident_id(row: _Row, spec: FieldSpec) -> None:
    value, valid, *more = row.parts(spec, 5)
    _put_checked(row, spec, value, valid)
    wide = row.plan.parsers[spec.name].func is ids.parse_resident_id
    row.facts[spec.name] = dict(zip(("birth_date", "sex", "region"), more, strict=True)) if wide else {}
    if wide:
        for part, part_value in zip(("birth_date", "sex", "region"), more, strict=True):
            if part in spec.parts:
                row.out[spec.parts[part]] = part_value
    for source in spec.fill_from:
        row.out[spec.name], row.out[spec.parts["valid"]] = fields.legal_rep_id_of(
            row.out[spec.name], row.out[spec.parts["valid"]], row.facts[source]["operator"])


def _plain_identifier(row: _Row, spec: FieldSpec) -> None:
    row.out[spec.name], row.out[spec.parts["valid"]] = row.parsed(spec), None


_IDENTIFIERS: dict[str, Callable[[_Row, FieldSpec], None]] = {
    "uscc": _uscc, "org_code": _org_code, "reg_no": _reg_no, "tax_number": _tax_number,
    "resident_id": _resident_id, "none": _plain_identifier,
}


def _identifier(row: _Row, spec: FieldSpec) -> None:
    _IDENTIFIERS[spec.standard or "none"](row, spec)


def _address(row: _Row, spec: FieldSpec) -> None:
    parsed = row.parsed(spec) or EMPTY_ADDRESS
    row.out[spec.name] = parsed[0]
    parts = spec.parts
    for i, part in enumerate(ADDRESS_PARTS, start=1):
        if part in parts:
            row.out[parts[part]] = parsed[i]


def _phone(row: _Row, spec: FieldSpec) -> None:
    number, kind, valid = row.parts(spec, 3)
    row.out[spec.name] = number
    for part, value in (("kind", kind), ("valid", valid)):
        if part in spec.parts:
            row.out[spec.parts[part]] = value
    row.flag(row.raw(spec.name) is not None and fields.not_true(valid), f"{spec.name}_unparseable")


def _unread(row: _Row, spec: FieldSpec, code: str) -> None:
    row.out[spec.name] = row.parsed(spec)
    row.flag(row.raw(spec.name) is not None and row.out[spec.name] is None, code)


def _date(row: _Row, spec: FieldSpec) -> None:
    _unread(row, spec, f"date_unparseable:{spec.name}")
    if "either" in spec.parts and spec.either_with:
        other = spec.either_with
        row.out[spec.parts["either"]] = ids.birth_date_for_blocking(
            row.out[spec.name], row.facts[other].get("birth_date"), row.out[other])


def _number(row: _Row, spec: FieldSpec) -> None:
    _unread(row, spec, f"number_unparseable:{spec.name}")


def _code(row: _Row, spec: FieldSpec) -> None:
    _unread(row, spec, f"{spec.name}_unknown")


def _sex(row: _Row, spec: FieldSpec) -> None:
    _unread(row, spec, f"{spec.name}_unknown")
    if spec.check_against:
        row.flag(fields.sex_mismatch(row.out[spec.name], row.facts[spec.check_against].get("sex")),
                 f"id_{spec.name}_mismatch")


def _text(row: _Row, spec: FieldSpec) -> None:
    row.out[spec.name] = row.raw(spec.name)


def _entity_kind(row: _Row, spec: FieldSpec) -> None:
    code_field = spec.sources_of_kind.get("code")
    individual = False
    if code_field is not None:
        individual = fields.is_individual_uscc(
            row.out[code_field], row.out[row.plan.field(code_field).parts["valid"]])
    name_field = spec.sources_of_kind.get("name")
    row.out[spec.name] = fields.entity_kind_of(
        row.kinds.get(name_field) if name_field else None, individual,
        fields.given_entity_kind(row.raw(spec.name), frozenset(spec.values)))


_TYPES: dict[str, Callable[[_Row, FieldSpec], None]] = {
    "enterprise_name": _enterprise_name, "person_name": _person_name, "name": _latin_name,
    "identifier": _identifier, "address": _address, "phone": _phone, "date": _date,
    "number": _number, "code": _code, "sex": _sex, "text": _text, "entity_kind": _entity_kind,
}


def standardize_one(
    domain: str | DomainSchema,
    record: dict[str, Any],
    tokenizer: NameTokenizer,
    default_city: str = DEFAULT_CITY,
    value_maps: dict[str, dict[str, str]] | None = None,
    trade_names: Iterable[str] = (),
) -> dict[str, Any]:
    """The columns (docs/columns.md) `standardize_records` gives for this record as a row.

    Missing values are None; list columns (name tokens) are lists. The tokenizer learns the
    record's trade name, as the frame path's does (``trade_names`` adds to it).
    """
    schema = schema_of(domain)
    plan = cached_plan(schema, default_city)
    row = _Row(record, value_maps, plan, tokenizer, trade_names)
    for spec in plan.order:
        _TYPES[spec.type](row, spec)
    out = row.out
    source = _key(record.get("source"))
    record_id = _key(record.get("source_record_id"))
    out["source"], out["source_record_id"] = source, record_id
    out["unique_id"] = f"{source}:{record_id}" if source is not None and record_id is not None \
        else None
    number: Any = record.get("row_number")
    out["row_number"] = None if fields.is_missing(number) else int(number)
    out["std_flags"] = ";".join(row.flags)
    return {col: out.get(col) for col in plan.columns}


def _key(value: Any) -> str | None:
    """A key column as the frame path gives it (astype(str), missing stays missing)."""
    return None if fields.is_missing(value) else str(value)
