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
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from resolver.domains import DomainSchema
from resolver.errors import InputError
from resolver.standardize.records import schema_of

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


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
    keep: Iterable[str] = (),
) -> DataFrame:
    """Canonical records (as `resolver.canonical.apply_mapping` makes them) -> standardized.

    `trade_names`: the jieba dictionary of trade names; learned from `spark_df` when absent
    (one extra pass), as the pandas path learns it from its whole frame. `keep`: text columns
    carried through unchanged (the raw row and its hash).
    """
    schema = schema_of(domain)
    name_fields = [f.name for f in schema.of_type("enterprise_name") if "tokens" in f.parts]
    names: list[str] = []
    if name_fields:
        names = sorted(trade_names) if trade_names is not None else _trade_names(spark_df, name_fields)
    maps = value_maps or {}
    columns = schema.columns()
    lists = sorted(schema.list_columns())
    carried = [c for c in keep if c in spark_df.columns and c not in columns]

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        from resolver.standardize.records import standardize_records
        from resolver.standardize.tokens import NameTokenizer

        tokenizer = NameTokenizer(names) if name_fields else None
        for batch in batches:
            out = standardize_records(batch, schema, value_maps=maps, default_city=default_city,
                                      trade_names=names, tokenizer=tokenizer, workers=1)
            out = out[columns].copy()
            for col in carried:  # one output row per input row, in order (as resolver.ingest.prepare)
                out[col] = batch[col].astype(object).to_numpy()
            for col in lists:
                out[col] = pd.Series([list(v) if v is not None and not isinstance(v, float) else None
                                      for v in out[col]], index=out.index, dtype=object)
            yield out

    ddl = output_schema(schema) + "".join(f", `{c}` string" for c in carried)
    return spark_df.mapInPandas(run, ddl)


_REJECTED = "file string, row_number bigint, field string, reason string, raw string"


