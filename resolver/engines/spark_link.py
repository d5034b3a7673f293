"""Scoring on Spark with the pairs kept in Spark: a DataFrame in, a DataFrame of pairs out.

The same Splink predict as `resolver.linking.predict.predict_pairs` (the model's settings in
Spark SQL, bounded blocking keys from `SparkEngine.prepare_input`), but the predictions stay a
Spark table: nothing about records or pairs comes back to the driver.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from resolver.engines.spark import SparkEngine
from resolver.errors import ConfigError
from resolver.linking.compile import splink_log_level
from resolver.linking.model import LinkModel

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def score_pairs_on_spark(spark: SparkSession, records: DataFrame, model: LinkModel, *,
                         threshold: float | None = None) -> tuple[DataFrame, list[dict[str, Any]]]:
    """(pairs, blocking statistics): pairs unique_id_l, unique_id_r, match_probability,
    match_weight, match_key, mw_<comparison>… at or above `threshold` (default: the model's
    predict_threshold), as `predict_pairs` gives them, but as a Spark DataFrame."""
    from splink import Linker

    missing = sorted(c for c in model.columns if c not in records.columns)
    if missing:
        raise ConfigError(str(model.path or model.version),
                          [f"model reads column '{c}' that the records lack" for c in missing])
    if threshold is None:
        threshold = float(model.metadata["clustering"]["predict_threshold"])
    engine = SparkEngine()
    table, stats = engine.prepare_input(spark, records, model.columns, model.blocking_keys)
    linker = Linker(engine.database_api(spark).register(table), engine.settings(model.splink_settings()),
                    log_level=splink_log_level(), validate_settings=False)
    predicted = linker.inference.predict(threshold_match_probability=threshold)
    frame = spark.table(predicted.physical_name)
    have = set(frame.columns)
    comps = [c["output_column_name"] for c in model.settings["comparisons"]]
    mw = [f"`mw_{c}` + coalesce(`mw_tf_adj_{c}`, 0) AS `mw_{c}`" if f"mw_tf_adj_{c}" in have else f"`mw_{c}`"
          for c in comps if f"mw_{c}" in have]
    pairs = frame.selectExpr("unique_id_l", "unique_id_r", "match_probability", "match_weight",
                             "match_key", *mw)
    return pairs, [asdict(s) for s in stats]
