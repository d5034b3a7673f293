"""Which fields are personal (`pii`), per domain, and how a caller without `<domain>:pii` sees them.

Sensitivity belongs to the field, never to what a value looks like: a column is masked
because of what it is, whatever its value. Each domain's schema.yaml says it
(`sensitivity: pii`, `mask:`, `pii_when:`; resolver.domains); this module reads it.
docs/security.md explains each choice.

Forms (resolver.access.masking applies them):

- `id`: a resident ID, or a value that embeds one — first 6 characters (the region of first
  registration) and stars for the rest: `330182************`. Birth date, sequence number
  and check character are all hidden, so that the birth year shown beside it still leaves
  ~180,000 candidates per person.
- `phone`: a mobile keeps 3 + 4 digits (`138****5678`), a landline its area code and last 4.
- `year`: a date keeps its year (`1979-**-**`). A person's birth date is the middle of the
  resident ID, so it is personal wherever it appears, even when it differs from the ID's.
- `hide`: dropped from the answer. Every column *derived* from a personal field (the ID's
  birth date, sex and region; a phone's kind) is hidden: it repeats part of the value.

Not personal: `_valid` flags and `std_flags` (one bit on a check character, which the
enumeration of a hidden part computes anyway), names, addresses, sex (`sex` is one bit the
ID's sequence number carries too, and counted as known in docs/security.md).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from resolver.domains import DomainSchema, load_schema
from resolver.standardize import ids

ID, PHONE, YEAR, HIDE = "id", "phone", "year", "hide"


def embeds_resident_id(value: Any) -> bool:
    """A tax number that is, or starts with, a resident ID: an individual's 18-character ID
    or the 20-digit number of an individual business (operator's ID + 2 digits), an old
    15-digit ID or that + 2 digits. An 18-character value that fails both checks counts when
    its middle reads as a birth date (a mistyped ID is still nearly the ID).

    Read fail-safe: a real ID counts even when the same characters also pass the USCC check
    (1 ID in 31) or the region + organization code check (1 old ID in 11). The standardizer
    decides such a value from the rest of its record (fields.reads_as_operator_id); masking
    sees the value alone, so it masks both readings (docs/security.md)."""
    if value is None:
        return False
    code, valid, kind = ids.parse_tax_id(str(value))
    if kind == "personal" or ids.is_valid_resident_id(code[:18]):
        return True
    if len(code) in (15, 17) and ids.is_old_resident_id(code[:15]):
        return True
    if len(code) == 18 and not valid:
        return code[:17].isdigit() and _is_date(code[6:14])
    return False


def _is_date(digits: str) -> bool:
    try:
        datetime.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return False
    return 1870 <= int(digits[:4]) <= 2100


# The named tests a schema's `pii_when:` may use: the field is personal only for values passing it.
PREDICATES: dict[str, Callable[[Any], bool]] = {"embeds_resident_id": embeds_resident_id}

# How a field of one identifier standard is read from a value of another (the standardizer's
# `fill_from`), for the pairs where the source can be personal: (target, source) standard.
_READ_FROM: dict[tuple[str, str], Callable[[str], str | None]] = {
    ("org_code", "tax_number"): lambda v: ids.org_code_from_tax_id(ids.parse_tax_id(v)[0]),
}


@dataclass(frozen=True)
class Sensitivity:
    """A domain's personal columns and how each is shown, read once from its schema."""

    domain: str
    forms: dict[str, str]                         # column -> masked form (schema.personal())
    query: tuple[str, ...]                        # fields withheld from a match query
    conditions: dict[str, Callable[[Any], bool]]  # field -> the test its value must pass to be personal
    # (field, conditionally personal field it is filled from, how it is read from that value)
    echoes: tuple[tuple[str, str, Callable[[str], str | None]], ...]

    def condition(self, field: str) -> Callable[[Any], bool] | None:
        return self.conditions.get(field)

    def is_personal(self, field: str, value: Any) -> bool:
        if field not in self.forms:
            return False
        test = self.conditions.get(field)
        return test is None or test(value)

    def repeats(self, values: Mapping[str, Any]) -> set[str]:
        """Fields of one record (or golden record) that are not personal by themselves but repeat
        part of a personal value beside them, shown as stars: a field the schema `fill_from`s a
        conditionally personal field, when its value is the part read from that field's value
        and that value is personal. The organization code read from a tax number that is also
        a resident ID (`341002801012298` read as region + org code gives `801012298`, the old
        ID's birth date and sequence number; an 18-digit one gives 9 of its digits). A
        company's real org code stays readable: it is in its USCC anyway."""
        out: set[str] = set()
        for field, source, read in self.echoes:
            value, whole = values.get(field), values.get(source)
            if value is None or whole is None or not self.conditions[source](whole):
                continue
            inner = read(str(whole))
            if inner and _plain(inner) == _plain(value):
                out.add(field)
        return out


def _build(schema: DomainSchema) -> Sensitivity:
    conditions = {f.name: PREDICATES[f.pii_when] for f in schema.fields.values() if f.pii and f.pii_when}
    echoes = []
    for spec in schema.fields.values():
        if spec.pii:
            continue
        for name in spec.fill_from:
            read = _READ_FROM.get((str(spec.standard), str(schema.fields[name].standard)))
            if name in conditions and read is not None:
                echoes.append((spec.name, name, read))
    return Sensitivity(schema.name, schema.personal(), schema.query_personal(), conditions, tuple(echoes))


_built: dict[int, tuple[DomainSchema, Sensitivity]] = {}


def rules(domain: str | Sensitivity) -> Sensitivity:
    """The sensitivity of `domain`'s fields, as its schema file says now (one schema read; an
    answer that masks many records reads it once and passes the Sensitivity on)."""
    return domain if isinstance(domain, Sensitivity) else sensitivity_of(load_schema(domain))


def sensitivity_of(schema: DomainSchema) -> Sensitivity:
    hit = _built.get(id(schema))
    if hit is None or hit[0] is not schema:
        hit = _built[id(schema)] = (schema, _build(schema))
    return hit[1]


def personal(domain: str) -> dict[str, str]:
    """Column -> masked form of every personal column of `domain`."""
    return rules(domain).forms


def query_personal(domain: str) -> tuple[str, ...]:
    """Canonical fields a caller without the pii scope may not use in a match query (the
    answer would tell whether a guess equals a stored value: docs/security.md)."""
    return rules(domain).query


def condition(domain: str, field: str) -> Callable[[Any], bool] | None:
    """The test a value of `field` must pass to be personal; None when it always is (or never)."""
    return rules(domain).condition(field)


def repeats_personal(domain: str, values: Mapping[str, Any]) -> set[str]:
    """Fields of `values` that repeat part of a personal value beside them (Sensitivity.repeats)."""
    return rules(domain).repeats(values)


def _plain(value: Any) -> str:
    return "".join(c for c in str(value) if c.isalnum()).upper()


def is_personal(domain: str, field: str, value: Any) -> bool:
    """Whether `value` of `field` is personal data in `domain`."""
    return rules(domain).is_personal(field, value)
