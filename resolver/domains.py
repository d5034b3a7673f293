"""Domains as data: `matching_rules/<domain>/schema.yaml` read into a `DomainSchema` (SPEC §2).

A schema declares each canonical field's type, sensitivity, search role and derived columns,
and the domain's master-ID prefix. Everything that used to be a per-domain Python constant
(the fields a mapping may name, the store's tables, the masked fields, the searchable
identifiers, the API's domain parameter) follows from the schemas present. docs/schema.md
describes the file; loading reports every problem at once, naming the file and key.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from resolver import yamlfile
from resolver.errors import ConfigError
from resolver.paths import REPO_ROOT, rules_dir

KEY_COLUMNS = ("source", "source_record_id", "unique_id", "row_number")

# Identifier standards (SPEC §2) and the parts each one derives beside the value.
STANDARDS: dict[str, tuple[str, ...]] = {
    "uscc": ("valid",),            # GB 32100-2015 unified social credit code
    "org_code": ("valid",),        # GB 11714 organization code
    "reg_no": ("valid",),          # 15-digit registration number, MOD 11,10
    "tax_number": ("valid", "kind"),  # 15 / 18 / 20-digit tax numbers
    "resident_id": ("valid", "birth_date", "sex", "region"),  # GB 11643
    "none": ("valid",),            # an identifier with no check: normalized only
}
ADDRESS_PARTS = ("province", "city", "district", "district_code", "town", "road", "house_number",
                 "address_rest")
# Each type's derived parts; a part's column is `<field>_<part>` unless `derived:` names it
# (address parts keep their plain names: one address per domain).
TYPES: dict[str, tuple[str, ...]] = {
    "identifier": (),  # parts come from the standard
    "enterprise_name": ("core", "trade_name", "region", "org_form", "parent", "tokens"),
    "person_name": ("pinyin",),
    "name": (),        # a name in Latin script
    "address": ADDRESS_PARTS,
    "phone": ("kind", "valid"),
    "date": ("either",),
    "sex": (),
    "code": (),
    "entity_kind": (),
    "number": (),
    "text": (),
}
SEARCH = ("identifier", "name", "lookup")
MASKS = ("id", "phone", "year", "hide")
# Named tests a conditionally personal field may use (resolver.access.sensitivity implements them).
PII_PREDICATES = ("embeds_resident_id",)

_DOMAIN_KEYS = {"domain", "label", "id_prefix", "fields", "roles", "open_data"}
_FIELD_KEYS = {"type", "standard", "search", "sensitivity", "pii_when", "mask", "derived", "fill_from",
               "distinct_when_valid", "distinct_kinds", "values", "from", "pinyin", "check_against",
               "either_with", "public_parts"}
_NAME = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class FieldSpec:
    """One canonical field of a domain."""

    name: str
    type: str
    standard: str | None = None
    search: str | None = None          # identifier | name | lookup | None
    pii: bool = False
    pii_when: str | None = None        # personal only for values passing this named test
    mask: str | None = None            # how a caller without pii sees it
    parts: dict[str, str] = field(default_factory=dict)  # derived part -> column
    public_parts: tuple[str, ...] = ()
    fill_from: tuple[str, ...] = ()    # identifiers read from these fields when absent
    distinct_when_valid: bool = False  # two different valid values are two entities
    distinct_kinds: tuple[str, ...] = ()
    values: tuple[str, ...] = ()       # allowed values of a code list
    sources_of_kind: dict[str, str] = field(default_factory=dict)  # entity_kind: name / code fields
    pinyin: bool = False
    check_against: str | None = None
    either_with: str | None = None

    def columns(self) -> list[str]:
        return [self.name, *self.parts.values()]

    @property
    def valid_column(self) -> str | None:
        return self.parts.get("valid")


@dataclass(frozen=True)
class OpenData:
    """What a domain may publish as open data (schema.yaml `open_data:`; resolver.open_data).
    Either `records` (golden records, these fields, of the entities `only` keeps and `leave_out`
    does not drop) or `counts_by` (entity counts by two dimensions, cells under `min_cell`
    suppressed). Validated at load: nothing personal can be named (resolver.open_data.declared)."""

    records: tuple[str, ...] = ()
    only: dict[str, tuple[str, ...]] = field(default_factory=dict)
    leave_out: dict[str, tuple[str, ...]] = field(default_factory=dict)
    counts_by: tuple[str, ...] = ()
    age_from: str | None = None
    age_bands: tuple[int, ...] = ()   # lower bounds after 0: [18, 60] -> 0-17, 18-59, 60+
    min_cell: int = 10


@dataclass(frozen=True)
class DomainSchema:
    """A domain's canonical fields, read from its schema.yaml."""

    name: str
    label: str
    id_prefix: str
    fields: dict[str, FieldSpec]
    path: str
    roles: dict[str, str] = field(default_factory=dict)  # what a department's records may mean -> why
    open_data: OpenData | None = None  # what `resolver export open` may publish (resolver.open_data)

    @property
    def pii_scope(self) -> str:
        return f"{self.name}:pii"

    def canonical_fields(self) -> tuple[str, ...]:
        return tuple(self.fields)

    def columns(self) -> list[str]:
        """Every column of a standardized frame: keys, each field with its parts, flags."""
        return [*KEY_COLUMNS, *(c for f in self.fields.values() for c in f.columns()), "std_flags"]

    def of_type(self, type_: str) -> list[FieldSpec]:
        return [f for f in self.fields.values() if f.type == type_]

    def bool_columns(self) -> frozenset[str]:
        return frozenset(f.parts["valid"] for f in self.fields.values() if "valid" in f.parts)

    def float_columns(self) -> frozenset[str]:
        return frozenset(f.name for f in self.fields.values() if f.type == "number")

    def list_columns(self) -> frozenset[str]:
        return frozenset(f.parts["tokens"] for f in self.fields.values() if "tokens" in f.parts)

    def personal(self) -> dict[str, str]:
        """Column -> masked form for a caller without `<domain>:pii`: each pii field by its mask,
        every part derived from it hidden (it repeats part of the value) except its `valid`
        flag and the parts the schema calls public."""
        out: dict[str, str] = {}
        for f in self.fields.values():
            if not f.pii:
                continue
            out[f.name] = f.mask or "hide"
            for part, column in f.parts.items():
                if part != "valid" and part not in f.public_parts:
                    out[column] = "hide"
        return out

    def query_personal(self) -> tuple[str, ...]:
        """Fields a caller without pii may not use in a match query (the answer would tell
        whether a guess equals a stored value)."""
        return tuple(f.name for f in self.fields.values() if f.pii)

    def searchable(self, role: str) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields.values() if f.search == role)

    def distinct_fields(self) -> list[FieldSpec]:
        return [f for f in self.fields.values() if f.distinct_when_valid or f.distinct_kinds]


