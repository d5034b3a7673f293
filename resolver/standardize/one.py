"""One record, standardized in plain Python: what `standardize_records` gives for its row.

The match endpoint standardizes one query record per request; a one-row frame costs
milliseconds of pandas overhead around ~100 µs of parsing. This runs the same per-value
steps (resolver.standardize.fields and the parsers) in the frame path's order, so every
column, its type and the flags in `std_flags` come out as the frame's row would; missing
values are None (the frame's NA/NaN). tests/lookup/test_one_record.py checks the two agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from resolver.standardize import fields, ids
from resolver.standardize.address import EMPTY as EMPTY_ADDRESS
from resolver.standardize.columns import ADDRESS_COLUMNS, ENTERPRISE_COLUMNS, PERSON_COLUMNS
from resolver.standardize.dates import normalize_status, parse_date
from resolver.standardize.enterprise_name import MISSING
from resolver.standardize.person_name import name_pinyin
from resolver.standardize.phone import area_code_of, parse_phone
from resolver.standardize.tokens import NameTokenizer
from resolver.standardize.values import normalize_sex, parse_number

DEFAULT_CITY = "杭州市"

_NAME_COLUMNS = ("name", "name_core", "trade_name", "name_region", "org_form", "entity_kind",
                 "parent_name")


class _Row:
    """The record's raw values as the frame path reads them, the output and its flags."""

    def __init__(self, record: dict[str, Any], value_maps: dict[str, dict[str, str]] | None):
        self.record = record
        self.maps = value_maps or {}
        self.out: dict[str, Any] = {}
        self.flags: list[str] = []

    def raw(self, field: str) -> str | None:
        """A field's value: stripped, value-mapped, None when missing or a placeholder."""
        return fields.raw_value(self.record.get(field), self.maps.get(field))

    def flag(self, test: bool, code: str) -> None:
        if test:
            self.flags.append(code)


def _names(row: _Row, tokenizer: NameTokenizer, trade_names: Iterable[str]) -> None:
    raw = row.raw("name")
    parsed = fields.parse_names([raw])[0] if raw is not None else MISSING
    row.out.update(zip(_NAME_COLUMNS, parsed, strict=False))
    if fields.is_star_name(row.record.get("name")):
        row.out["entity_kind"] = "individual_business"
    core, trade = parsed.core, parsed.trade_name
    tokenizer.add_trade_names(set(trade_names) | fields.learned_trade_names([trade]))
    row.out["name_tokens"] = tokenizer.tokens(core, trade) if core else None
    row.flag(row.out["name"] is None, "name_missing")


def _identifiers(row: _Row) -> tuple[str | None, bool | None]:
    uscc = row.raw("uscc")
    code, valid, uscc_org, uscc_org_valid = fields.uscc_with_org(uscc) if uscc is not None \
        else (None, None, None, None)
    row.out.update(uscc=code, uscc_valid=valid)
    row.flag(fields.is_false(valid), "uscc_invalid")
    reg = row.raw("reg_no")
    row.out["reg_no"], row.out["reg_no_valid"] = ids.normalize_reg_no(reg) if reg is not None \
        else (None, None)
    row.flag(fields.is_false(row.out["reg_no_valid"]), "reg_no_invalid")
    tax = row.raw("tax_id")
    tax_code, tax_valid, tax_kind, tax_org, tax_org_valid, operator, other = fields.tax_with_org(tax) \
        if tax is not None else (None, None, None, None, None, None, None)
    rep = row.raw("legal_rep_id")
    rep_id, rep_valid = ids.normalize_resident_id(rep) if rep is not None else (None, None)
    if other is not None and fields.reads_as_operator_id(other, row.out.get("entity_kind"), rep_id):
        tax_kind, tax_org, tax_org_valid, operator = "personal", None, None, other
    row.out.update(tax_id=tax_code, tax_id_valid=tax_valid, tax_id_kind=tax_kind)
    row.flag(fields.is_false(tax_valid), "tax_id_invalid")

    org = row.raw("org_code")
    given, given_valid = ids.normalize_org_code(org) if org is not None else (None, None)
    org_code, org_valid, invalid, conflict = fields.org_code_of(
        given, given_valid, uscc_org, uscc_org_valid, tax_org, tax_org_valid)
    row.out.update(org_code=org_code, org_code_valid=org_valid)
    row.flag(invalid, "org_code_invalid")
    row.flag(conflict, "org_code_conflict")

    row.out["legal_rep_id"], row.out["legal_rep_id_valid"] = rep_id, rep_valid
    row.flag(fields.is_false(row.out["legal_rep_id_valid"]), "legal_rep_id_invalid")
    row.out["legal_rep_id"], row.out["legal_rep_id_valid"] = fields.legal_rep_id_of(
        row.out["legal_rep_id"], row.out["legal_rep_id_valid"], operator)
    return code, valid


