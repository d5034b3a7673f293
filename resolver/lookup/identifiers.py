"""Which identifier a searched `id=` is, read from the domain's schema: its fields with
`search: identifier` and their standards (SPEC §2).

Each standard says which codes it claims (a valid 15-digit registration number is that, not a
tax number) and which it may also be (an 18-character USCC is also an 18-digit tax number).
The first field whose standard claims the code names the query; every field whose standard
may also hold it is searched too, and a field the schema `fill_from`s a valid one is searched
by the part read from it (a USCC or a region + org code tax number finds the org code).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from resolver.domains import FieldSpec, load_schema
from resolver.errors import InputError
from resolver.standardize import ids

Reading = tuple[str, bool]  # (normalised value, passes its check)


def _tax(code: str) -> Reading | None:
    if len(code) not in (15, 18, 20):
        return None
    value, valid, _ = ids.parse_tax_id(code)
    return value, valid


def _reg_no(code: str) -> Reading | None:
    return (code, ids.is_valid_reg_no(code)) if len(code) == 15 else None


def _resident(code: str) -> Reading | None:
    return ids.normalize_resident_id(code) if len(code) in (15, 18) else None


def _always(reading: Reading) -> bool:
    return True


# standard -> (what it reads from a code it may hold, whether it claims that reading as its
# own, whether a code it claims is nothing else)
_STANDARDS: dict[str, tuple[Callable[[str], Reading | None], Callable[[Reading], bool], bool]] = {
    "uscc": (lambda c: (c, ids.is_valid_uscc(c)) if len(c) == 18 else None, _always, False),
    "org_code": (lambda c: (c, ids.is_valid_org_code(c)) if len(c) == 9 else None, _always, False),
    "reg_no": (_reg_no, lambda r: r[1], True),  # a valid one is that; else it is read as a tax number
    "tax_number": (_tax, _always, False),
    "resident_id": (_resident, _always, False),
    "none": (lambda c: (c, True), _always, False),
}
# a field filled from another: how its value is read from the other's (target, source) standard
_READ_FROM: dict[tuple[str, str], Callable[[str], str | None]] = {
    ("org_code", "uscc"): ids.org_code_from_uscc,
    ("org_code", "tax_number"): lambda v: v[6:] if len(v) == 15 else None,  # region + org code
}
_NAMES = {"uscc": "a USCC (18)", "org_code": "an organization code (9)", "reg_no": "a registration number (15)",
          "tax_number": "a taxpayer number (15, 18 or 20)", "resident_id": "a resident ID (15 or 18)"}


@dataclass(frozen=True)
class IdentifierQuery:
    """A normalised identifier: what it is and which (column, value) pairs to look up."""

    kind: str
    value: str
    valid: bool
    lookups: tuple[tuple[str, str], ...]


def classify(domain: str, code: str) -> IdentifierQuery:
    """The query for the compacted `code`; InputError naming what the domain's identifiers are."""
    schema = load_schema(domain)
    fields = [f for f in schema.fields.values() if f.search == "identifier"]
    # a field with no check claims a code only when no checked standard does
    fields.sort(key=lambda f: f.standard == "none")
    read: dict[str, Reading] = {}
    kind: FieldSpec | None = None
    for spec in fields:
        reader, claims, alone = _STANDARDS[str(spec.standard)]
        got = reader(code)
        if got is None:
            continue
        if kind is None and claims(got) and alone:
            return IdentifierQuery(spec.name, *got, ((spec.name, got[0]),))
        read[spec.name] = got
        if kind is None and claims(got):
            kind = spec
    if kind is None:
        expected = ", ".join(dict.fromkeys(_NAMES.get(str(f.standard), f.name) for f in fields)) or "none"
        raise InputError(f"id is not an identifier of this domain: expected {expected}")
    lookups = [(kind.name, read[kind.name][0])]
    lookups += [(name, value) for name, (value, _) in read.items() if name != kind.name]
    for spec in schema.fields.values():
        for source in spec.fill_from:
            got = read.get(source)
            part = _READ_FROM.get((str(spec.standard), str(schema.fields[source].standard)))
            if got is not None and got[1] and part is not None and (inner := part(got[0])):
                lookups.append((spec.name, inner))
    return IdentifierQuery(kind.name, *read[kind.name], tuple(dict.fromkeys(lookups)))
