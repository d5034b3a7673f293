"""Masking of personal fields by default; a `<domain>:pii` scope shows them in full.

Which fields are personal and in which form they are shown comes from the field table in
the domain's schema.yaml (resolver.access.sensitivity), never from what a value looks like. The same value is masked
the same way wherever it appears (golden record, member records, raw rows, conflicts), so
putting answers side by side reveals nothing one of them hides. Raw department rows are
masked through their source mapping (resolver.access.raw_rows).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from resolver.access.sensitivity import HIDE, ID, PHONE, YEAR, Sensitivity, rules
from resolver.domains import load_schema


def pii_scope(domain: str) -> str:
    return load_schema(domain).pii_scope


def stars(value: Any) -> str:
    return "*" * len(str(value))


def mask_id(value: Any) -> str:
    """A resident ID (or a value embedding one): its first 6 characters, the region."""
    text = str(value)
    return text[:6] + "*" * (len(text) - 6) if len(text) >= 15 else stars(text)


def mask_phone(value: Any) -> str:
    """A standardized phone: mobile 3 + 4 digits, landline area code + last 4, else all stars."""
    text = str(value)
    if text.startswith("0") and "-" in text:
        area, _, number = text.partition("-")
        if area.isdigit() and number.isdigit() and len(number) >= 7:
            return f"{area}-{'*' * (len(number) - 4)}{number[-4:]}"
    elif text.isdigit() and len(text) == 11 and text[0] == "1":
        return f"{text[:3]}****{text[-4:]}"
    elif text.isdigit() and 7 <= len(text) <= 8:
        return "*" * (len(text) - 4) + text[-4:]
    return stars(text)


def mask_year(value: Any) -> str:
    """A date: its year only."""
    text = str(value)
    return f"{text[:4]}-**-**" if len(text) >= 4 and text[:4].isdigit() else stars(text)


FORMS: dict[str, Callable[[Any], str]] = {ID: mask_id, PHONE: mask_phone, YEAR: mask_year}


def masked(domain: str | Sensitivity, field: str, value: Any) -> tuple[bool, Any]:
    """(shown, value as a caller without the pii scope sees it) for one field's value."""
    return masked_by(rules(domain), field, value)


def masked_by(sense: Sensitivity, field: str, value: Any) -> tuple[bool, Any]:
    """`masked` with the domain's sensitivity already read (one schema read per answer)."""
    form = sense.forms.get(field)
    if form is None:
        return True, value
    if form == HIDE:
        return False, None
    if value is None:
        return True, None
    test = sense.conditions.get(field)
    if test is not None and not test(value):
        return True, value
    return True, FORMS[form](value)


def mask_fields(domain: str | Sensitivity, values: Mapping[str, Any], unmasked: bool) -> dict[str, Any]:
    """A copy of `values` with personal fields masked and derived ones dropped unless `unmasked`."""
    out = dict(values)
    if unmasked:
        return out
    sense = rules(domain)
    for field in sense.repeats(values):
        out[field] = stars(out[field])
    for field in sense.forms.keys() & out.keys():
        shown, value = masked_by(sense, field, out[field])
        if shown:
            out[field] = value
        else:
            del out[field]
    return out


def mask_conflicts(domain: str | Sensitivity, conflicts: Iterable[dict[str, Any]], unmasked: bool,
                   members: Iterable[Mapping[str, Any]] = ()) -> list[dict[str, Any]]:
    """Conflicting values of a golden field, masked as the field is (hidden fields left out);
    a value that repeats part of a personal value of one of the `members` as stars."""
    if unmasked:
        return list(conflicts)
    sense = rules(domain)
    repeated = {(f, str(m[f])) for m in members for f in sense.repeats(m)}
    out = []
    for c in conflicts:
        if (c["field"], str(c["value"])) in repeated:
            out.append({**c, "value": stars(c["value"])})
            continue
        shown, value = masked_by(sense, c["field"], c["value"])
        if shown:
            out.append({**c, "value": value})
    return out


def withhold_personal(domain: str | Sensitivity, record: Mapping[str, Any], unmasked: bool) -> tuple[dict[str, Any], list[str]]:
    """(the match query a caller may use, the personal fields left out of it).

    A caller without the pii scope matches on the other fields only: scoring or blocking on
    a personal value would let the answer confirm a guess of it (docs/security.md).
    """
    if unmasked:
        return dict(record), []
    sense = rules(domain)
    withheld = sorted(f for f in sense.query if f in record and sense.is_personal(f, record[f]))
    return {k: v for k, v in record.items() if k not in withheld}, withheld


def explained(domain: str | Sensitivity, comparisons: list[dict[str, Any]], unmasked: bool) -> list[dict[str, Any]]:
    """Per-comparison contributions the caller may read: none on a personal field without the
    pii scope (their query value was withheld, so they carry no weight anyway)."""
    if unmasked:
        return comparisons
    hidden = rules(domain).forms
    return [c for c in comparisons if c["comparison"] not in hidden]