def _default_mask(spec: dict[str, Any]) -> str:
    if spec.get("type") == "identifier" and spec.get("standard") in ("resident_id", "tax_number"):
        return "id"
    return {"phone": "phone", "date": "year"}.get(str(spec.get("type")), "hide")


def _parts(name: str, spec: dict[str, Any]) -> tuple[str, ...]:
    type_ = spec.get("type")
    if type_ == "identifier":  # the check's flag always; the other parts when `derived:` asks
        named: Any = spec.get("derived") if isinstance(spec.get("derived"), dict) else {}
        return tuple(p for p in STANDARDS.get(str(spec.get("standard") or "none"), ())
                     if p == "valid" or p in named)
    if type_ == "person_name" and not spec.get("pinyin"):
        return ()
    if type_ == "date" and not spec.get("either_with"):
        return ()
    return TYPES.get(str(type_), ())


def _column(field_name: str, part: str, type_: str) -> str:
    return part if type_ == "address" else f"{field_name}_{part}"


def _validate_field(name: str, spec: Any, names: set[str], problems: list[str]) -> None:
    where = f"fields.{name}"
    if not _NAME.fullmatch(name):
        problems.append(f"{where}: a field name is lower-case letters, digits and _")
    if not isinstance(spec, dict):
        problems.append(f"{where}: must be a mapping with at least `type`")
        return
    problems += [f"{where}.{k}: unknown key (allowed: {', '.join(sorted(_FIELD_KEYS))})"
                 for k in spec if k not in _FIELD_KEYS]
    type_ = spec.get("type")
    if type_ not in TYPES:
        problems.append(f"{where}.type: '{type_}' is not one of {', '.join(TYPES)}")
    standard = spec.get("standard")
    if standard is not None and (type_ != "identifier" or standard not in STANDARDS):
        problems.append(f"{where}.standard: '{standard}' is not an identifier standard "
                        f"({', '.join(STANDARDS)}) of an identifier field")
    if spec.get("search") not in (None, *SEARCH):
        problems.append(f"{where}.search: '{spec.get('search')}' is not one of {', '.join(SEARCH)}")
    if spec.get("sensitivity") not in (None, "public", "pii"):
        problems.append(f"{where}.sensitivity: '{spec.get('sensitivity')}' is not public or pii")
    if spec.get("mask") not in (None, *MASKS):
        problems.append(f"{where}.mask: '{spec.get('mask')}' is not one of {', '.join(MASKS)}")
    if spec.get("pii_when") not in (None, *PII_PREDICATES):
        problems.append(f"{where}.pii_when: '{spec.get('pii_when')}' is not one of {', '.join(PII_PREDICATES)}")
    parts = _parts(name, spec)
    derived: Any = spec.get("derived") or {}
    if not isinstance(derived, dict):
        problems.append(f"{where}.derived: must map a part to a column name")
    else:
        offered = STANDARDS.get(str(standard or "none"), ()) if type_ == "identifier" else parts
        problems += [f"{where}.derived.{p}: '{type_}' has no part '{p}' (parts: {', '.join(offered) or 'none'})"
                     for p in derived if p not in offered]
    for key in ("fill_from", "public_parts", "distinct_kinds", "values"):
        value = spec.get(key)
        if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            problems.append(f"{where}.{key}: must be a list of names")
    for other in [*(spec.get("fill_from") or []), spec.get("check_against"), spec.get("either_with"),
                  *((spec.get("from") or {}).values() if isinstance(spec.get("from"), dict) else [])]:
        if other is not None and other not in names:
            problems.append(f"{where}: refers to '{other}', which is not a field of this domain")
    if spec.get("distinct_when_valid") and "valid" not in parts:
        problems.append(f"{where}.distinct_when_valid: the field has no validity check")


