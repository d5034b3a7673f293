"""Rule files for linking: load, validate (every problem at once), compile to Splink settings.

A domain's rules live in ``matching_rules/<domain>/``:

- ``blocking.yaml``    which pairs are compared at prediction time (bounded keys)
- ``comparisons.yaml`` comparisons and their levels, term-frequency adjustments
- ``training.yaml``    u sampling size, EM blocking rules, EM limits, fallback m and u
- ``clustering.yaml``  match probability thresholds
- ``schema.yaml``      the domain's fields; hard constraints follow from their facts
                       (`distinct_when_valid`, `distinct_kinds`; resolver.linking.constraints)

The authoring format names columns and level kinds, never SQL dialects; only the
``custom`` level carries SQL (written in DuckDB syntax, translated by Splink/sqlglot).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from resolver import yamlfile
from resolver.domains import load_schema
from resolver.errors import ConfigError, InputError
from resolver.linking import constraints as hard
from resolver.linking.sample import parse_size
from resolver.paths import REPO_ROOT, rules_dir

RULE_FILES = ("blocking.yaml", "comparisons.yaml", "training.yaml", "clustering.yaml")
DEFAULT_RULES_ROOT = REPO_ROOT / "matching_rules"  # the committed rules; `rules_dir()` honours $RESOLVER_RULES

# key -> (type, required) for every mapping the format allows
_BLOCKING_RULE_KEYS: dict[str, tuple[type | tuple[type, ...], bool]] = {
    "name": (str, True),
    "columns": (list, True),
    "max_block_size": (int, False),
    "exclude_values": (dict, False),
    "why": (str, False),
}
_LEVEL_KINDS = {
    "missing", "exact", "all_exact", "jaro_winkler", "damerau_levenshtein", "levenshtein",
    "array_intersect", "array_jaccard", "one_typo", "custom", "else",
}
_LEVEL_KEYS: dict[str, tuple[type | tuple[type, ...], bool]] = {
    "kind": (str, True),
    "column": (str, False),
    "columns": (list, False),
    "threshold": ((int, float), False),
    "when_valid": ((str, list), False),
    "tf": (bool, False),
    "tf_minimum_u_value": ((int, float), False),
    "sql": (str, False),
    "label": (str, False),
    "why": (str, False),
}
_COMPARISON_KEYS: dict[str, tuple[type | tuple[type, ...], bool]] = {
    "name": (str, True),
    "levels": (list, True),
    "why": (str, False),
}
_TRAINING_KEYS: dict[str, tuple[type | tuple[type, ...], bool]] = {
    "u_max_pairs": ((int, float), True),
    "seed": (int, False),
    "sample_records": ((int, str), False),
    "probability_two_random_records_match": ((int, float), True),
    "em_max_pairs": ((int, float), False),
    "em_max_iterations": (int, False),
    "em_convergence": ((int, float), False),
    "em_rules": (list, True),
    "prior": (dict, False),
    "fallback": (dict, False),
}
_FALLBACK_KEYS: dict[str, tuple[type | tuple[type, ...], bool]] = {
    "evidence_for": (list, False),
    "fixed": (list, False),
    "bound_unseen": (list, False),
}
_LEVEL_REF_KEYS: dict[str, tuple[type | tuple[type, ...], bool]] = {
    "comparison": (str, True),
    "level": (str, True),
    "why": (str, False),
}
_FIXED_KEYS: dict[str, tuple[type | tuple[type, ...], bool]] = {
    **_LEVEL_REF_KEYS,
    "m": ((int, float), True),
    "u": ((int, float), True),
}
_PRIOR_KEYS: dict[str, tuple[type | tuple[type, ...], bool]] = {
    "deterministic_rules": (list, True),
    "recall": ((int, float), True),
}
_CLUSTERING_KEYS: dict[str, tuple[type | tuple[type, ...], bool]] = {
    "predict_threshold": ((int, float), True),
    "match_probability_threshold": ((int, float), True),
}
_SQL_COLUMN = re.compile(r"\b([a-z_][a-z0-9_]*)_[lr]\b")


@dataclass(frozen=True)
class BlockingKey:
    """One bounded blocking key: records agree on all columns and the block is not huge."""

    name: str
    columns: list[str]
    max_block_size: int | None = None
    exclude_values: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def key_column(self) -> str:
        return f"_bk_{self.name}"


@dataclass
class RuleSet:
    """A domain's rule files, validated. ``rules_hash`` identifies their exact content."""

    domain: str
    path: Path
    blocking: list[BlockingKey]
    comparisons: list[dict[str, Any]]
    training: dict[str, Any]
    em_rules: list[BlockingKey]
    clustering: dict[str, Any]
    rules_hash: str

    def columns_used(self) -> set[str]:
        """Every source-record column a comparison, blocking key or constraint reads."""
        cols: set[str] = set()
        for key in [*self.blocking, *self.em_rules]:
            cols.update(key.columns)
        for comp in self.comparisons:
            for level in comp["levels"]:
                cols.update(_level_columns(level))
        for con in hard.of(self.clustering):
            cols.update(con.columns)
        return cols

    def check_columns(self, available: list[str] | set[str]) -> None:
        """Raise ConfigError naming every rule that reads a column the data lacks."""
        have = set(available)
        problems: list[str] = []
        for key in self.blocking:
            problems += [f"blocking.yaml: rule '{key.name}': unknown column '{c}'"
                         for c in key.columns if c not in have]
        for key in self.em_rules:
            problems += [f"training.yaml: em_rules '{key.name}': unknown column '{c}'"
                         for c in key.columns if c not in have]
        for comp in self.comparisons:
            for i, level in enumerate(comp["levels"]):
                problems += [
                    f"comparisons.yaml: comparison '{comp['name']}' level {i}: unknown column '{c}'"
                    for c in sorted(_level_columns(level)) if c not in have
                ]
        for con in hard.of(self.clustering):
            problems += [f"schema.yaml: constraint {con.name}: unknown column '{c}'"
                         for c in con.columns if c not in have]
        if problems:
            raise ConfigError(str(self.path), problems)


