"""Per-value steps of standardization, shared by the frame path (records.py, over each
field's distinct values) and the one-record path (one.py). Plain Python: no pandas here.

Everything a column or flag of `standardize_records` depends on is decided by a function
of this module or of the per-value parsers (enterprise_name, address, ids, phone, dates,
person_name, values, generic, codes), so the two paths cannot drift apart. One exception:
the frame path chooses the organization code with vectorized numpy (its inputs are distinct
per row, so a call per row would cost ~1 s per million rows); `org_code_of` is its per-row
form, and tests/lookup/test_one_record.py checks that the two agree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from resolver.standardize import ids
from resolver.standardize.address import Address, parse_cleaned_address
from resolver.standardize.enterprise_name import EnterpriseName, parse_cleaned_name
from resolver.standardize.person_name import simplify_person_names, tidy_person_name
from resolver.standardize.text import (
    is_blank,
    nfkc,
    remove_spaces,
    to_simplified,
    to_simplified_many,
    unify_brackets,
)

_INNER_SPACES = re.compile(r"[^\S\n]+")

# --- reading raw values ----------------------------------------------------------------


def is_missing(value: Any) -> bool:
    """None, NaN, NaT or pandas.NA (a raw cell with no value)."""
    if value is None:
        return True
    try:
        return bool(value != value)
    except TypeError:  # pandas.NA: its comparisons are NA, which refuses bool()
        return True


def text_of(value: Any) -> str | None:
    """A raw cell as stripped text; None when missing."""
    if type(value) is str:
        return value.strip()
    return None if is_missing(value) else str(value).strip()


def is_placeholder(text: str) -> bool:
    """Values departments type when they have nothing to say ('', '*', '无', ...)."""
    return len(text) <= 4 and is_blank(text)


def raw_value(value: Any, mapping: dict[str, str] | None = None) -> str | None:
    """A raw cell as the standardizer reads it: stripped, value map applied, placeholders None."""
    text = text_of(value)
    if text is None:
        return None
    if mapping:
        text = mapping.get(text, text)
    return None if is_placeholder(text) else text


# --- text fields (batch: one NFKC and one OpenCC call for many values) ---------------------


def clean_many(values: list[str]) -> list[str]:
    """clean_text over many values at once: one NFKC and one OpenCC call on the joined text."""
    joined = "\n".join(v.replace("\n", " ") for v in values)
    joined = _INNER_SPACES.sub("", unify_brackets(nfkc(joined)))
    out = to_simplified(joined).split("\n") if values else []
    if len(out) != len(values):  # NFKC never makes or eats a newline; stay safe anyway
        return to_simplified_many(remove_spaces(unify_brackets(nfkc(v))) for v in values)
    return out


def parse_names(items: list[str]) -> list[EnterpriseName]:
    """Enterprise names, parsed (see enterprise_name.parse_cleaned_name)."""
    return [parse_cleaned_name(c) for c in clean_many(items)]


def parse_addresses(items: list[str], default_city: str) -> list[Address]:
    return [parse_cleaned_address(c, default_city) for c in clean_many(items)]


def clean_person_names(items: list[str]) -> list[str | None]:
    tidied = [tidy_person_name(v) for v in items]
    simple = iter(simplify_person_names([t for t in tidied if t]))
    return [next(simple) if t else None for t in tidied]


def is_star_name(value: Any) -> bool:
    """A raw name of just '*': an individual business without a name."""
    text = text_of(value)
    return text == "*"


def learned_trade_names(trade_names: Iterable[str | None]) -> set[str]:
    """The trade names the tokenizer learns as words: two to eight characters."""
    return {t for t in set(trade_names) if t and 2 <= len(t) <= 8}


# --- identifiers -----------------------------------------------------------------------


def uscc_with_org(raw: str) -> tuple[str, bool, str | None, bool | None]:
    code, valid = ids.normalize_uscc(raw)
    org = ids.org_code_from_uscc(code) if valid else None
    return code, valid, org, ids.is_valid_org_code(org) if org else None


def tax_with_org(raw: str) -> tuple[str, bool, str | None, str | None, bool | None, str | None, str | None]:
    """Tax number, valid, kind, the org code inside it (and whether valid), the operator's ID
    inside a personal tax number, and the operator's ID the number would give were it read as
    personal (a USCC or region + org code that is also a real resident ID), else None."""
    code, valid, kind = ids.parse_tax_id(raw)
    org = ids.org_code_from_tax_id(code) if valid and kind != "personal" else None
    operator = ids.operator_id_from_tax_id(code, kind) if valid else None
    other = None
    if valid and kind == "uscc" and ids.is_valid_resident_id(code):
        other = code
    elif valid and kind == "region_org" and ids.is_old_resident_id(code):
        other = ids.resident_id_15_to_18(code)
    return code, valid, kind, org, ids.is_valid_org_code(org) if org else None, operator, other


def reads_as_operator_id(operator: str, name_kind: str | None, rep_id: str | None) -> bool:
    """A tax number that passes as a USCC (18) or region + org code (15) and is also a real
    resident ID: the operator's when the record names an individual business or gives that
    same person as legal rep. The digits fit either reading (about 1 ID in 31 passes the USCC
    check, 1 in 11 the org code's); the record decides."""
    return name_kind == "individual_business" or rep_id == operator


def legal_rep_id_of(given: str | None, given_valid: bool | None,
                    operator: str | None) -> tuple[str | None, bool | None]:
    """The legal rep's ID as given, or, where none valid was given, the operator's ID read from a
    personal tax number: a business taxed under a person's ID is that person's (the operator's)."""
    if operator is not None and given_valid is not True:
        return operator, True
    return given, given_valid


def org_code_of(given: str | None, given_valid: bool | None,
                derived: str | None, derived_valid: bool | None,
                ) -> tuple[str | None, bool | None, bool, bool]:
    """The organization code as given, else the one read from another identifier (a valid
    USCC, a valid tax number): ``(code, valid, invalid, conflict)``, the last two being the
    row's flags."""
    if given is None:
        return derived, derived_valid, False, False
    return (given, given_valid, given_valid == False,  # noqa: E712 (None is not invalid)
            derived is not None and given != derived)


def is_individual_uscc(code: str | None, valid: bool | None) -> bool:
    """USCC positions 1-2 = 92: registered by market regulation as an individual business."""
    return valid == True and isinstance(code, str) and code.startswith("92")  # noqa: E712


def given_entity_kind(value: str | None, allowed: frozenset[str]) -> str | None:
    """An entity kind a source states itself, when it is one of the schema's ``allowed``."""
    return value if value in allowed else None


def entity_kind_of(name_kind: str | None, individual: bool, given: str | None) -> str | None:
    """A stated kind wins; else an individual business by USCC (a branch stays a branch);
    else the kind read from the name."""
    if given is not None:
        return given
    return "individual_business" if individual and name_kind != "branch" else name_kind


def sex_mismatch(sex: str | None, id_sex: str | None) -> bool:
    return sex is not None and id_sex is not None and sex != id_sex


def is_false(value: Any) -> bool:
    """A validity that is known to be False (None, not checked, is not)."""
    return value is not None and value == False  # noqa: E712


def not_true(value: Any) -> bool:
    return value != True  # noqa: E712
