"""Source mapping files: how one department's export maps onto canonical fields (SPEC §2).

Loading validates the whole file and reports every problem at once, naming the file and key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from resolver import yamlfile
from resolver.domains import DomainSchema, domain_names, load_schema
from resolver.errors import ConfigError
from resolver.paths import rules_dir

ENCODINGS = ("auto", "utf-8", "utf-8-sig", "gbk", "gb18030", "gb2312")
# What a department's records mean to domain rules (the 漏管户 rule names roles, never sources).
_KEYS = {"source", "domain", "label", "roles", "record_id", "encoding", "header_row", "header_rows", "sheet",
         "columns", "values", "public_columns", "record_date"}
_REQUIRED = ("source", "domain", "record_id", "columns")


@dataclass(frozen=True)
class SourceMapping:
    """One department export's mapping onto canonical fields."""

    path: str
    source: str
    domain: str
    record_id: str
    columns: dict[str, str]
    label: str = ""  # the department's own name, shown to people (税务, 工商 …)
    roles: tuple[str, ...] = ()
    encoding: str = "auto"
    header_row: int = 1
    header_rows: int = 1  # 2: a group row (merged cells) above the field names, header_row being the upper
    sheet: str | int | None = None
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    # Unmapped columns a caller without the domain's pii scope may see in raw rows; every
    # other unmapped column is hidden from such callers (docs/security.md).
    public_columns: tuple[str, ...] = ()
    # The export column (mapped or not) holding the date a record was written or last confirmed:
    # the data inventory's freshness (resolver.inventory). None: the export carries no such date.
    record_date: str | None = None

    def canonical_fields(self) -> list[str]:
        return list(self.columns.values())


def load_mapping(path: str | Path) -> SourceMapping:
    """Read and validate a mapping file; raise ConfigError listing every problem."""
    path = Path(path)
    try:
        raw = yamlfile.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(str(path), ["file not found"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError(str(path), [f"not valid YAML: {exc}"]) from None
    if not isinstance(raw, dict):
        raise ConfigError(str(path), ["top level must be a mapping of keys"])
    schema = _schema_for(raw.get("domain"), path)
    problems = _validate(raw, schema, path)
    if problems:
        raise ConfigError(str(path), problems)
    values = {f: {str(k): str(v) for k, v in m.items()} for f, m in (raw.get("values") or {}).items()}
    return SourceMapping(
        path=str(path),
        source=raw["source"],
        domain=raw["domain"],
        record_id=str(raw["record_id"]),
        columns={str(k): str(v) for k, v in raw["columns"].items()},
        label=str(raw.get("label") or raw["source"]),
        roles=tuple(str(r) for r in raw.get("roles") or ()),
        encoding=str(raw.get("encoding") or "auto").lower(),
        header_row=int(raw.get("header_row") or 1),
        header_rows=int(raw.get("header_rows") or 1),
        sheet=raw.get("sheet"),
        values=values,
        public_columns=tuple(str(c) for c in raw.get("public_columns") or ()),
        record_date=str(raw["record_date"]) if raw.get("record_date") else None,
    )


def _rules_root(path: Path) -> Path | None:
    """The rules folder a mapping belongs to: `<root>/sources/<source>.yaml` beside
    `<root>/<domain>/schema.yaml`; else the configured rules folder."""
    root = path.resolve().parent.parent
    return root if path.resolve().parent.name == "sources" and any(root.glob("*/schema.yaml")) else None


def _schema_for(domain: Any, path: Path) -> DomainSchema | None:
    root = _rules_root(path)
    if not isinstance(domain, str) or domain not in domain_names(root):
        return None
    return load_schema(domain, root)


def _validate(raw: dict[str, Any], schema: DomainSchema | None, path: Path) -> list[str]:
    problems = [f"unknown key '{k}' (allowed: {', '.join(sorted(_KEYS))})" for k in raw if k not in _KEYS]
    problems += [f"missing required key '{k}'" for k in _REQUIRED if k not in raw]
    domain = raw.get("domain")
    if "domain" in raw and schema is None:
        known = ", ".join(domain_names(_rules_root(path))) or "none"
        problems.append(f"domain: '{domain}' has no schema.yaml in the rules folder (domains: {known})")
    source = raw.get("source")
    if "source" in raw and not (isinstance(source, str) and re.fullmatch(r"[a-z][a-z0-9_]*", source)):
        problems.append(f"source: '{source}' must be a plain name (lower-case letters, digits, _)")
    problems += _validate_roles(raw, schema)
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
        elif schema is not None:
            allowed = schema.canonical_fields()
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
    problems += _validate_public(raw, columns, schema)
    record_date = raw.get("record_date")
    if record_date is not None and not (isinstance(record_date, str) and record_date.strip()):
        problems.append("record_date: must name the export's column holding each record's date")
    return problems


def _validate_roles(raw: dict[str, Any], schema: DomainSchema | None) -> list[str]:
    """Roles come from the domain's schema (`roles:`), so a new domain brings its own."""
    known = tuple(schema.roles) if schema is not None else ()
    problems = []
    label = raw.get("label")
    if "label" in raw and not (isinstance(label, str) and label.strip()):
        problems.append("label: must be the department's name, a non-empty string (税务)")
    roles = raw.get("roles")
    if "roles" in raw:
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            return [*problems, f"roles: must be a list of roles ({', '.join(known)})"]
        if schema is not None:
            problems += [f"roles: unknown role '{r}' (the {schema.name} schema's roles: {', '.join(known) or 'none'})"
                         for r in roles if r not in known]
        problems += [f"roles: '{r}' is listed more than once" for r in sorted({r for r in roles if roles.count(r) > 1})]
    return problems


def _validate_public(raw: dict[str, Any], columns: Any, schema: DomainSchema | None) -> list[str]:
    """`public_columns` lists unmapped columns; the record ID must not be a personal field."""
    problems = []
    mapped = {str(k): str(v) for k, v in columns.items()} if isinstance(columns, dict) else {}
    personal = schema.personal() if schema is not None else {}
    record_id = str(raw.get("record_id"))
    if mapped.get(record_id) in personal:
        problems.append(f"record_id: column '{record_id}' is mapped to personal field "
                        f"'{mapped[record_id]}'; the source record ID is shown to every caller")
    public = raw.get("public_columns")
    if public is None:
        return problems
    if not isinstance(public, list) or not all(isinstance(c, str) and c for c in public):
        return [*problems, "public_columns: must be a list of column names"]
    for col in public:
        if col in mapped:
            problems.append(f"public_columns.{col}: column is mapped to '{mapped[col]}'; "
                            "a mapped column is shown as its field is, so it cannot be listed here")
        if col == record_id:
            problems.append(f"public_columns.{col}: the record ID column is always shown")
    for dup in sorted({c for c in public if public.count(c) > 1}):
        problems.append(f"public_columns: '{dup}' is listed more than once")
    return problems


def sources_of(domain: str, root: str | Path | None = None) -> dict[str, SourceMapping]:
    """Source name -> mapping of every department mapped onto `domain` in the rules folder
    `root` (default: the configured one)."""
    base = Path(root) if root is not None else rules_dir()
    out = {}
    for path in sorted((base / "sources").glob("*.yaml")):
        mapping = load_mapping(path)
        if mapping.domain == domain:
            out[mapping.source] = mapping
    return out