def _entity_kind(row: _Row, uscc: str | None, uscc_valid: bool | None) -> None:
    row.out["entity_kind"] = fields.entity_kind_of(
        row.out["entity_kind"], fields.is_individual_uscc(uscc, uscc_valid),
        fields.given_entity_kind(row.raw("entity_kind")))


def _person_name(row: _Row, field: str, pinyin: bool) -> None:
    raw = row.raw(field)
    name = fields.clean_person_names([raw])[0] if raw is not None else None
    row.out[field] = name
    if pinyin:
        row.out["name_pinyin"] = name_pinyin(name)


def _address(row: _Row, default_city: str) -> None:
    raw = row.raw("address")
    parsed = fields.parse_addresses([raw], default_city)[0] if raw is not None else EMPTY_ADDRESS
    row.out.update(zip(ADDRESS_COLUMNS, parsed, strict=True))


def _phone(row: _Row, default_area_code: str) -> None:
    raw = row.raw("phone")
    phone = parse_phone(raw, default_area_code) if raw is not None else None
    number, kind, valid = phone if phone is not None else (None, None, None)
    row.out.update(phone=number, phone_kind=kind, phone_valid=valid)
    row.flag(raw is not None and fields.not_true(valid), "phone_unparseable")


def _dates(row: _Row, names: Iterable[str]) -> None:
    for field in names:
        raw = row.raw(field)
        row.out[field] = parse_date(raw) if raw is not None else None
        row.flag(raw is not None and row.out[field] is None, f"date_unparseable:{field}")


def _enterprise_scalars(row: _Row) -> None:
    raw = row.raw("status")
    row.out["status"] = normalize_status(raw) if raw is not None else None
    row.flag(raw is not None and row.out["status"] is None, "status_unknown")
    row.out["industry_code"] = row.raw("industry_code")
    for field in ("registered_capital", "employees", "revenue"):
        raw = row.raw(field)
        row.out[field] = parse_number(raw) if raw is not None else None
        row.flag(raw is not None and row.out[field] is None, f"number_unparseable:{field}")


def _person_ids(row: _Row) -> None:
    raw = row.raw("id_number")
    number, valid, birth, id_sex, region = ids.parse_resident_id(raw) if raw is not None \
        else (None, None, None, None, None)
    row.out.update(id_number=number, id_number_valid=valid, id_birth_date=birth, id_sex=id_sex,
                   id_region=region)
    row.flag(fields.is_false(valid), "id_number_invalid")
    raw_sex = row.raw("sex")
    sex = normalize_sex(raw_sex) if raw_sex is not None else None
    row.out["sex"] = sex
    row.flag(raw_sex is not None and sex is None, "sex_unknown")
    row.flag(fields.sex_mismatch(sex, id_sex), "id_sex_mismatch")


def standardize_one(
    domain: str,
    record: dict[str, Any],
    tokenizer: NameTokenizer,
    default_city: str = DEFAULT_CITY,
    value_maps: dict[str, dict[str, str]] | None = None,
    trade_names: Iterable[str] = (),
) -> dict[str, Any]:
    """The columns (docs/columns.md) `standardize_records` gives for this record as a row.

    Missing values are None; ``name_tokens`` is a list. The tokenizer learns the record's
    trade name, as the frame path's does (``trade_names`` adds to it).
    """
    row = _Row(record, value_maps)
    area_code = area_code_of(default_city)
    if domain == "enterprise":
        _names(row, tokenizer, trade_names)
        uscc, uscc_valid = _identifiers(row)
        _entity_kind(row, uscc, uscc_valid)
        _person_name(row, "legal_rep", pinyin=False)
        _address(row, default_city)
        _phone(row, area_code)
        _dates(row, ("established", "activity_date"))
        _enterprise_scalars(row)
        columns = ENTERPRISE_COLUMNS
    elif domain == "person":
        _person_name(row, "name", pinyin=True)
        row.flag(row.out["name"] is None, "name_missing")
        _person_ids(row)
        _dates(row, ("birth_date",))
        row.out["birth_date_any"] = ids.birth_date_for_blocking(
            row.out["birth_date"], row.out["id_birth_date"], row.out["id_number"])
        _address(row, default_city)
        _phone(row, area_code)
        columns = PERSON_COLUMNS
    else:
        raise ValueError(f"unknown domain {domain!r}: expected 'enterprise' or 'person'")
    out = row.out
    source = _key(record.get("source"))
    record_id = _key(record.get("source_record_id"))
    out["source"], out["source_record_id"] = source, record_id
    out["unique_id"] = f"{source}:{record_id}" if source is not None and record_id is not None \
        else None
    number: Any = record.get("row_number")
    out["row_number"] = None if fields.is_missing(number) else int(number)
    out["std_flags"] = ";".join(row.flags)
    return {col: out.get(col) for col in columns}


def _key(value: Any) -> str | None:
    """A key column as the frame path gives it (astype(str), missing stays missing)."""
    return None if fields.is_missing(value) else str(value)