def _level_columns(level: dict[str, Any]) -> set[str]:
    cols: set[str] = set()
    if "column" in level:
        cols.add(level["column"])
    cols.update(level.get("columns", []))
    flags = level.get("when_valid")
    if flags:
        cols.update([flags] if isinstance(flags, str) else flags)
    if level.get("kind") in ("custom", "missing"):
        cols.update(_SQL_COLUMN.findall(level.get("sql", "")))
    return cols


def level_name(level: dict[str, Any]) -> str:
    """How training.yaml and model reports name a level: its label, or its kind (`else`, `missing`)."""
    return str(level.get("label") or level["kind"])


def _validate_fallback(fallback: Any, comparisons: list[dict[str, Any]], problems: list[str]) -> None:
    """`fallback.evidence_for` and `fallback.fixed` name existing levels; fixed m and u are probabilities."""
    if not _check_keys("training.yaml: fallback", fallback, _FALLBACK_KEYS, problems):
        return
    names = {c.get("name"): {level_name(lv) for lv in c.get("levels") or [] if isinstance(lv, dict) and "kind" in lv}
             for c in comparisons}
    for i, comp in enumerate(fallback.get("bound_unseen") or []):
        if comp not in names:
            problems.append(f"training.yaml: fallback: bound_unseen[{i}]: no comparison '{comp}' in comparisons.yaml")
    for part, spec in (("evidence_for", _LEVEL_REF_KEYS), ("fixed", _FIXED_KEYS)):
        for i, ref in enumerate(fallback.get(part) or []):
            where = f"training.yaml: fallback: {part}[{i}]"
            if not _check_keys(where, ref, spec, problems):
                continue
            comp, level = ref.get("comparison"), ref.get("level")
            if comp not in names:
                problems.append(f"{where}: no comparison '{comp}' in comparisons.yaml")
            elif level not in names[comp]:
                problems.append(f"{where}: comparison '{comp}' has no level '{level}' "
                                f"(levels: {', '.join(sorted(names[comp]))})")
            for k in ("m", "u") if part == "fixed" else ():
                v = ref.get(k)
                if isinstance(v, (int, float)) and not 0 < v < 1:
                    problems.append(f"{where}: key '{k}' must be within 0..1 (exclusive)")


def _check_keys(where: str, obj: Any, spec: dict[str, tuple[Any, bool]], problems: list[str]) -> bool:
    if not isinstance(obj, dict):
        problems.append(f"{where}: expected a mapping, got {type(obj).__name__}")
        return False
    for key, value in obj.items():
        if key not in spec:
            near = [k for k in spec if _close(k, str(key))]
            hint = f" (did you mean '{near[0]}'?)" if near else ""
            problems.append(f"{where}: unknown key '{key}'{hint}")
            continue
        typ = spec[key][0]
        if typ is int or typ == (int, float):
            ok = isinstance(value, typ) and not isinstance(value, bool)
        else:
            ok = isinstance(value, typ)
        if not ok:
            problems.append(f"{where}: key '{key}' has wrong type {type(value).__name__}")
    for key, (_, required) in spec.items():
        if required and key not in obj:
            problems.append(f"{where}: missing required key '{key}'")
    return True


def _close(a: str, b: str) -> bool:
    from rapidfuzz.distance import Levenshtein

    return Levenshtein.distance(a, b) <= 2


def _blocking_key(where: str, raw: Any, problems: list[str]) -> BlockingKey | None:
    if not _check_keys(where, raw, _BLOCKING_RULE_KEYS, problems):
        return None
    cols = raw.get("columns", [])
    if not cols or not all(isinstance(c, str) for c in cols):
        problems.append(f"{where}: 'columns' must be a non-empty list of column names")
        return None
    excl = raw.get("exclude_values", {}) or {}
    for col in excl:
        if col not in cols:
            problems.append(f"{where}: exclude_values names '{col}', not one of its columns")
    if not isinstance(raw.get("name"), str):
        return None
    return BlockingKey(raw["name"], list(cols), raw.get("max_block_size"), dict(excl))


