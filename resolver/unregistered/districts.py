"""The worklist's district filter: any name a person types (西湖, 西湖区, 江干, a 6-digit code) → the
district as it is today, or an error naming the districts we know.

Records carry today's district (resolver.standardize.address moves 江干区 addresses to 上城区
when they are read), so a filter by an old name selects the current district's cases and says
so (`note`), instead of silently finding nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from resolver.errors import InputError
from resolver.standardize.regions import (
    children,
    division_by_code,
    division_by_name,
    division_names,
    original_code,
)

CITY_CODE = "330100"  # the reference city (Hangzhou): its districts are the ones listed in errors


@dataclass(frozen=True)
class District:
    """A district filter: the current `name` and `code` (None for a district outside our table,
    matched by name), and `note` when the asked name was an old one."""

    asked: str
    name: str
    code: str | None
    note: str | None = None


def current_districts() -> list[str]:
    """Today's district names of the reference city, in code order."""
    return [d.name for d in sorted(children(CITY_CODE), key=lambda d: d.code)]


def old_districts() -> dict[str, str]:
    """Abolished district names (full form) → the district their area belongs to today."""
    out: dict[str, str] = {}
    for name in division_names("district"):
        now, then = division_by_name(name), original_code(name)
        if now is None or then is None or then == now.code or not name.endswith(("区", "县", "市")):
            continue
        was = division_by_code(then)
        if was is not None and was.parent_code == CITY_CODE:
            out[name] = now.name
    return dict(sorted(out.items()))


def known_text() -> str:
    olds = "、".join(f"{old}→{now}" for old, now in old_districts().items())
    return f"known: {'、'.join(current_districts())}; old names: {olds}"


def resolve_district(text: str, present: Iterable[str] = ()) -> District:
    """The district `text` means: a full or short name (西湖区, 西湖), an old name (江干 → 上城区),
    an alias (钱塘新区), a 6-digit code, or a district name found on the list (`present`, for
    districts of other cities). Raises InputError naming the known districts otherwise."""
    asked = text.strip()
    division = division_by_code(asked) if asked.isdigit() else division_by_name(asked)
    if division is not None and division.level == "district":
        then = original_code(asked) if not asked.isdigit() else asked
        note = None
        if then is not None and then != division.code:
            old = division_by_code(then)
            was = next((n for n in division_names("district") if original_code(n) == then
                        and n.endswith(("区", "县", "市"))), asked)
            note = f"{was}已撤销，现属{division.name}" if old is not None else None
        return District(asked, division.name, division.code, note)
    if asked and asked in set(present):
        return District(asked, asked, None)
    raise InputError(f"unknown district '{text}' ({known_text()})")
