"""Source mapping files: how one department's export maps onto canonical fields (SPEC §2).

Loading validates the whole file and reports every problem at once, naming the file and key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from resolver.errors import ConfigError

DOMAIN_SOURCES = {
    "enterprise": ("tax", "commerce", "quality", "statistics"),
    "person": ("police", "social_security", "civil_affairs", "housing_fund"),
}

CANONICAL_FIELDS = {
    "enterprise": (
        "name", "uscc", "org_code", "reg_no", "tax_id", "legal_rep", "legal_rep_id",
        "address", "phone", "established", "status", "industry_code", "registered_capital",
        "employees", "revenue", "activity_date", "entity_kind",
    ),
    "person": ("name", "id_number", "sex", "birth_date", "address", "phone"),
}

ENCODINGS = ("auto", "utf-8", "utf-8-sig", "gbk", "gb18030", "gb2312")
_KEYS = {"source", "domain", "record_id", "encoding", "header_row", "header_rows", "sheet", "columns", "values"}
_REQUIRED = ("source", "domain", "record_id", "columns")


@dataclass(frozen=True)
class SourceMapping:
    """One department export's mapping onto canonical fields."""

    path: str
    source: str
    domain: str
    record_id: str
    columns: dict[str, str]
    encoding: str = "auto"
    header_row: int = 1
    header_rows: int = 1  # 2: a group row (merged cells) above the field names, header_row being the upper
    sheet: str | int | None = None
    values: dict[str, dict[str, str]] = field(default_factory=dict)

    def canonical_fields(self) -> list[str]:
        return list(self.columns.values())


def load_mapping(path: str | Path) -> SourceMapping:
    """Read and validate a mapping file; raise ConfigError listing every problem."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(str(path), ["file not found"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError(str(path), [f"not valid YAML: {exc}"]) from None
    if not isinstance(raw, dict):
        raise ConfigError(str(path), ["top level must be a mapping of keys"])
    problems = _validate(raw)
    if problems:
        raise ConfigError(str(path), problems)
    values = {f: {str(k): str(v) for k, v in m.items()} for f, m in (raw.get("values") or {}).items()}
    return SourceMapping(
        path=str(path),
        source=raw["source"],
        domain=raw["domain"],
        record_id=str(raw["record_id"]),
        columns={str(k): str(v) for k, v in raw["columns"].items()},
        encoding=str(raw.get("encoding") or "auto").lower(),
        header_row=int(raw.get("header_row") or 1),
        header_rows=int(raw.get("header_rows") or 1),
        sheet=raw.get("sheet"),
        values=values,
    )


def _validate(raw: dict[str, Any]) -> list[str]:
    problems = [f"unknown key '{k}' (allowed: {', '.join(sorted(_KEYS))})" for k in raw if k not in _KEYS]
    problems += [f"missing required key '{k}'" for k in _REQUIRED if k not in raw]
    domain = raw.get("domain")
    if "domain" in raw and domain not in DOMAIN_SOURCES:
        problems.append(f"domain: '{domain}' is not one of {', '.join(DOMAIN_SOURCES)}")
    source = raw.get("source")
    if domain in DOMAIN_SOURCES and "source" in raw and source not in DOMAIN_SOURCES[domain]:
        problems.append(f"source: '{source}' is not a {domain} source ({', '.join(DOMAIN_SOURCES[domain])})")
    enc = str(raw.get("encoding") or "auto").lower()
    if enc not in ENCODINGS:
        problems.append(f"encoding: '{enc}' is not one of {', '.join(ENCODINGS)}")
    header_row = raw.get("header_row", 1)
    if not isinstance(header_row, int) or header_row < 1:
        problems.append(f"header_row: must be a positive integer, got {header_row!r}")
    header_rows = raw.get("header_rows", 1)
    if not isinstance(header_rows, int) or not 1 <= header_rows <= 3:
        problems.append(f"header_rows: must be 1, 2 or 3 (lines the header spans), got {header_rows!r}")
    columns = raw.get("columns")
    if "columns" in raw:
        if not isinstance(columns, dict) or not columns:
            problems.append("columns: must map source column names to canonical fields")
        elif domain in CANONICAL_FIELDS:
            allowed = CANONICAL_FIELDS[domain]
            for col, canon in columns.items():
                if canon not in allowed:
                    problems.append(f"columns.{col}: '{canon}' is not a canonical {domain} field")
            targets = list(columns.values())
            for dup in sorted({t for t in targets if targets.count(t) > 1}):
                problems.append(f"columns: canonical field '{dup}' is mapped more than once")
    values = raw.get("values")
    if values is not None:
        if not isinstance(values, dict):
            problems.append("values: must map a canonical field to a {source value: canonical value} map")
        else:
            mapped = set((columns or {}).values()) if isinstance(columns, dict) else set()
            for fname, vmap in values.items():
                if not isinstance(vmap, dict):
                    problems.append(f"values.{fname}: must be a mapping of source value to canonical value")
                elif mapped and fname not in mapped:
                    problems.append(f"values.{fname}: field is not mapped in columns")
    return problems
