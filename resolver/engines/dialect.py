"""DuckDB SQL from the rule files and saved models, rewritten for Spark SQL.

Rule files and model JSON carry DuckDB SQL (the embedded default). sqlglot transpiles
most of it; the functions below have no Spark namesake, so we rewrite them on the
syntax tree, never by string replacement:

| DuckDB                          | Spark                                               |
|---------------------------------|-----------------------------------------------------|
| `hamming(a, b)`                 | count of positions whose characters differ          |
| `list_has_any(a, b)` (`a && b`) | `arrays_overlap(a, b)`                              |
| `list_intersect(a, b)`          | `array_intersect(a, b)`                             |
| `len(list)`, `array_length(l)`  | `size(l)` (Spark's `length` is for strings only)    |
| `jaro_winkler_similarity(a, b)` | `jaro_winkler(a, b)` from Splink's similarity jar   |

`damerau_levenshtein` comes from the same jar under its DuckDB name; `levenshtein`,
`array_distinct` and `concat` exist in both.
"""

from __future__ import annotations

import copy
from typing import Any

import sqlglot
from sqlglot import exp

_ARRAY_NODES = (exp.ArrayIntersect, exp.ArrayDistinct, exp.ArrayConcat, exp.Array)


def _is_array(node: exp.Expression) -> bool:
    if isinstance(node, _ARRAY_NODES):
        return True
    return isinstance(node, exp.Anonymous) and node.name.lower() in {
        "list_intersect", "array_intersect", "list_distinct", "list_concat"}


def _hamming(a: exp.Expression, b: exp.Expression) -> Any:
    a_sql, b_sql = a.sql("spark"), b.sql("spark")
    return sqlglot.parse_one(
        f"size(filter(sequence(1, greatest(length({a_sql}), 1)), "
        f"i -> substring({a_sql}, i, 1) <> substring({b_sql}, i, 1)))",
        read="spark",
    )


def _rewrite(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Anonymous):
        name = node.name.lower()
        args = node.expressions
        if name == "hamming" and len(args) == 2:
            return _hamming(args[0], args[1])
        if name in ("list_intersect", "array_intersect") and len(args) == 2:
            return exp.Anonymous(this="array_intersect", expressions=args)
        if name == "list_has_any" and len(args) == 2:
            return exp.Anonymous(this="arrays_overlap", expressions=args)
    if isinstance(node, exp.ArrayOverlaps):
        return exp.Anonymous(this="arrays_overlap", expressions=[node.this, node.expression])
    if isinstance(node, exp.JarowinklerSimilarity):
        return exp.Anonymous(this="jaro_winkler", expressions=[node.this, node.expression])
    if isinstance(node, exp.ArraySize) or (isinstance(node, exp.Length) and _is_array(node.this)):
        return exp.Anonymous(this="size", expressions=[node.this])
    return node


def duckdb_to_spark(sql: str) -> str:
    """One DuckDB expression or statement as Spark SQL (raises sqlglot.ParseError if unreadable)."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    while True:  # a replaced node's children are not revisited: repeat to a fixpoint
        before = repr(tree)
        tree = tree.transform(_rewrite)
        if repr(tree) == before:
            return tree.sql(dialect="spark")


def spark_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """A Splink settings dict in DuckDB dialect (saved model, compiled rules) for Spark."""
    out = copy.deepcopy(settings)
    source = out.get("sql_dialect") or "duckdb"
    if source == "spark":
        return out
    if source != "duckdb":
        raise ValueError(f"cannot translate Splink settings from dialect {source!r} to spark")
    for comp in out.get("comparisons", []):
        for level in comp["comparison_levels"]:
            if level["sql_condition"].strip().upper() != "ELSE":
                level["sql_condition"] = duckdb_to_spark(level["sql_condition"])
    rules = []
    for rule in out.get("blocking_rules_to_generate_predictions", []):
        if isinstance(rule, str):
            rule = {"blocking_rule": rule}
        rules.append({**rule, "blocking_rule": duckdb_to_spark(rule["blocking_rule"]),
                      "sql_dialect": "spark"})
    out["blocking_rules_to_generate_predictions"] = rules
    out["sql_dialect"] = "spark"
    return out


def portable_settings(trained: dict[str, Any], duckdb_settings: dict[str, Any]) -> dict[str, Any]:
    """A model trained on Spark, saved with the DuckDB SQL it was compiled from.

    Parameters (m, u, prior, tf) come from `trained`; every SQL text from `duckdb_settings`
    (the same compiled rules), so model files stay in one dialect whatever engine fit them.
    """
    if trained.get("sql_dialect", "duckdb") == "duckdb":
        return trained
    out = copy.deepcopy(trained)
    comps = duckdb_settings["comparisons"]
    if [c["output_column_name"] for c in comps] != [c["output_column_name"] for c in out["comparisons"]]:
        raise ValueError("trained model and compiled rules name different comparisons")
    for comp, source in zip(out["comparisons"], comps, strict=True):
        levels = source["comparison_levels"]
        if len(levels) != len(comp["comparison_levels"]):
            raise ValueError(f"comparison {comp['output_column_name']}: level count differs")
        for level, src in zip(comp["comparison_levels"], levels, strict=True):
            level["sql_condition"] = src["sql_condition"]
    out["blocking_rules_to_generate_predictions"] = copy.deepcopy(
        duckdb_settings["blocking_rules_to_generate_predictions"])
    out["sql_dialect"] = "duckdb"
    return out
