"""The administrative division table (data/admin_divisions.csv) and look-ups into it."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources


@dataclass(frozen=True)
class Division:
    """One administrative division as it is today (abolished ones resolve to their successor)."""

    code: str
    name: str
    short: str
    level: str  # province / city / district
    parent_code: str | None


def _read_csv(filename: str) -> list[dict[str, str]]:
    text = resources.files("resolver.standardize").joinpath("data", filename).read_text("utf-8")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return list(csv.DictReader(io.StringIO("\n".join(lines))))


@lru_cache(maxsize=1)
def _tables() -> tuple[dict[str, Division], dict[str, str], dict[tuple[str, str], str]]:
    rows = _read_csv("admin_divisions.csv")
    raw = {r["code"]: r for r in rows}
    by_code: dict[str, Division] = {}
    for code, r in raw.items():
        target = raw[r["current_code"]] if r["current_code"] else r
        by_code[code] = Division(
            target["code"], target["name"], target["short"], target["level"],
            target["parent_code"] or None,
        )
    # Full names first, then short names; a current division wins a shared short name.
    by_name: dict[str, str] = {}
    for r in sorted(rows, key=lambda r: bool(r["current_code"])):
        by_name.setdefault(r["name"], r["code"])
    for r in sorted(rows, key=lambda r: bool(r["current_code"])):
        by_name.setdefault(r["short"], r["code"])
    for r in _read_csv("division_aliases.csv"):
        by_name.setdefault(r["alias"], r["code"])
    moves = {(m["old_code"], m["town"]): m["new_code"] for m in _read_csv("town_moves.csv")}
    return by_code, by_name, moves


def known_region_code(code: str) -> bool:
    """True if the 6-digit code is a division in our table (current or abolished)."""
    return code in _tables()[0]


def division_by_code(code: str) -> Division | None:
    """The current division for a code; abolished codes give their successor."""
    return _tables()[0].get(code)


def division_by_name(name: str) -> Division | None:
    """The current division for a full (西湖区) or short (西湖) name; 江干区 gives 上城区."""
    code = _tables()[1].get(name)
    return _tables()[0][code] if code else None


def original_code(name: str) -> str | None:
    """The code a name had when it was given, before any reform (江干区 → 330104)."""
    return _tables()[1].get(name)


def moved_town_code(old_code: str, town: str) -> str | None:
    """Where a town of a split district went in 2021 (余杭区 塘栖 → 临平区), if it moved."""
    return _tables()[2].get((old_code, town))


def division_names(level: str) -> list[str]:
    """All full and short names of one level, longest first (for prefix matching)."""
    rows = _read_csv("admin_divisions.csv")
    names = {r["name"] for r in rows if r["level"] == level}
    names |= {r["short"] for r in rows if r["level"] == level}
    codes = {r["code"] for r in rows if r["level"] == level}
    names |= {r["alias"] for r in _read_csv("division_aliases.csv") if r["code"] in codes}
    return sorted(names, key=len, reverse=True)


def children(code: str) -> list[Division]:
    """Current divisions directly under ``code``."""
    return [d for c, d in _tables()[0].items() if d.parent_code == code and c == d.code]
