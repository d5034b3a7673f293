"""Stable master IDs on Spark: the rules of resolver.store.master_ids, as rounds of joins.

The store's assignment is a greedy matching of new clusters to old IDs, in the order (shared
members desc, old size desc, created first, entity ID, cluster ID). The same matching comes out of
rounds in which every (cluster, old ID) pair that comes first for its cluster *and* for its old
ID among the pairs still open is taken: the pair the greedy would take next always qualifies, and
a pair that qualifies is one the greedy takes (nothing before it touches its cluster or its ID).
Rounds are few (one on a first resolution's re-run; each cuts every chain of preferences).

New IDs are numbered in cluster-ID order from the store's next number, as the store does, by a
sorted, indexed frame (counts per partition come to the driver, one row each: nothing that
grows with the records). Events (create, merge, split, retire) carry their reasons word for word.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from resolver.store.master_ids import prefix

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

MAX_ROUNDS = 1000  # a bound, never met in practice: every round takes at least the greedy's next pair
_ORDER = "shared DESC, old_size DESC, created_at ASC NULLS LAST, entity_id ASC, cluster_id ASC"


@dataclass
class SparkAssignment:
    membership: DataFrame  # unique_id, entity_id
    events: DataFrame      # event, entity_id, related_ids, reason, event_phase, event_key (the store's order)
    next_number: int
    rounds: int


def _inherited(spark: SparkSession, overlap: DataFrame) -> tuple[DataFrame, int]:
    """(cluster_id, entity_id) of every cluster that keeps an old ID, and the rounds it took."""
    from pyspark.sql import functions as F
    from pyspark.sql.window import Window

    def ranked(frame: DataFrame, by: str) -> DataFrame:
        window = Window.partitionBy(by).orderBy(
            F.col("shared").desc(), F.col("old_size").desc(), F.col("created_at").asc_nulls_last(),
            F.col("entity_id").asc(), F.col("cluster_id").asc())
        return frame.withColumn(f"_first_{by}", F.row_number().over(window) == 1)

    remaining = overlap.localCheckpoint()
    won_all = None
    rounds = 0
    while rounds < MAX_ROUNDS:
        rounds += 1
        won = (ranked(ranked(remaining, "cluster_id"), "entity_id")
               .where("_first_cluster_id AND _first_entity_id").select("cluster_id", "entity_id")
               .localCheckpoint(eager=False))
        if won.count() == 0:  # one number per round (how many pairs it took); materializes `won`
            break
        won_all = won if won_all is None else won_all.unionByName(won)
        remaining = (remaining.join(won.select("cluster_id"), "cluster_id", "left_anti")
                     .join(won.select("entity_id"), "entity_id", "left_anti").localCheckpoint(eager=False))
    else:
        raise RuntimeError(f"master IDs: no stable assignment after {MAX_ROUNDS} rounds")
    if won_all is None:
        won_all = spark.createDataFrame([], "cluster_id string, entity_id string")
    return won_all.localCheckpoint(), rounds


def _numbered(spark: SparkSession, clusters: DataFrame, domain: str, next_number: int) -> tuple[DataFrame, int]:
    """(cluster_id, entity_id) with new IDs numbered in cluster-ID order from `next_number`."""
    from pyspark.sql import functions as F

    ordered = (clusters.orderBy("cluster_id")
               .select("cluster_id", F.spark_partition_id().alias("_part"),
                       F.monotonically_increasing_id().alias("_mid"))
               .localCheckpoint())  # the IDs are fixed once: recomputing could number differently
    # rows per sorted partition: a handful of rows, the offsets of each partition's first number
    counts = ordered.groupBy("_part").agg(F.count("*").alias("_n"), F.min("_mid").alias("_first"))
    offsets = counts.selectExpr(
        "_part", "_first", "sum(_n) OVER (ORDER BY _part ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS _before")
    numbered = (ordered.join(F.broadcast(offsets), "_part")
                .selectExpr("cluster_id", f"{int(next_number)} + coalesce(_before, 0) + (_mid - _first) AS _number"))
    total = numbered.count()
    ids = numbered.selectExpr(
        "cluster_id", f"concat('{prefix(domain)}', format_string('%09d', _number)) AS entity_id")
    return ids, next_number + total


def assign_master_ids_on_spark(spark: SparkSession, domain: str, clusters: DataFrame, previous: DataFrame,
                               entities: DataFrame, next_number: int) -> SparkAssignment:
    """`clusters` (unique_id, cluster_id) to master IDs given the `previous` membership (unique_id,
    entity_id), the active `entities` (entity_id, created_at) and the first unused number."""
    from pyspark.sql import functions as F

    clusters = clusters.select("unique_id", "cluster_id")
    joined = clusters.join(previous.select("unique_id", "entity_id"), "unique_id", "left").localCheckpoint()
    old_size = previous.groupBy("entity_id").agg(F.count("*").alias("old_size"))
    overlap = (joined.where("entity_id IS NOT NULL").groupBy("cluster_id", "entity_id")
               .agg(F.count("*").alias("shared")).join(old_size, "entity_id")
               .join(entities.select("entity_id", "created_at"), "entity_id", "left").localCheckpoint())
    kept, rounds = _inherited(spark, overlap)
    cluster_ids = clusters.select("cluster_id").distinct()
    fresh = cluster_ids.join(kept.select("cluster_id"), "cluster_id", "left_anti")
    created, number = _numbered(spark, fresh, domain, next_number)
    to_id = kept.unionByName(created).localCheckpoint()
    membership = clusters.join(to_id, "cluster_id").select("unique_id", "entity_id")

    # old IDs that sent members to each cluster, sorted (the store's `olds`)
    olds = overlap.groupBy("cluster_id").agg(F.array_sort(F.collect_list("entity_id")).alias("olds"))
    per_cluster = (to_id.join(olds, "cluster_id", "left")
                   .join(created.select("cluster_id", F.lit(True).alias("is_new")), "cluster_id", "left"))
    creates = per_cluster.where("is_new").selectExpr(
        "'create' AS event", "entity_id", "array_join(coalesce(olds, array()), ',') AS related_ids",
        "CASE WHEN size(coalesce(olds, array())) > 0 THEN concat('split from ', array_join(olds, ', ')) "
        "ELSE 'new records' END AS reason", "0 AS _phase", "cluster_id AS _key")
    merges = (per_cluster.where("is_new IS NULL")
              .selectExpr("entity_id", "cluster_id", "filter(coalesce(olds, array()), o -> o <> entity_id) AS absorbed")
              .where("size(absorbed) > 0")
              .selectExpr("'merge' AS event", "entity_id", "array_join(absorbed, ',') AS related_ids",
                          "concat('merged ', size(absorbed), ' entities into the larger one') AS reason",
                          "0 AS _phase", "cluster_id AS _key"))
    # the new IDs each old entity's members went to
    heirs = (joined.where("entity_id IS NOT NULL").select(F.col("entity_id").alias("old_id"), "cluster_id")
             .distinct().join(to_id, "cluster_id")
             .groupBy("old_id").agg(F.array_sort(F.collect_set("entity_id")).alias("parts")))
    splits = heirs.where("size(parts) > 1").selectExpr(
        "'split' AS event", "old_id AS entity_id", "array_join(filter(parts, p -> p <> old_id), ',') AS related_ids",
        "concat('split into ', size(parts), ' entities') AS reason", "1 AS _phase", "old_id AS _key")
    retired = (previous.select(F.col("entity_id").alias("old_id")).distinct()
               .join(kept.select(F.col("entity_id").alias("old_id")), "old_id", "left_anti")
               .join(heirs, "old_id", "left"))
    retires = retired.selectExpr(
        "'retire' AS event", "old_id AS entity_id", "array_join(coalesce(parts, array()), ',') AS related_ids",
        "CASE WHEN size(coalesce(parts, array())) > 0 THEN concat('merged into ', array_join(parts, ', ')) "
        "ELSE 'no records left' END AS reason", "2 AS _phase", "old_id AS _key")
    events = (creates.unionByName(merges).unionByName(splits).unionByName(retires)
              .selectExpr("event", "entity_id", "related_ids", "reason",
                          "_phase AS event_phase", "_key AS event_key"))
    return SparkAssignment(membership, events, number, rounds)
