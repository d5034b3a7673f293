"""`relations.yaml` of the rules folder read into `RelationRules`: the relations across domains,
what an answer shows of a related entity, and the 协查 verification's checks.

Loading checks every key against the domains' schemas and reports every problem at once,
naming the file and the key (ConfigError), as the other rule files do. docs/relations.md
describes the file. A rules folder without relations.yaml has no relations.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from resolver import yamlfile
from resolver.domains import DomainSchema, load_domains
from resolver.errors import ConfigError
from resolver.paths import rules_dir

FILE = "relations.yaml"
_NAME = re.compile(r"[a-z][a-z0-9_]*")
_TOP = {"relations", "show", "verification"}
_RELATION = {"label", "from", "to", "where", "single", "match"}
_STEP = {"confidence", "keys"}
_VERIFICATION = {"domain", "checks", "bands", "applicants"}
_CHECK = {"name", "label", "relations", "sources", "show", "relation", "date"}


@dataclass(frozen=True)
class MatchStep:
    """One way of finding the related entity: these keys (from-field → to-field) find exactly one."""

    confidence: str
    keys: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Relation:
    name: str
    label: str
    source_domain: str   # `from`: the domain whose records carry the evidence
    target_domain: str   # `to`
    steps: tuple[MatchStep, ...]
    where: dict[str, tuple[str, ...]] = field(default_factory=dict)  # golden field of the from-entity → values
    single: bool = False

    def touches(self, domain: str) -> bool:
        return domain in (self.source_domain, self.target_domain)

    @property
    def domains(self) -> tuple[str, str]:
        return self.source_domain, self.target_domain


@dataclass(frozen=True)
class Band:
    below: float | None  # None: the last band, everything above
    label: str


@dataclass(frozen=True)
class Check:
    """One item kind of the 协查 answer: related entities of `relations`, or the entity's own
    records of `sources`."""

    name: str
    label: str
    show: tuple[str, ...]
    relations: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    relation: str | None = None      # for own records: the relation giving each record's related entity
    date: tuple[str, ...] = ()


@dataclass(frozen=True)
class Verification:
    domain: str
    checks: tuple[Check, ...]
    bands: dict[str, tuple[Band, ...]]
    applicants: dict[str, str] = field(default_factory=dict)  # applicants file header → field (`resolver verify`)


@dataclass(frozen=True)
class RelationRules:
    path: str
    relations: dict[str, Relation]
    show: dict[str, tuple[str, ...]]
    verification: Verification | None

    def touching(self, domain: str) -> list[Relation]:
        return [r for r in self.relations.values() if r.touches(domain)]

    def pairs(self) -> list[tuple[str, str]]:
        """The domain pairs (sorted) that hold relations: one store table each."""
        return sorted({tuple(sorted(r.domains)) for r in self.relations.values()})  # type: ignore[misc]


def _names(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def _relation(name: str, raw: Any, schemas: dict[str, DomainSchema], problems: list[str]) -> Relation | None:
    where = f"relations.{name}"
    if not _NAME.fullmatch(name):
        problems.append(f"{where}: a relation name is lower-case letters, digits and _")
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be a mapping with from, to and match")
        return None
    problems += [f"{where}.{k}: unknown key (allowed: {', '.join(sorted(_RELATION))})" for k in raw if k not in _RELATION]
    ends = []
    for end in ("from", "to"):
        domain = raw.get(end)
        if domain not in schemas:
            problems.append(f"{where}.{end}: '{domain}' is not a domain ({', '.join(schemas) or 'none'})")
        ends.append(str(domain))
    source, target = ends
    steps: list[MatchStep] = []
    match = raw.get("match")
    if not isinstance(match, list) or not match:
        problems.append(f"{where}.match: must list at least one step with confidence and keys")
        match = []
    for i, step in enumerate(match):
        at = f"{where}.match[{i}]"
        if not isinstance(step, dict):
            problems.append(f"{at}: must be a mapping with confidence and keys")
            continue
        problems += [f"{at}.{k}: unknown key (allowed: {', '.join(sorted(_STEP))})" for k in step if k not in _STEP]
        confidence = step.get("confidence")
        if not (isinstance(confidence, str) and _NAME.fullmatch(confidence)):
            problems.append(f"{at}.confidence: must be a plain name (exact_id, name_district …)")
        keys = step.get("keys")
        if not isinstance(keys, dict) or not keys:
            problems.append(f"{at}.keys: must map a {source} column to a {target} column")
            continue
        for left, right in keys.items():
            for side, domain, column in (("from", source, left), ("to", target, right)):
                if domain in schemas and column not in schemas[domain].columns():
                    problems.append(f"{at}.keys: '{column}' is not a column of {domain} records ({side} side)")
        steps.append(MatchStep(str(confidence), tuple((str(k), str(v)) for k, v in keys.items())))
    filters: dict[str, tuple[str, ...]] = {}
    for key, values in (raw.get("where") or {}).items() if isinstance(raw.get("where"), dict) else ():
        if source in schemas and key not in schemas[source].fields:
            problems.append(f"{where}.where.{key}: not a field of {source}")
        listed = _names(values)
        if listed is None:
            problems.append(f"{where}.where.{key}: must list the values the field may take")
        filters[str(key)] = listed or ()
    if raw.get("where") is not None and not isinstance(raw.get("where"), dict):
        problems.append(f"{where}.where: must map a field to its values")
    if not isinstance(raw.get("single", False), bool):
        problems.append(f"{where}.single: must be true or false")
    return Relation(name, str(raw.get("label") or name), source, target, tuple(steps), filters,
                    bool(raw.get("single", False)))


def _show(raw: Any, schemas: dict[str, DomainSchema], problems: list[str]) -> dict[str, tuple[str, ...]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append("show: must map a domain to the fields an answer shows of its entities")
        return {}
    out: dict[str, tuple[str, ...]] = {}
    for domain, fields in raw.items():
        listed = _names(fields)
        if domain not in schemas:
            problems.append(f"show.{domain}: not a domain")
        elif listed is None:
            problems.append(f"show.{domain}: must list fields")
        else:
            columns = set(schemas[domain].columns())
            problems += [f"show.{domain}: '{f}' is not a column of {domain}" for f in listed if f not in columns]
            out[str(domain)] = listed
    return out


def _bands(raw: Any, problems: list[str]) -> dict[str, tuple[Band, ...]]:
    out: dict[str, tuple[Band, ...]] = {}
    for name, bands in (raw or {}).items() if isinstance(raw, dict) else ():
        at = f"verification.bands.{name}"
        if not isinstance(bands, list) or not bands:
            problems.append(f"{at}: must list bands, each with below and label, the last with a label only")
            continue
        parsed = []
        for i, band in enumerate(bands):
            last = i == len(bands) - 1
            if not isinstance(band, dict) or not isinstance(band.get("label"), str) or \
                    (not last and not isinstance(band.get("below"), (int, float))) or (last and "below" in band):
                problems.append(f"{at}[{i}]: needs `label`, and `below` (a number) unless it is the last band")
                continue
            parsed.append(Band(None if last else float(band["below"]), band["label"]))
        belows = [b.below for b in parsed if b.below is not None]
        if belows != sorted(belows):
            problems.append(f"{at}: `below` must rise from band to band")
        out[str(name)] = tuple(parsed)
    if raw is not None and not isinstance(raw, dict):
        problems.append("verification.bands: must map a field to its bands")
    return out


def _check(i: int, raw: Any, domain: str, schemas: dict[str, DomainSchema], relations: dict[str, Relation],
           problems: list[str]) -> Check | None:
    at = f"verification.checks[{i}]"
    if not isinstance(raw, dict):
        problems.append(f"{at}: must be a mapping with name, label, show and relations or sources")
        return None
    problems += [f"{at}.{k}: unknown key (allowed: {', '.join(sorted(_CHECK))})" for k in raw if k not in _CHECK]
    name = raw.get("name")
    if not (isinstance(name, str) and _NAME.fullmatch(name)):
        problems.append(f"{at}.name: must be a plain name")
    lists = {k: _names(raw.get(k) or []) for k in ("relations", "sources", "show", "date")}
    for key, value in lists.items():
        if value is None:
            problems.append(f"{at}.{key}: must be a list of names")
    related, sources = lists["relations"] or (), lists["sources"] or ()
    if bool(related) == bool(sources):
        problems.append(f"{at}: give either `relations` (related entities) or `sources` (the entity's own records)")
    shown_domain = domain
    for rel in related:
        found = relations.get(rel)
        if found is None:
            problems.append(f"{at}.relations: '{rel}' is not a relation of this file")
        elif domain not in found.domains:
            problems.append(f"{at}.relations: '{rel}' does not touch {domain}")
        else:
            shown_domain = found.target_domain if found.source_domain == domain else found.source_domain
    relation = raw.get("relation")
    if relation is not None and (relation not in relations or relations[relation].source_domain != domain):
        problems.append(f"{at}.relation: '{relation}' is not a relation from {domain}")
    if shown_domain in schemas:
        columns = set(schemas[shown_domain].columns())
        for key in ("show", "date"):
            problems += [f"{at}.{key}: '{f}' is not a column of {shown_domain}"
                         for f in lists[key] or () if f not in columns]
    return Check(str(name), str(raw.get("label") or name), lists["show"] or (), related, sources,
                 relation if isinstance(relation, str) else None, lists["date"] or ())


def _verification(raw: Any, schemas: dict[str, DomainSchema], relations: dict[str, Relation],
                  problems: list[str]) -> Verification | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        problems.append("verification: must be a mapping with domain and checks")
        return None
    problems += [f"verification.{k}: unknown key (allowed: {', '.join(sorted(_VERIFICATION))})"
                 for k in raw if k not in _VERIFICATION]
    domain = raw.get("domain")
    if domain not in schemas:
        problems.append(f"verification.domain: '{domain}' is not a domain")
    checks_raw = raw.get("checks")
    if not isinstance(checks_raw, list) or not checks_raw:
        problems.append("verification.checks: must list at least one check")
        checks_raw = []
    checks = [found for i, c in enumerate(checks_raw)
              if (found := _check(i, c, str(domain), schemas, relations, problems)) is not None]
    applicants = raw.get("applicants") or {}
    if not isinstance(applicants, dict):
        problems.append("verification.applicants: must map an applicants file's header to a field")
        applicants = {}
    if domain in schemas:
        problems += [f"verification.applicants.{h}: '{f}' is not a field of {domain}"
                     for h, f in applicants.items() if f not in schemas[str(domain)].fields]
    return Verification(str(domain), tuple(checks), _bands(raw.get("bands"), problems),
                        {str(h): str(f) for h, f in applicants.items()})


def parse_relations(raw: Any, path: str, schemas: dict[str, DomainSchema]) -> RelationRules:
    """`raw` (relations.yaml as data) checked against `schemas`; one ConfigError with every problem."""
    if raw is None:
        return RelationRules(path, {}, {}, None)
    if not isinstance(raw, dict):
        raise ConfigError(path, ["top level must be a mapping with relations, show and verification"])
    problems = [f"unknown key '{k}' (allowed: {', '.join(sorted(_TOP))})" for k in raw if k not in _TOP]
    relations_raw = raw.get("relations") or {}
    if not isinstance(relations_raw, dict):
        problems.append("relations: must map each relation's name to its description")
        relations_raw = {}
    relations = {str(n): r for n, spec in relations_raw.items()
                 if (r := _relation(str(n), spec, schemas, problems)) is not None}
    show = _show(raw.get("show"), schemas, problems)
    verification = _verification(raw.get("verification"), schemas, relations, problems)
    if problems:
        raise ConfigError(path, problems)
    return RelationRules(path, relations, show, verification)


@lru_cache(maxsize=8)
def _load(path: str, stamp: int, root: str) -> RelationRules:
    try:
        raw = yamlfile.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(path, [f"not valid YAML: {exc}"]) from None
    return parse_relations(raw, path, load_domains(root))


def load_relations(root: str | Path | None = None) -> RelationRules:
    """relations.yaml of the rules folder ($RESOLVER_RULES or matching_rules/), validated; an
    empty set when the folder has none. Re-read when the file changes."""
    base = Path(root) if root is not None else rules_dir()
    path = base / FILE
    try:
        stamp = os.stat(path).st_mtime_ns
    except OSError:
        return RelationRules(str(path), {}, {}, None)
    return _load(str(path), stamp, str(base))
