"""Standardization on Spark: the same Python standardizers, run per partition.

There is no second implementation: each partition's rows go through
``resolver.standardize.records.standardize_records`` in a Python worker
(``mapInPandas``, Arrow batches). The one thing a partition cannot know alone is the
dictionary of trade names (字号) that jieba must keep whole; on one machine it is learned
from the whole frame, so here a first pass collects it from every name and every
partition tokenizes with the full dictionary. Output equals the pandas path row by row.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

import pandas as pd

from resolver.standardize.columns import (
    BOOL_COLUMNS,
    ENTERPRISE_COLUMNS,
    FLOAT_COLUMNS,
    PERSON_COLUMNS,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


def output_schema(domain: str) -> str:
    """Spark DDL of a standardized frame (docs/columns.md)."""
    cols = ENTERPRISE_COLUMNS if domain == "enterprise" else PERSON_COLUMNS
    parts = []
    for col in cols:
        if col == "name_tokens":
            kind = "array<string>"
        elif col == "row_number":
            kind = "bigint"
        elif col in BOOL_COLUMNS:
            kind = "boolean"
        elif col in FLOAT_COLUMNS:
            kind = "double"
        else:
            kind = "string"
        parts.append(f"`{col}` {kind}")
    return ", ".join(parts)


def _trade_names(spark_df: DataFrame) -> list[str]:
    from resolver.standardize.tokens import build_trade_name_dictionary

    def learn(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            yield pd.DataFrame({"trade_name": sorted(build_trade_name_dictionary(batch["name"]))},
                               dtype=object)

    names = spark_df.select("name").mapInPandas(learn, "trade_name string").distinct()
    return sorted(r[0] for r in names.collect())


def standardize_on_spark(
    spark_df: DataFrame,
    domain: str,
    value_maps: dict[str, dict[str, str]] | None = None,
    *,
    default_city: str = "杭州市",
    trade_names: Iterable[str] | None = None,
) -> DataFrame:
    """Canonical records (as `resolver.canonical.apply_mapping` makes them) -> standardized.

    `trade_names`: the jieba dictionary of trade names; learned from `spark_df` when absent
    (one extra pass), as the pandas path learns it from its whole frame.
    """
    if domain not in ("enterprise", "person"):
        raise ValueError(f"unknown domain {domain!r}: expected 'enterprise' or 'person'")
    names: list[str] = []
    if domain == "enterprise":
        names = sorted(trade_names) if trade_names is not None else (
            _trade_names(spark_df) if "name" in spark_df.columns else [])
    maps = value_maps or {}
    columns = ENTERPRISE_COLUMNS if domain == "enterprise" else PERSON_COLUMNS

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        from resolver.standardize.records import standardize_records
        from resolver.standardize.tokens import NameTokenizer

        tokenizer = NameTokenizer(names) if domain == "enterprise" else None
        for batch in batches:
            out = standardize_records(batch, domain, value_maps=maps, default_city=default_city,
                                      trade_names=names, tokenizer=tokenizer, workers=1)
            out = out[columns].copy()
            if "name_tokens" in out:
                out["name_tokens"] = pd.Series(
                    [list(v) if v is not None and not isinstance(v, float) else None
                     for v in out["name_tokens"]], index=out.index, dtype=object)
            yield out

    return spark_df.mapInPandas(run, output_schema(domain))
