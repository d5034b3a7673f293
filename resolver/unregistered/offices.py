"""Which tax office (税务所) a case goes to: `<domain>/tax_offices.yaml` beside the 漏管户 rule file.

District → its office; street (街道/乡镇) → a finer office where the file lists it. Data, not
code: the committed file is marked sample data (see its header).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from resolver import yamlfile
from resolver.errors import ConfigError
from resolver.standardize.regions import division_by_name
from resolver.unregistered.rules import default_path

OFFICE_FILE = "tax_offices.yaml"


def street_key(street: str | None) -> str:
    """A street as the table keys it: 湖滨 and 湖滨街道 are one street; towns keep 镇/乡."""
    return (street or "").strip().removesuffix("街道")


@dataclass(frozen=True)
class TaxOffices:
    path: str
    sample: bool
    districts: dict[str, str] = field(default_factory=dict)  # district name -> office
    streets: dict[tuple[str, str], str] = field(default_factory=dict)  # (district, street key) -> office

    def office(self, district: str | None, street: str | None) -> str | None:
        """The office of a case in `district` (today's name) and `street`, else the district's."""
        if not district:
            return None
        return self.streets.get((district, street_key(street))) or self.districts.get(district)

    def names(self) -> list[str]:
        """Every office named in the file, sorted."""
        return sorted({*self.districts.values(), *self.streets.values()})


def office_path() -> Path:
    return default_path().parent / OFFICE_FILE


def load_offices(path: str | Path | None = None) -> TaxOffices:
    """Read the office table; a missing file is an empty table (no office shown); every
    problem of a present one is reported in one ConfigError naming the key."""
    path = Path(path) if path else office_path()
    if not path.is_file():
        return TaxOffices(str(path), sample=False)
    try:
        doc = yamlfile.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(str(path), [f"not valid YAML: {exc}"]) from exc
    if not isinstance(doc, dict):
        raise ConfigError(str(path), ["top level must be a mapping (sample, districts)"])
    p: list[str] = [f"{k}: unknown key (known: districts, sample)" for k in doc if k not in ("sample", "districts")]
    if not isinstance(doc.get("sample", False), bool):
        p.append("sample: must be true or false")
    districts: dict[str, str] = {}
    streets: dict[tuple[str, str], str] = {}
    table = doc.get("districts") or {}
    if not isinstance(table, dict):
        p.append("districts: must be a mapping of district name → {office, streets}")
        table = {}
    for name, entry in table.items():
        _district(str(name), entry, p, districts, streets)
    if p:
        raise ConfigError(str(path), p)
    return TaxOffices(str(path), bool(doc.get("sample", False)), districts, streets)


def _district(name: str, entry: Any, p: list[str], districts: dict[str, str],
              streets: dict[tuple[str, str], str]) -> None:
    key = f"districts.{name}"
    division = division_by_name(name)
    if division is None or division.level != "district":
        p.append(f"{key}: not a district name")
        return
    if division.name != name:
        p.append(f"{key}: not today's name (use {division.name})")
        return
    if not isinstance(entry, dict):
        p.append(f"{key}: must be a mapping (office, streets)")
        return
    p += [f"{key}.{k}: unknown key (known: office, streets)" for k in entry if k not in ("office", "streets")]
    office = entry.get("office")
    if office is not None and not (isinstance(office, str) and office.strip()):
        p.append(f"{key}.office: must be an office name")
    elif office:
        districts[name] = office.strip()
    table = entry.get("streets") or {}
    if not isinstance(table, dict):
        p.append(f"{key}.streets: must be a mapping of street → office")
        return
    for street, street_office in table.items():
        if not (isinstance(street_office, str) and street_office.strip()):
            p.append(f"{key}.streets.{street}: must be an office name")
        elif (name, street_key(str(street))) in streets:
            p.append(f"{key}.streets.{street}: listed twice")
        else:
            streets[(name, street_key(str(street)))] = street_office.strip()