def _read(path: Path) -> tuple[Any, list[str]]:
    try:
        return yamlfile.safe_load(path.read_text(encoding="utf-8")), []
    except FileNotFoundError:
        return None, ["file not found"]
    except yaml.YAMLError as exc:
        return None, [f"not valid YAML: {exc}"]


def _build(domain: str, raw: Any, path: Path) -> DomainSchema:
    if not isinstance(raw, dict):
        raise ConfigError(str(path), ["top level must be a mapping with domain, id_prefix and fields"])
    problems = [f"unknown key '{k}' (allowed: {', '.join(sorted(_DOMAIN_KEYS))})" for k in raw
                if k not in _DOMAIN_KEYS]
    if raw.get("domain") != domain:
        problems.append(f"domain: '{raw.get('domain')}' must equal the folder name '{domain}'")
    prefix = raw.get("id_prefix")
    if not (isinstance(prefix, str) and re.fullmatch(r"[A-Z]{1,3}", prefix)):
        problems.append(f"id_prefix: must be 1-3 capital letters, got {prefix!r}")
    fields_raw = raw.get("fields")
    if not isinstance(fields_raw, dict) or not fields_raw:
        problems.append("fields: must map each canonical field to its description")
        fields_raw = {}
    roles = raw.get("roles") or {}
    if not (isinstance(roles, dict) and all(isinstance(k, str) and _NAME.fullmatch(k) and isinstance(v, str)
                                            for k, v in roles.items())):
        problems.append("roles: must map each role (a plain name) to what its records mean")
        roles = {}
    names = {str(n) for n in fields_raw}
    for name, spec in fields_raw.items():
        _validate_field(str(name), spec, names, problems)
    if problems:
        raise ConfigError(str(path), problems)
    specs = {str(n): _spec(str(n), s) for n, s in fields_raw.items()}
    seen: dict[str, str] = {c: "keys" for c in (*KEY_COLUMNS, "std_flags", "raw", "record_hash")}
    for spec in specs.values():
        for column in spec.columns():
            if column in seen:
                problems.append(f"fields.{spec.name}: column '{column}' is also made by {seen[column]}")
            seen[column] = spec.name
    if problems:
        raise ConfigError(str(path), problems)
    open_data = None
    if raw.get("open_data") is not None:
        from resolver.open_data.declared import parse_open_data

        open_data = parse_open_data(raw["open_data"], specs, problems)
    if problems:
        raise ConfigError(str(path), problems)
    return DomainSchema(domain, str(raw.get("label") or domain), str(prefix), specs, str(path), dict(roles),
                        open_data)