def _validate_level(where: str, level: Any, problems: list[str]) -> None:
    if not _check_keys(where, level, _LEVEL_KEYS, problems):
        return
    kind = level.get("kind")
    if kind not in _LEVEL_KINDS:
        problems.append(f"{where}: unknown level kind '{kind}' (one of {sorted(_LEVEL_KINDS)})")
        return
    needs = {
        "exact": ["column"], "jaro_winkler": ["column", "threshold"],
        "damerau_levenshtein": ["column", "threshold"], "levenshtein": ["column", "threshold"],
        "array_intersect": ["column"], "one_typo": ["column"], "array_jaccard": ["column", "threshold"],
        "all_exact": ["columns"], "custom": ["sql", "label"],
    }.get(kind, [])
    if kind == "missing" and "columns" not in level and "sql" not in level:
        problems.append(f"{where}: level kind 'missing' needs key 'columns' or 'sql'")
    problems += [f"{where}: level kind '{kind}' needs key '{k}'" for k in needs if k not in level]


def _read_yaml(path: Path, problems: list[str]) -> Any:
    try:
        return yamlfile.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.append(f"{path.name}: file missing")
    except yaml.YAMLError as exc:
        problems.append(f"{path.name}: not valid YAML: {exc}")
    return None


def load_rules(domain: str, root: str | Path | None = None) -> RuleSet:
    """Load and validate ``<root>/<domain>/*.yaml`` (root: $RESOLVER_RULES or matching_rules/);
    raise ConfigError listing every problem."""
    base = Path(root) if root is not None else rules_dir()
    folder = base / domain
    problems: list[str] = []
    docs = {name: _read_yaml(folder / name, problems) for name in RULE_FILES}
    digest = hashlib.sha256()
    for name in (*RULE_FILES, "schema.yaml"):  # the schema's field facts make the constraints
        if (folder / name).exists():
            digest.update((folder / name).read_bytes())

    blocking: list[BlockingKey] = []
    b = docs["blocking.yaml"]
    if b is not None:
        _check_keys("blocking.yaml", b, {"rules": (list, True)}, problems)
        for i, raw in enumerate((b or {}).get("rules", []) if isinstance(b, dict) else []):
            key = _blocking_key(f"blocking.yaml: rules[{i}]", raw, problems)
            if key:
                blocking.append(key)

    comparisons: list[dict[str, Any]] = []
    c = docs["comparisons.yaml"]
    if c is not None and _check_keys("comparisons.yaml", c, {"comparisons": (list, True)}, problems):
        for i, comp in enumerate(c.get("comparisons") or []):
            where = f"comparisons.yaml: comparisons[{i}]"
            if not _check_keys(where, comp, _COMPARISON_KEYS, problems):
                continue
            where = f"comparisons.yaml: comparison '{comp.get('name', i)}'"
            for j, level in enumerate(comp.get("levels") or []):
                _validate_level(f"{where} level {j}", level, problems)
            comparisons.append(comp)

    training: dict[str, Any] = {}
    em_rules: list[BlockingKey] = []
    t = docs["training.yaml"]
    if t is not None and _check_keys("training.yaml", t, _TRAINING_KEYS, problems):
        training = t
        if "sample_records" in t:
            try:
                parse_size(t["sample_records"])
            except InputError as exc:
                problems.append(f"training.yaml: {exc}")
        prior = t.get("prior")
        if isinstance(prior, dict) and _check_keys("training.yaml: prior", prior, _PRIOR_KEYS, problems):
            names = {k.name for k in blocking}
            for name in prior.get("deterministic_rules") or []:
                if name not in names:
                    problems.append(f"training.yaml: prior: deterministic_rules names '{name}', "
                                    "not a rule of blocking.yaml")
        if "fallback" in t:
            _validate_fallback(t["fallback"], comparisons, problems)
        for i, raw in enumerate(t.get("em_rules") or []):
            key = _blocking_key(f"training.yaml: em_rules[{i}]", raw, problems)
            if key:
                em_rules.append(key)

    clustering: dict[str, Any] = {}
    k = docs["clustering.yaml"]
    if isinstance(k, dict) and "constraints" in k:
        problems.append("clustering.yaml: key 'constraints' is no longer read: hard constraints follow "
                        "from schema.yaml (`distinct_when_valid: true` on an identifier, "
                        "`distinct_kinds: [...]` on a kind field)")
        k = {key: v for key, v in k.items() if key != "constraints"}
    if k is not None and _check_keys("clustering.yaml", k, _CLUSTERING_KEYS, problems):
        clustering = dict(k)
        for thr_key in ("predict_threshold", "match_probability_threshold"):
            v = k.get(thr_key)
            if isinstance(v, (int, float)) and not 0 <= v <= 1:
                problems.append(f"clustering.yaml: key '{thr_key}' must be within 0..1")

    # Recorded with each model version as plain dicts, so the version alone decides the clustering.
    try:
        clustering["constraints"] = hard.to_dicts(hard.of_schema(load_schema(domain, base)))
    except ConfigError as exc:
        problems += [f"schema.yaml: {p}" for p in exc.problems]

    if problems:
        raise ConfigError(str(folder), problems)
    return RuleSet(domain, folder, blocking, comparisons, training, em_rules, clustering,
                   digest.hexdigest())

