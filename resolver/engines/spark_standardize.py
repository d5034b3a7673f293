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

from resolver.domains import DomainSchema
from resolver.standardize.records import schema_of

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


def output_schema(domain: str | DomainSchema) -> str:
    """Spark DDL of a standardized frame (docs/columns.md), from the domain's schema."""
    schema = schema_of(domain)
    bools, floats, lists = schema.bool_columns(), schema.float_columns(), schema.list_columns()
    parts = []
    for col in schema.columns():
        if col in lists:
            kind = "array<string>"
        elif col == "row_number":
            kind = "bigint"
        elif col in bools:
            kind = "boolean"
        elif col in floats:
            kind = "double"
        else:
            kind = "string"
        parts.append(f"`{col}` {kind}")
    return ", ".join(parts)


def _trade_names(spark_df: DataFrame, name_fields: list[str]) -> list[str]:
    """Trade names learned from every enterprise-name field present, over all partitions."""
    from resolver.standardize.tokens import build_trade_name_dictionary

    def learn(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            learned: set[str] = set()
            for field in batch.columns:
                learned |= build_trade_name_dictionary(batch[field])
            yield pd.DataFrame({"trade_name": sorted(learned)}, dtype=object)

    present = [f for f in name_fields if f in spark_df.columns]
    if not present:
        return []
    names = spark_df.select(*present).mapInPandas(learn, "trade_name string").distinct()
    return sorted(r[0] for r in names.collect())


def standardize_on_spark(
    spark_df: DataFrame,
    domain: str | DomainSchema,
    value_maps: dict[str, dict[str, str]] | None = None,
    *,
    default_city: str = "杭州市",
    trade_names: Iterable[str] | None = None,
) -> DataFrame:
    """Canonical records (as `resolver.canonical.apply_mapping` makes them) -> standardized.

    `trade_names`: the jieba dictionary of trade names; learned from `spark_df` when absent
    (one extra pass), as the pandas path learns it from its whole frame.
    """
    schema = schema_of(domain)
    name_fields = [f.name for f in schema.of_type("enterprise_name") if "tokens" in f.parts]
    names: list[str] = []
    if name_fields:
        names = sorted(trade_names) if trade_names is not None else _trade_names(spark_df, name_fields)
    maps = value_maps or {}
    columns = schema.columns()
    lists = sorted(schema.list_columns())

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        from resolver.standardize.records import standardize_records
        from resolver.standardize.tokens import NameTokenizer

        tokenizer = NameTokenizer(names) if name_fields else None
        for batch in batches:
            out = standardize_records(batch, schema, value_maps=maps, default_city=default_city,
                                      trade_names=names, tokenizer=tokenizer, workers=1)
            out = out[columns].copy()
            for col in lists:
                out[col] = pd.Series([list(v) if v is not None and not isinstance(v, float) else None
                                      for v in out[col]], index=out.index, dtype=object)
            yield out

    return spark_df.mapInPandas(run, output_schema(schema))