def export_on_spark(spark: SparkSession, mapping_path: str | Path, path: str | Path) -> tuple[DataFrame, DataFrame]:
    """(standardized records, rejected rows) of one department export in Parquet, read by Spark.

    The department's columns, cells as text as `resolver.readers` reads Parquet; row numbers are
    the rows' order in the file (1-based). Each partition goes through the project's own
    `apply_mapping` (canonical names, the raw row as JSON and its hash, rows without a record id
    rejected); a record id seen again is rejected after its first row, across partitions; rows
    whose dates cannot be read are rejected as ingest does. Records equal `resolver.ingest.prepare`'s
    on the same rows (tests/engines/test_engine_spark_standardize.py).
    """
    from pyspark.sql import functions as F

    from resolver.ingest import QUARANTINE_FLAGS
    from resolver.mapping import load_mapping

    mapping = load_mapping(mapping_path)
    raw = spark.read.parquet(str(path))
    missing = [c for c in [mapping.record_id, *mapping.columns] if c not in raw.columns]
    if missing:
        raise InputError(f"{path}: column(s) {', '.join(missing)} named in {mapping.path} are not in the file "
                         f"(it has: {', '.join(raw.columns)})")
    data_cols = list(raw.columns)
    canonical_cols = ["source", "source_record_id", "row_number", *mapping.columns.values(), "raw", "record_hash"]
    file = str(path)

    def canonical(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        import unicodedata

        from resolver.canonical import apply_mapping
        from resolver.readers import ROW, _cell_text

        for batch in batches:
            frame = pd.DataFrame({c: batch[c].map(_cell_text).astype("object") for c in data_cols})
            frame = frame[~frame.isna().all(axis=1).to_numpy()]  # blank rows are skipped, as the reader does
            ids = frame[mapping.record_id]
            frame[mapping.record_id] = ids.map(lambda v: unicodedata.normalize("NFKC", v)
                                               if isinstance(v, str) and not v.isascii() else v)
            frame[ROW] = batch.loc[frame.index, "_row"].astype("int64")
            out, rejections = apply_mapping(frame.reset_index(drop=True), mapping, file)
            rows = out.assign(reason=None, field=None)[[*canonical_cols, "reason", "field"]]
            bad = pd.DataFrame([{"source_record_id": None, "row_number": r.row_number, "raw": r.raw,
                                 "reason": r.reason, "field": r.field, "source": mapping.source} for r in rejections],
                               columns=["source", "source_record_id", "row_number", "raw", "reason", "field"])
            out = pd.concat([rows, bad], ignore_index=True).reindex(columns=[*canonical_cols, "reason", "field"])
            # plain objects: pandas' Arrow-backed text columns do not convert to Arrow batches as they are
            yield out.astype({c: object for c in out.columns if c != "row_number"})

    ddl = ", ".join(f"`{c}` {'bigint' if c == 'row_number' else 'string'}" for c in [*canonical_cols, "reason", "field"])
    rows = (_row_numbers(raw.select(*[F.col(f"`{c}`").cast("string").alias(c) for c in data_cols]))
            .mapInPandas(canonical, ddl).localCheckpoint())
    from pyspark.sql.window import Window

    first = Window.partitionBy("source_record_id").orderBy("row_number")
    rows = rows.withColumn("_first", F.first("row_number").over(first))
    dup = F.col("reason").isNull() & (F.col("row_number") > F.col("_first"))
    rejected = rows.where(F.col("reason").isNotNull() | dup).select(
        F.lit(file).alias("file"), "row_number", F.coalesce("field", F.lit(mapping.record_id)).alias("field"),
        F.coalesce("reason", F.format_string("duplicate record id '%s' (first at row %d)", "source_record_id",
                                             "_first")).alias("reason"), "raw")
    accepted = rows.where(F.col("reason").isNull() & ~dup).drop("reason", "field", "_first")
    records = standardize_on_spark(accepted, mapping.domain, mapping.values, keep=("raw", "record_hash")).localCheckpoint()
    flagged = F.lit(False)
    for prefix in QUARANTINE_FLAGS:
        flagged = flagged | F.coalesce(F.col("std_flags").contains(prefix), F.lit(False))
    # one rejected row per quarantining flag, named as resolver.ingest names it: the department's column
    flag = F.explode(F.split(F.col("std_flags"), ";")).alias("flag")
    field = F.expr("CASE WHEN instr(flag, ':') > 0 THEN substring(flag, instr(flag, ':') + 1) ELSE '' END")
    source_column = {canonical: column for column, canonical in mapping.columns.items()}
    column = F.coalesce(F.element_at(F.create_map(*[F.lit(x) for kv in source_column.items() for x in kv]), field),
                        field) if source_column else field
    starts = F.lit(False)
    reason = F.lit(None).cast("string")
    for prefix in QUARANTINE_FLAGS:
        hit = F.col("flag").startswith(prefix)
        starts = starts | hit
        reason = F.when(hit, F.format_string(f"{prefix.replace('_', ' ')} (%s)", field)).otherwise(reason)
    flag_rows = (records.where(flagged).select("row_number", "raw", flag).where(starts)
                 .select(F.lit(file).alias("file"), "row_number", column.alias("field"), reason.alias("reason"), "raw"))
    return records.where(~flagged), rejected.unionByName(flag_rows)


def _row_numbers(frame: DataFrame) -> DataFrame:
    """`frame` with `_row`, each row's 1-based position in the file (per-partition counts, a row
    each, come to the driver: the offsets)."""
    from pyspark.sql import functions as F

    tagged = frame.select("*", F.spark_partition_id().alias("_part"),
                          F.monotonically_increasing_id().alias("_mid")).localCheckpoint()
    counts = tagged.groupBy("_part").agg(F.count("*").alias("_n"), F.min("_mid").alias("_first"))
    offsets = counts.selectExpr(
        "_part", "_first", "sum(_n) OVER (ORDER BY _part ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS _before")
    return (tagged.join(F.broadcast(offsets), "_part")
            .selectExpr("*", "1 + coalesce(_before, 0) + (_mid - _first) AS _row")
            .drop("_part", "_mid", "_first", "_before"))
