"""Masking of personal fields by default; a `<domain>:pii` scope shows them in full.

Personal fields (SPEC §4): `id_number`, `phone`, `legal_rep_id`. For enterprises the
legal representative's ID and the phone are personal too (an individual business's phone
is its owner's mobile), so `enterprise:pii` unmasks them, separately from `person:pii`.

Forms: an ID keeps its first 6 (region) and last 4 characters, `330106********123X`;
a mobile keeps 3 + 4, `138****5678`; a landline keeps its area code and last 4,
`0571-****4321`; anything shorter than 8 characters is masked whole. The raw department
row shown with a source record is masked by pattern: any value that looks like a resident
ID or a phone number, whatever its column is called.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson

PII_FIELDS: dict[str, frozenset[str]] = {
    "enterprise": frozenset({"legal_rep_id", "phone"}),
    "person": frozenset({"id_number", "phone"}),
}
_ID_LIKE = re.compile(r"\d{17}[\dXx]|\d{15}")
_PHONE_LIKE = re.compile(r"(?:\+?86[- ]?)?1\d{10}|0\d{2,3}-?\d{7,8}")
_SEVEN_DIGITS = re.compile(r"\d{7}")  # in every ID-like and phone-like run: text without it is left alone


def pii_scope(domain: str) -> str:
    return f"{domain}:pii"


def mask_value(value: str) -> str:
    """Mask one personal value (see module doc for the forms)."""
    text = str(value)
    if len(text) < 8:
        return "*" * len(text)
    if "-" in text and text.startswith("0"):
        area, _, number = text.partition("-")
        return f"{area}-{'*' * max(len(number) - 4, 0)}{number[-4:]}"
    if len(text) <= 12:
        return text[:3] + "*" * (len(text) - 7) + text[-4:]
    return text[:6] + "*" * (len(text) - 10) + text[-4:]


def mask_fields(domain: str, values: Mapping[str, Any], unmasked: bool) -> dict[str, Any]:
    """A copy of `values` with the domain's personal fields masked unless `unmasked`."""
    out = dict(values)
    if unmasked:
        return out
    for field in PII_FIELDS.get(domain, frozenset()):
        if out.get(field) is not None:
            out[field] = mask_value(str(out[field]))
    return out


def mask_text(text: str) -> str:
    """Mask every ID-like or phone-like run inside free text."""
    if not _SEVEN_DIGITS.search(text):
        return text

    def sub(m: re.Match[str]) -> str:
        return mask_value(m.group(0))
    return _PHONE_LIKE.sub(sub, _ID_LIKE.sub(sub, text))


def mask_raw(raw: str | None, unmasked: bool) -> dict[str, Any] | str | None:
    """The department's raw row (JSON text) as a dict, with ID- and phone-like values masked."""
    if raw is None:
        return None
    try:
        row = orjson.loads(raw)
    except (TypeError, ValueError):
        return raw if unmasked else mask_text(str(raw))
    if unmasked or not isinstance(row, dict):
        return row
    return {k: mask_text(v) if isinstance(v, str) else v for k, v in row.items()}
