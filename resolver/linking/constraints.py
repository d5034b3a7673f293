"""Hard constraints: pairs of source records that may never be one entity, written once.

Each constraint is a frozen dataclass with three forms of the same rule:

- `conflicts(a, b)`, pure, over two records (or a record and a golden record) as mappings;
- `sql(left, right)`, a DuckDB boolean expression over two aliased rows, true when they conflict;
- `codes(records)`, one integer per record (a numpy array) for the clustering's union-find (-1 says nothing;
  two records conflict when both codes are set and differ).

They come from a domain's schema.yaml (`distinct_when_valid: true` on an identifier,
`distinct_kinds: [...]` on a kind field) and travel with a model version as plain dicts
(`to_dicts` / `from_dicts`); model JSON written before schema.yaml names them
`different_valid` and `branch_vs_head_office`, which still load.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from resolver.domains import DomainSchema
from resolver.errors import ConfigError


def _present(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, float) and math.isnan(value):
        return False
    return value is not pd.NA and value is not pd.NaT


def _quote(alias: str, column: str) -> str:
    return f'{alias}."{column}"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class DistinctWhenValid:
    """Two different values of an identifier that both pass its check are two entities."""

    column: str
    valid_flag: str | None = None  # None: every value present counts (a key already filtered to valid ones)

    kind = "distinct_when_valid"

    @property
    def name(self) -> str:
        return f"different_valid:{self.column}"

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,) if self.valid_flag is None else (self.column, self.valid_flag)

    def key(self, record: Mapping[str, Any]) -> Any:
        """The record's valid value, or None. A mapping without the flag (a golden record keeps
        only surviving values) counts its value as given."""
        value = record.get(self.column)
        if not _present(value):
            return None
        if self.valid_flag is not None and self.valid_flag in record:
            flag = record[self.valid_flag]
            if not _present(flag) or not bool(flag):
                return None
        return value

    def conflicts(self, a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
        ka, kb = self.key(a), self.key(b)
        return ka is not None and kb is not None and ka != kb

    def sql(self, left: str, right: str) -> str:
        parts = [f"{_quote(left, self.column)} IS NOT NULL", f"{_quote(right, self.column)} IS NOT NULL"]
        if self.valid_flag is not None:
            parts += [f"coalesce({_quote(left, self.valid_flag)}, false)",
                      f"coalesce({_quote(right, self.valid_flag)}, false)"]
        parts.append(f"{_quote(left, self.column)} <> {_quote(right, self.column)}")
        return "(" + " AND ".join(parts) + ")"

    def codes(self, records: pd.DataFrame) -> np.ndarray:
        values = records[self.column].astype("string")
        if self.valid_flag is not None and self.valid_flag in records:
            ok = records[self.valid_flag].astype("boolean").fillna(False).to_numpy(dtype=bool)
            values = values.where(ok)
        codes, _ = pd.factorize(values, use_na_sentinel=True)
        return np.asarray(codes, dtype=np.int64)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "column": self.column}
        if self.valid_flag is not None:
            out["valid_flag"] = self.valid_flag
        return out


@dataclass(frozen=True)
class DistinctKinds:
    """A record of one of `kinds` (a branch) never shares an entity with a record of another kind:
    each listed kind is a class of its own, every other value one class together."""

    column: str
    kinds: tuple[str, ...]

    kind = "distinct_kinds"

    @property
    def name(self) -> str:
        return f"distinct_kinds:{self.column}"

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,)

    def key(self, record: Mapping[str, Any]) -> str | None:
        """The record's class: a listed kind, '' for any other value, None when unknown."""
        value = record.get(self.column)
        if not _present(value):
            return None
        return str(value) if str(value) in self.kinds else ""

    def conflicts(self, a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
        ka, kb = self.key(a), self.key(b)
        return ka is not None and kb is not None and ka != kb

    def sql(self, left: str, right: str) -> str:
        listed = ", ".join(_literal(k) for k in self.kinds)
        a, b = _quote(left, self.column), _quote(right, self.column)
        return (f"({a} IS NOT NULL AND {b} IS NOT NULL AND "
                f"(CASE WHEN {a} IN ({listed}) THEN {a} ELSE '' END) <> "
                f"(CASE WHEN {b} IN ({listed}) THEN {b} ELSE '' END))")

    def codes(self, records: pd.DataFrame) -> np.ndarray:
        values = records[self.column].astype("string")
        out = np.full(len(values), len(self.kinds), dtype=np.int64)
        for i, k in enumerate(self.kinds):
            out[(values == k).fillna(False).to_numpy(dtype=bool)] = i
        out[values.isna().to_numpy()] = -1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "column": self.column, "kinds": list(self.kinds)}


Constraint = DistinctWhenValid | DistinctKinds


def of_schema(schema: DomainSchema) -> tuple[Constraint, ...]:
    """The constraints a domain's schema declares, in field order: `distinct_when_valid` (read
    with the field's validity flag) and `distinct_kinds`."""
    out: list[Constraint] = []
    for spec in schema.distinct_fields():
        if spec.distinct_when_valid:
            out.append(DistinctWhenValid(spec.name, spec.valid_column))
        if spec.distinct_kinds:
            out.append(DistinctKinds(spec.name, spec.distinct_kinds))
    return tuple(out)


def from_dicts(items: Iterable[Mapping[str, Any]], where: str = "constraints") -> tuple[Constraint, ...]:
    """Constraints as recorded with a model version (`to_dicts`), including the older kinds."""
    out: list[Constraint] = []
    problems: list[str] = []
    for i, item in enumerate(items or ()):
        kind = item.get("kind")
        if kind in ("distinct_when_valid", "different_valid") and item.get("column"):
            out.append(DistinctWhenValid(str(item["column"]), item.get("valid_flag")))
        elif kind == "distinct_kinds" and item.get("column") and item.get("kinds"):
            out.append(DistinctKinds(str(item["column"]), tuple(str(k) for k in item["kinds"])))
        elif kind == "branch_vs_head_office":
            out.append(DistinctKinds(str(item.get("kind_column", "entity_kind")), ("branch",)))
        else:
            problems.append(f"[{i}]: not a constraint: {dict(item)}")
    if problems:
        raise ConfigError(where, problems)
    return tuple(out)


def to_dicts(constraints: Iterable[Constraint]) -> list[dict[str, Any]]:
    return [c.to_dict() for c in constraints]


def of(clustering: Mapping[str, Any]) -> tuple[Constraint, ...]:
    """The constraints of a clustering dict (rules or a model version's record)."""
    return from_dicts(clustering.get("constraints") or (), "clustering: constraints")


def first_conflict(constraints: Iterable[Constraint], a: Mapping[str, Any], b: Mapping[str, Any]) -> Constraint | None:
    """The first constraint `a` and `b` break, or None."""
    return next((c for c in constraints if c.conflicts(a, b)), None)


def conflict_sql(constraints: Iterable[Constraint], left: str, right: str) -> str:
    """SQL true when the two rows break any of `constraints`."""
    return "(" + " OR ".join(["false", *(c.sql(left, right) for c in constraints)]) + ")"
