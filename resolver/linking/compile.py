"""Compile a validated RuleSet into dialect-free Splink creators (SettingsCreator).

Splink turns creators into SQL for a backend only when a Linker is built, so the same
rule files can run on DuckDB here and on Spark later.
"""

from __future__ import annotations

import logging
from typing import Any

import splink.comparison_level_library as cll
from splink import SettingsCreator, block_on
from splink.comparison_library import CustomComparison

from resolver.linking.rules import BlockingKey, RuleSet


def _flags(level: dict[str, Any]) -> list[str]:
    flags = level.get("when_valid") or []
    return [flags] if isinstance(flags, str) else list(flags)


def compile_level(level: dict[str, Any]) -> Any:
    """One rule-file level -> one Splink ComparisonLevelCreator."""
    kind = level["kind"]
    col: Any = level.get("column")
    thr: Any = level.get("threshold")
    creator: Any
    if kind == "missing":
        sql = level.get("sql") or " OR ".join(
            f"{c}_l IS NULL OR {c}_r IS NULL" for c in level["columns"]
        )
        return cll.CustomLevel(sql, level.get("label", "null"), base_dialect_str="duckdb").configure(
            is_null_level=True
        )
    if kind == "else":
        return cll.ElseLevel()
    if kind == "exact":
        creator = cll.ExactMatchLevel(col)
    elif kind == "all_exact":
        creator = cll.And(*[cll.ExactMatchLevel(c) for c in level["columns"]])
    elif kind == "jaro_winkler":
        creator = cll.JaroWinklerLevel(col, float(thr))
    elif kind == "damerau_levenshtein":
        creator = cll.DamerauLevenshteinLevel(col, int(thr))
    elif kind == "one_typo":
        # fixed-length identifiers: one substitution, or one adjacent transposition
        # (hamming is cheap; Damerau-Levenshtein only runs on the few near pairs)
        sql = (
            f"length({col}_l) = length({col}_r) AND hamming({col}_l, {col}_r) <= 2 "
            f"AND damerau_levenshtein({col}_l, {col}_r) <= 1"
        )
        creator = cll.CustomLevel(sql, f"{col} one typo apart", base_dialect_str="duckdb")
    elif kind == "levenshtein":
        creator = cll.LevenshteinLevel(col, int(thr))
    elif kind == "array_intersect":
        creator = cll.ArrayIntersectLevel(col, min_intersection=int(thr or 1))
    elif kind == "array_jaccard":
        # list_has_any first: cheap, and false for almost every random pair
        sql = (
            f"list_has_any({col}_l, {col}_r) AND "
            f"len(list_intersect({col}_l, {col}_r)) * 1.0 / "
            f"greatest(len(list_distinct(list_concat({col}_l, {col}_r))), 1) >= {float(thr)}"
        )
        creator = cll.CustomLevel(sql, f"{col} jaccard >= {thr}", base_dialect_str="duckdb")
    elif kind == "custom":
        creator = cll.CustomLevel(level["sql"], level["label"], base_dialect_str="duckdb")
    else:  # pragma: no cover - rules.py rejects unknown kinds first
        raise ValueError(kind)
    flags = _flags(level)
    if flags:
        cond = " AND ".join(f"coalesce({f}_l AND {f}_r, false)" for f in flags)
        creator = cll.And(creator, cll.CustomLevel(cond, "valid", base_dialect_str="duckdb"))
    options: dict[str, Any] = {}
    if level.get("label"):
        options["label_for_charts"] = level["label"]
    if level.get("tf"):
        options["tf_adjustment_column"] = col
        options["tf_adjustment_weight"] = 1.0
        if "tf_minimum_u_value" in level:
            options["tf_minimum_u_value"] = float(level["tf_minimum_u_value"])
    return creator.configure(**options) if options else creator


def compile_comparison(comp: dict[str, Any]) -> CustomComparison:
    return CustomComparison(
        comparison_levels=[compile_level(lv) for lv in comp["levels"]],
        output_column_name=comp["name"],
        comparison_description=comp.get("why", comp["name"]).strip(),
    )


def blocking_rule(key: BlockingKey) -> Any:
    """A bounded key is precomputed as one column (see inputs.add_blocking_keys)."""
    return block_on(key.key_column)


def build_settings(rules: RuleSet) -> SettingsCreator:
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[compile_comparison(c) for c in rules.comparisons],
        blocking_rules_to_generate_predictions=[blocking_rule(k) for k in rules.blocking],
        probability_two_random_records_match=float(
            rules.training["probability_two_random_records_match"]
        ),
        max_iterations=int(rules.training.get("em_max_iterations", 25)),
        em_convergence=float(rules.training.get("em_convergence", 0.0001)),
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=True,
        additional_columns_to_retain=[],
    )


def splink_log_level() -> int | None:
    """The level to give a new Linker: the one set on the `splink` logger (the CLI sets it from
    --debug), or None so Splink leaves logging alone; by default every Linker sets it to INFO."""
    return logging.getLogger("splink").level or None
