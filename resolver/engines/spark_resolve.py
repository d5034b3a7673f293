"""A whole resolution on Spark, written as a master snapshot (Parquet) that a store loads.

    records (Parquet) -> bounded blocking keys -> Splink predict (pairs stay in Spark)
      -> constrained clustering (resolver.engines.spark_cluster) -> stable master IDs
      -> golden records (Spark SQL) -> snapshot folder (resolver.store.snapshot)

Nothing that grows with the records or the pairs comes to the driver: only counts, the
blocking statistics (a row per key), the per-partition offsets of new master IDs and the
data steward's decisions (a human's, not the data's). `tests/engines/test_spark_no_collect.py`
fails when a collect() or toPandas() is added to this package's Spark code.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from resolver.engines.spark_golden import golden_on_spark
from resolver.engines.spark_link import score_pairs_on_spark
from resolver.engines.spark_master_ids import assign_master_ids_on_spark
from resolver.engines.spark_meter import StageMeter
from resolver.linking.model import LinkModel, model_to_json
from resolver.store.golden import Survivorship
from resolver.store.snapshot import FORMAT, VERSION

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

Step = Callable[[str], None]


def _silent(name: str) -> None:
    """No progress shown."""


@dataclass
class Base:
    """The master a resolution carries its IDs on from: previous membership, active entities,
    the next master-ID number (empty for a first resolution), and what identifies it."""

    previous: DataFrame | None = None
    entities: DataFrame | None = None
    next_number: int = 1
    identity: dict[str, Any] = field(default_factory=dict)


@dataclass
class SparkResolution:
    domain: str
    model_version: str
    folder: Path
    counts: dict[str, int]
    report: dict[str, Any]
    meter: StageMeter

    @property
    def seconds(self) -> dict[str, float]:
        return self.meter.seconds


def _decided(spark: SparkSession, frame: pd.DataFrame | None) -> DataFrame | None:
    """Decided pairs (a data steward's, a few thousand at most) as a Spark frame."""
    if frame is None or frame.empty:
        return None
    return spark.createDataFrame(frame[["unique_id_l", "unique_id_r"]].astype(str))


def _cluster(spark: SparkSession, pairs: DataFrame, records: DataFrame, clustering: dict[str, Any],
             must_link: DataFrame | None, cannot_link: DataFrame | None) -> tuple[DataFrame, dict[str, Any]]:
    from resolver.engines.spark_cluster import cluster_on_spark

    edges = pairs.select("unique_id_l", "unique_id_r", "match_probability")
    report: dict[str, Any] = {}
    clusters = cluster_on_spark(spark, edges, records, clustering, must_link=must_link, cannot_link=cannot_link,
                                report_out=report)
    return clusters, report


def resolve_on_spark(spark: SparkSession, domain: str, records: DataFrame, model: LinkModel,
                     survivorship: Survivorship, folder: Path, *, base: Base | None = None,
                     must_link: pd.DataFrame | None = None, cannot_link: pd.DataFrame | None = None,
                     records_written: bool = False, step: Step = _silent,
                     meter: StageMeter | None = None) -> SparkResolution:
    """Resolve `records` (standardized, a Spark DataFrame) with `model` and write the snapshot to
    `folder` (replaced). `records_written`: `folder`/records already holds these records (the
    store's export), else they are written there. `meter` times the stages (a new one if None;
    a caller passes its own to time what it does before and after in the same way)."""
    from pyspark.sql import functions as F

    base = base or Base()
    meter = meter or StageMeter()
    lap = meter.lap

    for part in ("membership", "events", "golden_values", "conflicts", "pairs"):
        shutil.rmtree(folder / part, ignore_errors=True)
    step("scoring candidate pairs on Spark")
    pairs, blocking = score_pairs_on_spark(spark, records, model)
    pairs = pairs.withColumn("model_version", F.lit(model.version))
    pairs.write.parquet(str(folder / "pairs"))  # written once, read back: the clustering reads them again
    pairs = spark.read.parquet(str(folder / "pairs"))
    lap("score")
    step("clustering under constraints on Spark")
    clusters, report = _cluster(spark, pairs, records, model.clustering,
                                _decided(spark, must_link), _decided(spark, cannot_link))
    clusters = clusters.localCheckpoint()
    lap("cluster")
    step("assigning master IDs on Spark")
    empty_prev = spark.createDataFrame([], "unique_id string, entity_id string")
    empty_ent = spark.createDataFrame([], "entity_id string, created_at timestamp")
    assigned = assign_master_ids_on_spark(spark, domain, clusters,
                                          base.previous if base.previous is not None else empty_prev,
                                          base.entities if base.entities is not None else empty_ent,
                                          base.next_number)
    assigned.membership.write.parquet(str(folder / "membership"))
    membership = spark.read.parquet(str(folder / "membership"))
    assigned.events.write.parquet(str(folder / "events"))
    lap("master_ids")
    step("building golden records on Spark")
    golden, conflicts = golden_on_spark(spark, records, membership, survivorship)
    golden.write.parquet(str(folder / "golden_values"))
    conflicts.write.parquet(str(folder / "conflicts"))
    lap("golden")
    if not records_written:
        shutil.rmtree(folder / "records", ignore_errors=True)
        records.write.parquet(str(folder / "records"))
    counts = {"records": records.count(), "pairs": pairs.count(),
              "entities": membership.select("entity_id").distinct().count(),
              "events": spark.read.parquet(str(folder / "events")).count(),
              "golden_values": spark.read.parquet(str(folder / "golden_values")).count()}
    lap("write")
    report = {**report, "entities": counts["entities"], "source_records": counts["records"],
              "master_id_rounds": assigned.rounds}
    manifest = {"format": FORMAT, "version": VERSION, "domain": domain, "model_version": model.version,
                "model_json": model_to_json(model), "fingerprint": model.metadata.get("training_fingerprint", ""),
                "next_number": assigned.next_number, "base": base.identity, "counts": counts,
                "blocking": blocking, "clustering": _jsonable(report), **meter.report(),
                "created_at": datetime.now(UTC).isoformat(timespec="seconds")}
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1, default=str),
                                          encoding="utf-8")
    return SparkResolution(domain, model.version, folder, counts, report, meter)


def _jsonable(report: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(report, default=str))
