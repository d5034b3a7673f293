"""Field types that need no country-specific knowledge: text, code, number, date, a plain
identifier and a name in Latin script (schema types `text`, `code`, `number`, `date`,
`identifier` with `standard: none`, `name`).

Two layers, so a type dispatcher can use either:

- ``clean_<type>(text)`` reads one raw value (already stripped, placeholders already None,
  as ``Frame.raw`` gives them) and returns the canonical value, or None for what it cannot
  read. They are pure and cheap to hand to ``Frame.distinct``.
- ``<type>(values)`` takes a numpy object array of raw cells (any Python values, None/NaN
  missing) and returns a :class:`Standardized`: the canonical values, the derived parts by
  name and which present cells could not be read. Each distinct value is cleaned once.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from resolver.standardize.dates import parse_date
from resolver.standardize.fields import raw_value
from resolver.standardize.values import parse_number

_SPACES = re.compile(r"\s+")
_NOT_ALNUM = re.compile(r"[^0-9A-Za-z]+")
# Letters (any script, accents kept), apostrophes and hyphens inside names become spaces:
# o'brien and o brien, smith-jones and smith jones are the same spelling to a clerk.
_NAME_SEPARATORS = re.compile(r"[\W\d_]+")
_SOUNDEX = {**dict.fromkeys("bfpv", "1"), **dict.fromkeys("cgjkqsxz", "2"),
            **dict.fromkeys("dt", "3"), "l": "4", **dict.fromkeys("mn", "5"), "r": "6"}


@dataclass(frozen=True)
class Standardized:
    """One field standardized: per-row canonical values, derived parts, unreadable cells."""

    values: np.ndarray                       # object array, None where missing or unreadable
    parts: dict[str, np.ndarray] = field(default_factory=dict)  # e.g. {"valid": …, "phonetic": …}
    unreadable: np.ndarray | None = None     # bool: a value was given but could not be read

    def __post_init__(self) -> None:
        if self.unreadable is None:
            object.__setattr__(self, "unreadable", np.zeros(len(self.values), dtype=bool))


# --- one value ---------------------------------------------------------------------------


def clean_text(text: str | None) -> str | None:
    """Free text: NFKC, case-folded, runs of whitespace one space; None when nothing is left."""
    if text is None:
        return None
    out = _SPACES.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()
    return out or None


def clean_code(text: str | None, allowed: frozenset[str] | None = None) -> str | None:
    """A value of a code list, as text; None when a list is given and the value is not in it."""
    out = clean_text(text)
    if out is None or allowed is None:
        return out
    return out if out in allowed else None


def clean_number(text: str | None) -> float | None:
    """A number as typed (thousands commas and spaces ignored); None when it is not one."""
    return parse_number(text)


def clean_date(text: str | None) -> str | None:
    """ISO ``YYYY-MM-DD`` from the formats departments type (resolver.standardize.dates)."""
    return parse_date(text)


def clean_identifier(text: str | None) -> str | None:
    """An identifier with no check character: its letters and digits only, upper-cased."""
    if text is None:
        return None
    out = _NOT_ALNUM.sub("", unicodedata.normalize("NFKC", text)).upper()
    return out or None


def clean_name(text: str | None) -> str | None:
    """A Latin-script name: lower-case, punctuation and digits out, one space between words."""
    if text is None:
        return None
    out = _NAME_SEPARATORS.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()
    return out or None


def soundex(text: str | None) -> str | None:
    """American Soundex of a cleaned name (all its words as one): smith and smyth share S530,
    so a key on it survives a typo that keeps the sound."""
    if not text:
        return None
    letters = [c for c in unicodedata.normalize("NFKD", text) if "a" <= c <= "z"]
    if not letters:
        return None
    first = letters[0]
    digits: list[str] = []
    last = _SOUNDEX.get(first, "")
    for c in letters[1:]:
        code = _SOUNDEX.get(c, "")
        if code and code != last:
            digits.append(code)
        if c not in "hw":  # h and w do not separate two letters of one code; vowels do
            last = code
    return (first.upper() + "".join(digits) + "000")[:4]


# --- a column ----------------------------------------------------------------------------


def _distinct(values: np.ndarray, func: Callable[[str], Any]) -> tuple[np.ndarray, np.ndarray]:
    """Per-row ``func`` of each cell read as text, evaluated once per distinct value; and
    which rows had a value at all (not missing, not a placeholder such as '' or '-')."""
    codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=True)
    texts = [_text(u) for u in uniques]
    table = np.empty(len(texts) + 1, dtype=object)
    table[: len(texts)] = [func(t) if t is not None else None for t in texts]
    table[-1] = None
    given = np.append(np.array([t is not None for t in texts], dtype=bool), False)
    return table[codes], given[codes]


def _text(value: Any) -> str | None:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 4223.0 from a spreadsheet is the code 4223
    return raw_value(value)


def _column(values: np.ndarray, func: Callable[[str], Any]) -> Standardized:
    out, given = _distinct(values, func)
    return Standardized(out, unreadable=given & pd.isna(out))


def text(values: np.ndarray) -> Standardized:
    """Type ``text``."""
    return _column(values, clean_text)


def code(values: np.ndarray, allowed: Iterable[str] | None = None) -> Standardized:
    """Type ``code``; ``allowed`` is the schema's ``values:`` list (compared as cleaned text)."""
    known = frozenset(filter(None, map(clean_text, allowed))) if allowed is not None else None
    return _column(values, lambda t: clean_code(t, known))


def number(values: np.ndarray) -> Standardized:
    """Type ``number``: floats."""
    return _column(values, clean_number)


def date(values: np.ndarray) -> Standardized:
    """Type ``date``: ISO strings."""
    return _column(values, clean_date)


def identifier(values: np.ndarray) -> Standardized:
    """Type ``identifier`` without a ``standard``: part ``valid`` is None throughout (nothing
    to check), so rules written ``when_valid`` never apply and two values never conflict."""
    result = _column(values, clean_identifier)
    valid = np.full(len(result.values), None, dtype=object)
    return Standardized(result.values, {"valid": valid}, result.unreadable)


def name(values: np.ndarray) -> Standardized:
    """Type ``name`` (Latin script): part ``phonetic`` is the Soundex code of the cleaned name."""
    result = _column(values, clean_name)
    phonetic, _ = _distinct(result.values, soundex)
    return Standardized(result.values, {"phonetic": phonetic}, result.unreadable)


# Type name in schema.yaml -> column function; ``code`` also takes the field's ``values``.
TYPES: dict[str, Callable[..., Standardized]] = {
    "text": text, "code": code, "number": number, "date": date, "identifier": identifier,
    "name": name,
}