def _spec(name: str, raw: dict[str, Any]) -> FieldSpec:
    type_ = str(raw["type"])
    named = raw.get("derived") or {}
    parts = {p: str(named.get(p) or _column(name, p, type_)) for p in _parts(name, raw)}
    pii = raw.get("sensitivity") == "pii"
    return FieldSpec(
        name=name, type=type_, standard=raw.get("standard") or ("none" if type_ == "identifier" else None),
        search=raw.get("search"), pii=pii, pii_when=raw.get("pii_when"),
        mask=(raw.get("mask") or _default_mask(raw)) if pii else None, parts=parts,
        public_parts=tuple(raw.get("public_parts") or ()), fill_from=tuple(raw.get("fill_from") or ()),
        distinct_when_valid=bool(raw.get("distinct_when_valid")),
        distinct_kinds=tuple(raw.get("distinct_kinds") or ()), values=tuple(raw.get("values") or ()),
        sources_of_kind={str(k): str(v) for k, v in (raw.get("from") or {}).items()},
        pinyin=bool(raw.get("pinyin")), check_against=raw.get("check_against"),
        either_with=raw.get("either_with"),
    )


_DEFAULT_ROOT = str(REPO_ROOT / "matching_rules")


def _root_text(root: str | Path | None) -> str:
    """rules_dir() as text, without building a Path: asked for on every masked answer."""
    return str(root) if root is not None else os.environ.get("RESOLVER_RULES") or _DEFAULT_ROOT


def is_domain(name: str, root: str | Path | None = None) -> bool:
    """Whether `name` is a domain with a schema under `root` (one stat, no listing)."""
    if root is None and _recent(_root_text(None), name) is not None:
        return True
    return bool(_NAME.fullmatch(name)) and os.path.isfile(os.path.join(_root_text(root), name, "schema.yaml"))


# The configured rules folder's schemas as last read, with when their file was last checked:
# every answer asks for its domain's schema several times, and a stat each time cost a GET
# ~15 % of its server CPU at 1M. An edited schema is seen within RECHECK_SECONDS.
RECHECK_SECONDS = 1.0
_checked: dict[tuple[str, str], tuple[DomainSchema, float]] = {}


def _recent(root_text: str, domain: str) -> DomainSchema | None:
    found = _checked.get((root_text, domain))
    if found is not None and time.monotonic() - found[1] < RECHECK_SECONDS:
        return found[0]
    return None


def _root(root: str | Path | None) -> Path:
    return Path(root) if root is not None else rules_dir()


@lru_cache(maxsize=64)
def _load(path: str, domain: str, stamp: int) -> DomainSchema:
    raw, problems = _read(Path(path))
    if problems:
        raise ConfigError(path, problems)
    return _build(domain, raw, Path(path))


def load_schema(domain: str, root: str | Path | None = None) -> DomainSchema:
    """The schema of `domain` under `root` (default: the rules folder, $RESOLVER_RULES, whose
    files are checked at most once every RECHECK_SECONDS; a folder given is checked every call)."""
    root_text = _root_text(root)
    if root is None:
        schema = _recent(root_text, domain)
        if schema is not None:
            return schema
    path = os.path.join(root_text, domain, "schema.yaml")
    try:  # one stat per call: every answer asks for its domain's schema
        if not _NAME.fullmatch(domain):  # a domain is a plain name, never a path
            raise FileNotFoundError(path)
        stamp = os.stat(path).st_mtime_ns
    except OSError:
        known = ", ".join(domain_names(root)) or "none"
        raise ConfigError(path, [f"no schema for domain '{domain}' (domains: {known})"]) from None
    schema = _load(path, domain, stamp)
    if root is None:
        _checked[(root_text, domain)] = (schema, time.monotonic())
    return schema


def domain_names(root: str | Path | None = None) -> tuple[str, ...]:
    """Every domain with a schema.yaml under `root`, sorted."""
    base = _root(root)
    if not base.is_dir():
        return ()
    return tuple(sorted(p.parent.name for p in base.glob("*/schema.yaml")))


def load_domains(root: str | Path | None = None) -> dict[str, DomainSchema]:
    """Every domain's schema; master-ID prefixes must differ (an ID names its domain)."""
    schemas = {d: load_schema(d, root) for d in domain_names(root)}
    by_prefix: dict[str, str] = {}
    for name, schema in schemas.items():
        if schema.id_prefix in by_prefix:
            raise ConfigError(schema.path, [f"id_prefix: '{schema.id_prefix}' is also domain "
                                            f"'{by_prefix[schema.id_prefix]}''s prefix"])
        by_prefix[schema.id_prefix] = name
    return schemas
