"""Comparison levels compiled to Python, for scoring one query against a few candidates.

DuckDB plans the comparison SQL afresh for every request (4–8 ms, half of a match); the
same conditions as Python closures cost ~0.1 ms. `compile_condition` reads a level's
`sql_condition` (Splink's own, DuckDB dialect) with sqlglot and builds a closure over
(left, right) value dicts with SQL's three-valued logic: None is NULL, and a level is
chosen only when its condition is True.

Only the vocabulary our rule files use is known; anything else raises `Unsupported`, and
the caller keeps scoring that model in SQL. String distances come from rapidfuzz (DuckDB's
`jaro_winkler_similarity` is rapidfuzz's algorithm); tests compare every level's choice
with DuckDB's on real pairs.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import sqlglot
from rapidfuzz.distance import DamerauLevenshtein, Hamming, JaroWinkler, Levenshtein
from sqlglot import exp

Row = dict[str, Any]
Expr = Callable[[Row, Row], Any]


class Unsupported(Exception):
    """The condition uses SQL this compiler does not know."""


def _connective(parts: list[Expr], decisive: bool) -> Expr:
    """AND (decisive False) or OR (decisive True) in three-valued logic, short-circuiting as
    DuckDB does (hamming() needs it: the rules guard it with a length test)."""
    def run(left: Row, right: Row) -> bool | None:
        unknown = False
        for part in parts:
            value = part(left, right)
            if value is decisive:
                return decisive
            unknown = unknown or value is None
        return None if unknown else not decisive
    return run


def _strict(fn: Callable[..., Any], args: list[Expr]) -> Expr:
    """A function that is NULL when any argument is NULL."""
    def run(left: Row, right: Row) -> Any:
        values = [a(left, right) for a in args]
        return None if any(v is None for v in values) else fn(*values)
    return run


def _distinct(values: list[Any]) -> list[Any]:
    return list(dict.fromkeys(v for v in values if v is not None))


def _hamming(a: str, b: str) -> int:
    return int(Hamming.distance(a, b))  # DuckDB raises on unequal lengths; rules guard with length()


def _divide(a: float, b: float) -> float:
    return a / b if b else (float("inf") if a > 0 else float("-inf") if a < 0 else float("nan"))


_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    exp.EQ: operator.eq, exp.NEQ: operator.ne, exp.GT: operator.gt, exp.GTE: operator.ge,
    exp.LT: operator.lt, exp.LTE: operator.le,
    exp.Mul: operator.mul, exp.Div: _divide, exp.Add: operator.add, exp.Sub: operator.sub,
}
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "hamming": _hamming,
    "damerau_levenshtein": lambda a, b: int(DamerauLevenshtein.distance(a, b)),
    "levenshtein": lambda a, b: int(Levenshtein.distance(a, b)),
    "jaro_winkler_similarity": lambda a, b: float(JaroWinkler.similarity(a, b)),
    "list_intersect": lambda a, b: [v for v in _distinct(a) if v in set(b)],
}


def _column(node: exp.Column) -> Expr:
    name = node.name
    if name.endswith("_l"):
        col = name[:-2]
        return lambda left, right: left.get(col)
    if name.endswith("_r"):
        col = name[:-2]
        return lambda left, right: right.get(col)
    raise Unsupported(f"column {name} is not a left/right value")


def _literal(node: exp.Literal) -> Expr:
    value: Any = node.this if node.is_string else (float(node.this) if "." in node.this else int(node.this))
    return lambda left, right: value


def _build(node: Any) -> Expr:  # noqa: C901 - one branch per SQL construct (sqlglot nodes)
    if isinstance(node, exp.Paren):
        return _build(node.this)
    if isinstance(node, exp.Column):
        return _column(node)
    if isinstance(node, exp.Literal):
        return _literal(node)
    if isinstance(node, exp.Boolean):
        flag = bool(node.this)
        return lambda left, right: flag
    if isinstance(node, exp.Null):
        return lambda left, right: None
    if isinstance(node, exp.And):
        return _connective([_build(node.left), _build(node.right)], decisive=False)
    if isinstance(node, exp.Or):
        return _connective([_build(node.left), _build(node.right)], decisive=True)
    if isinstance(node, exp.Not):
        inner = _build(node.this)
        return lambda left, right: None if (v := inner(left, right)) is None else not v
    if isinstance(node, exp.Is) and isinstance(node.expression, exp.Null):
        inner = _build(node.this)
        return lambda left, right: inner(left, right) is None
    binary = _BINARY.get(type(node))
    if binary is not None:
        return _strict(binary, [_build(node.left), _build(node.right)])
    if isinstance(node, exp.Coalesce):
        parts = [_build(a) for a in [node.this, *node.expressions]]
        return lambda left, right: next((v for p in parts if (v := p(left, right)) is not None), None)
    if isinstance(node, exp.Greatest):
        parts = [_build(a) for a in [node.this, *node.expressions]]
        return lambda left, right: max((v for p in parts if (v := p(left, right)) is not None), default=None)
    if isinstance(node, (exp.Length, exp.ArraySize)):
        return _strict(len, [_build(node.this)])
    if isinstance(node, exp.ArrayDistinct):
        return _strict(_distinct, [_build(node.this)])
    if isinstance(node, exp.ArrayConcat):  # NULL lists are skipped, as in DuckDB
        parts = [_build(a) for a in [node.this, *node.expressions]]
        return lambda left, right: [v for p in parts for v in (p(left, right) or [])]
    if isinstance(node, exp.ArrayOverlaps):
        return _strict(lambda a, b: bool(set(_distinct(a)) & set(_distinct(b))), [_build(node.this), _build(node.expression)])
    if isinstance(node, exp.JarowinklerSimilarity):
        return _strict(_FUNCTIONS["jaro_winkler_similarity"], [_build(node.this), _build(node.expression)])
    if isinstance(node, exp.Levenshtein) and not node.args.get("ins_cost"):
        return _strict(_FUNCTIONS["levenshtein"], [_build(node.this), _build(node.expression)])
    if isinstance(node, exp.Anonymous) and node.name.lower() in _FUNCTIONS:
        return _strict(_FUNCTIONS[node.name.lower()], [_build(a) for a in node.expressions])
    raise Unsupported(f"{type(node).__name__}: {node.sql(dialect='duckdb')[:80]}")


def compile_condition(sql: str) -> Expr:
    """A closure (left, right) → True / False / None for one level's SQL condition."""
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        raise Unsupported(str(exc)) from exc
    return _build(tree)
