"""The 漏管户 rule file (`<domain>/unregistered.yaml` in the rules folder): load and validate at once.

The list is about the domain whose folder holds the file (docs/schema.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from resolver import yamlfile
from resolver.domains import domain_names, load_schema
from resolver.errors import ConfigError
from resolver.paths import rules_dir

CANDIDATE_KEYS = ("uscc", "org_code", "name_core_district", "name", "trade_name_legal_rep",
                  "legal_rep_address", "legal_rep_id", "operator_id")
VETOES = ("different_valid_uscc", "different_valid_org_code", "branch_mismatch", "owned_elsewhere")
FEATURES = ("same_valid_uscc", "same_valid_org_code", "pair_probability", "same_name_core_district",
            "same_name", "same_legal_rep", "same_address", "same_legal_rep_id", "same_trade_name",
            "same_operator_id", "same_district")
STATUSES = ("active", "cancelled", "revoked", "moved_out", "abnormal")
SCORE_WEIGHTS = ("recent_activity", "revenue", "employees", "sources")
SCORE_CAPS = ("revenue", "employees")
REQUIRED_REASONS = ("COMMERCE_ACTIVE", "PAST_TAX_DEADLINE", "NO_TAX_RECORD", "NO_OPERATING_SIGN",
                    "TAX_OF_OTHER_ENTERPRISE", "TAX_ONLY_CANCELLED", "COMMERCE_CLOSED_TAX_ACTIVE",
                    "NEAREST_TAX_VETOED", "LINK_REVIEW", "BRANCH_WITHOUT_TAX")
# The parts the rule gives to departments, each played by the sources holding a role.
PARTS = ("registry", "covering", "activity")
RULE_FILE = "unregistered.yaml"
_TOP = {"roles", "exclude", "grace_days", "unknown_established", "statuses", "operating", "nearest", "score",
        "reasons"}
_EVIDENCE_KEYS = {"role", "reason", "records_min", "revenue_above", "statuses"}


@dataclass(frozen=True)
class Evidence:
    """A sign of operation: at least `records_min` records of the sources holding `role`, each
    with revenue above `revenue_above` and a status in `statuses` where those are given."""

    role: str
    reason: str
    records_min: int = 1
    revenue_above: float | None = None
    statuses: tuple[str, ...] = ()


@dataclass(frozen=True)
class UnregisteredRules:
    path: str
    grace_days: int
    unknown_established: str
    exclude_uscc_prefixes: tuple[str, ...]
    exclude_org_forms: tuple[str, ...]
    roles: dict[str, str]  # part (registry, covering, activity) -> role
    registry_live: tuple[str, ...]
    registry_closed: tuple[str, ...]
    tax_closed: tuple[str, ...]
    tax_active: tuple[str, ...]
    operating: tuple[Evidence, ...]
    candidate_keys: tuple[str, ...]
    vetoes: tuple[str, ...]
    link_review_when: tuple[tuple[str, ...], ...]
    pair_probability_min: float
    max_candidates_per_key: int
    recent_days: int
    weights: dict[str, float]
    caps: dict[str, float]
    record_scores: dict[str, tuple[float, float]]  # evidence role -> (weight, cap)
    reasons: dict[str, str]

    @property
    def domain(self) -> str:
        """The domain the list is about: the folder the rule file lies in."""
        return Path(self.path).resolve().parent.name

    def reason_text(self, code: str, sources: str = "") -> str:
        """The Chinese text; `{sources}` in it names the departments that gave the evidence."""
        return self.reasons.get(code, code).replace("{sources}", sources)


def default_path() -> Path:
    """The rule file of the domain whose rules folder holds one."""
    for domain in domain_names():
        if (rules_dir() / domain / RULE_FILE).is_file():
            return rules_dir() / domain / RULE_FILE
    raise ConfigError(str(rules_dir()), [f"no domain has a {RULE_FILE}"])


def _schema_roles(path: Path) -> tuple[str, ...] | None:
    """The roles of the list's domain: the schema beside the rule file, else (a rule file kept
    elsewhere) the schema of the configured list domain; None when that schema is broken (its
    own problems are reported where it is loaded, and the roles are then not checked)."""
    try:
        if (path.parent / "schema.yaml").is_file():
            return tuple(load_schema(path.parent.name, path.parent.parent).roles)
        return tuple(load_schema(default_path().parent.name).roles)
    except ConfigError:
        return None


def load_rules(path: str | Path | None = None) -> UnregisteredRules:
    """Read the rule file; every problem is reported in one ConfigError naming the key."""
    path = Path(path) if path else default_path()
    try:
        doc = yamlfile.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(str(path), ["file not found"]) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(str(path), [f"not valid YAML: {exc}"]) from exc
    if not isinstance(doc, dict):
        raise ConfigError(str(path), ["top level must be a mapping"])
    p: list[str] = []
    p += [f"{k}: unknown key (known: {', '.join(sorted(_TOP))})" for k in doc if k not in _TOP]
    known_roles = _schema_roles(path)
    grace = _number(doc, "grace_days", p, int, minimum=0)
    unknown = doc.get("unknown_established", "skip")
    if unknown not in ("skip", "flag"):
        p.append(f"unknown_established: '{unknown}' must be skip or flag")
    ex = doc.get("exclude") or {}
    if not isinstance(ex, dict):
        p.append("exclude: must be a mapping (uscc_prefixes, org_forms)")
        ex = {}
    p += [f"exclude.{k}: unknown key (known: org_forms, uscc_prefixes)" for k in ex
          if k not in ("uscc_prefixes", "org_forms")]
    for k in ("uscc_prefixes", "org_forms"):
        if not isinstance(ex.get(k, []), list) or not all(isinstance(v, str) and v for v in ex.get(k, [])):
            p.append(f"exclude.{k}: must be a list of non-empty strings (quote codes: \"93\")")
            ex[k] = []
    parts = _mapping(doc, "roles", p)
    p += [f"roles.{k}: unknown part (known: {', '.join(PARTS)})" for k in parts if k not in PARTS]
    roles = {k: str(parts.get(k)) for k in PARTS}
    for k in PARTS:
        if parts and known_roles is not None and parts.get(k) not in known_roles:
            p.append(f"roles.{k}: '{parts.get(k)}' is not a role of the schema ({', '.join(known_roles)})")
    st = _mapping(doc, "statuses", p)
    live = _names(st, "statuses.registry_live", "registry_live", STATUSES, p)
    closed = _names(st, "statuses.registry_closed", "registry_closed", STATUSES, p)
    tax_closed = _names(st, "statuses.tax_closed", "tax_closed", STATUSES, p)
    tax_active = _names(st, "statuses.tax_active", "tax_active", STATUSES, p)
    if set(live) & set(closed):
        p.append(f"statuses: {sorted(set(live) & set(closed))} both live and closed")
    operating = _evidence(doc.get("operating"), known_roles, p)
    ne = _mapping(doc, "nearest", p)
    keys = _names(ne, "nearest.candidate_keys", "candidate_keys", CANDIDATE_KEYS, p)
    vetoes = _names(ne, "nearest.vetoes", "vetoes", VETOES, p)
    combos: list[tuple[str, ...]] = []
    raw_combos = ne.get("link_review_when")
    if not isinstance(raw_combos, list) or not raw_combos:
        p.append("nearest.link_review_when: must be a non-empty list of feature lists")
    else:
        for i, combo in enumerate(raw_combos):
            if not isinstance(combo, list) or not combo:
                p.append(f"nearest.link_review_when[{i}]: must be a non-empty list")
                continue
            bad = [f for f in combo if f not in FEATURES]
            if bad:
                p.append(f"nearest.link_review_when[{i}]: unknown feature(s) {bad} "
                         f"(known: {', '.join(FEATURES)})")
            combos.append(tuple(str(f) for f in combo))
    pmin = _number(ne, "pair_probability_min", p, float, minimum=0, where="nearest.")
    max_key = _number(ne, "max_candidates_per_key", p, int, minimum=1, where="nearest.")
    if pmin > 1:
        p.append("nearest.pair_probability_min: must be at most 1")
    sc = _mapping(doc, "score", p)
    recent = _number(sc, "recent_days", p, int, minimum=1, where="score.")
    weights = _numbers(sc, "weights", SCORE_WEIGHTS, p)
    caps = _numbers(sc, "caps", SCORE_CAPS, p, positive=True)
    record_scores = _record_scores(sc, {e.role for e in operating}, p)
    reasons = doc.get("reasons")
    if not isinstance(reasons, dict):
        p.append("reasons: must map reason codes to Chinese text")
        reasons = {}
    p += [f"reasons.{c}: missing" for c in REQUIRED_REASONS if c not in reasons]
    p += [f"operating[{i}].reason: {e.reason} has no text in reasons" for i, e in enumerate(operating)
          if e.reason not in reasons]
    p += [f"reasons.{c}: text must be a non-empty string" for c, t in reasons.items()
          if not isinstance(t, str) or not t.strip()]
    if p:
        raise ConfigError(str(path), p)
    return UnregisteredRules(
        path=str(path), grace_days=int(grace), unknown_established=str(unknown),
        exclude_uscc_prefixes=tuple(ex.get("uscc_prefixes", [])), exclude_org_forms=tuple(ex.get("org_forms", [])),
        roles=roles, registry_live=live, registry_closed=closed, tax_closed=tax_closed, tax_active=tax_active,
        operating=operating, candidate_keys=keys,
        vetoes=vetoes, link_review_when=tuple(combos), pair_probability_min=float(pmin),
        max_candidates_per_key=int(max_key),
        recent_days=int(recent), weights=weights, caps=caps, record_scores=record_scores,
        reasons={str(k): str(v) for k, v in reasons.items()})


def _evidence(raw: Any, roles: tuple[str, ...] | None, p: list[str]) -> tuple[Evidence, ...]:
    """`operating`: a non-empty list of signs; each names a role and its thresholds."""
    if not isinstance(raw, list) or not raw:
        p.append("operating: must be a non-empty list of signs of operation ({role, reason, …})")
        return ()
    out = []
    for i, item in enumerate(raw):
        where = f"operating[{i}]"
        if not isinstance(item, dict):
            p.append(f"{where}: must be a mapping with role and reason")
            continue
        p += [f"{where}.{k}: unknown key (known: {', '.join(sorted(_EVIDENCE_KEYS))})" for k in item
              if k not in _EVIDENCE_KEYS]
        role, reason = item.get("role"), item.get("reason")
        if roles is not None and role not in roles:
            p.append(f"{where}.role: '{role}' is not a role of the schema ({', '.join(roles)})")
        if not isinstance(reason, str) or not reason:
            p.append(f"{where}.reason: missing (a reason code)")
        n = _number(item, "records_min", p, int, minimum=1, where=f"{where}.") if "records_min" in item else 1
        rev = _number(item, "revenue_above", p, float, minimum=0, where=f"{where}.") \
            if "revenue_above" in item else None
        statuses = _names(item, f"{where}.statuses", "statuses", STATUSES, p) if "statuses" in item else ()
        out.append(Evidence(str(role), str(reason), int(n), rev, statuses))
    signs = [e.role for e in out]
    p += [f"operating: role '{r}' has more than one sign" for r in sorted({r for r in signs if signs.count(r) > 1})]
    return tuple(out)


def _record_scores(sc: dict[str, Any], roles: set[str], p: list[str]) -> dict[str, tuple[float, float]]:
    """`score.records`: per evidence role, {weight, cap} for the count of its qualifying records."""
    value = sc.get("records") or {}
    if not isinstance(value, dict):
        p.append("score.records: must map an evidence role to {weight, cap}")
        return {}
    out = {}
    for role, spec in value.items():
        if roles is not None and role not in roles:
            p.append(f"score.records.{role}: not the role of a sign in operating ({', '.join(sorted(roles))})")
        ok = isinstance(spec, dict) and set(spec) == {"weight", "cap"} and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in spec.values())
        if not ok or not spec["cap"]:
            p.append(f"score.records.{role}: must be {{weight: non-negative number, cap: positive number}}")
            continue
        out[str(role)] = (float(spec["weight"]), float(spec["cap"]))
    return out


def _mapping(doc: dict[str, Any], key: str, p: list[str]) -> dict[str, Any]:
    value = doc.get(key)
    if not isinstance(value, dict):
        p.append(f"{key}: missing or not a mapping")
        return {}
    return value


def _number(doc: dict[str, Any], key: str, p: list[str], kind: type, minimum: float,
            where: str = "") -> float:
    value = doc.get(key)
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int and ok and not isinstance(value, int):
        ok = False
    if not ok or not isinstance(value, (int, float)):
        p.append(f"{where}{key}: missing or not {'an integer' if kind is int else 'a number'}")
        return minimum
    if value < minimum:
        p.append(f"{where}{key}: {value} is below {minimum}")
    return float(value)


def _names(doc: dict[str, Any], label: str, key: str, known: tuple[str, ...],
           p: list[str]) -> tuple[str, ...]:
    value = doc.get(key)
    if not isinstance(value, list) or not value:
        p.append(f"{label}: missing or not a non-empty list")
        return ()
    bad = [v for v in value if v not in known]
    if bad:
        p.append(f"{label}: unknown value(s) {bad} (known: {', '.join(known)})")
    return tuple(str(v) for v in value)


def _numbers(doc: dict[str, Any], key: str, names: tuple[str, ...], p: list[str],
             positive: bool = False) -> dict[str, float]:
    value = doc.get(key)
    if not isinstance(value, dict):
        p.append(f"score.{key}: missing or not a mapping")
        return {}
    out: dict[str, float] = {}
    for name in names:
        v = value.get(name)
        if not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0 or (positive and v == 0):
            p.append(f"score.{key}.{name}: missing or not a {'positive' if positive else 'non-negative'} number")
        else:
            out[name] = float(v)
    p += [f"score.{key}.{k}: unknown key" for k in value if k not in names]
    return out
