"""Master IDs on Spark (rounds of mutual-best joins) equal the store's greedy assignment."""

from __future__ import annotations

import random

import pandas as pd
import pytest

from resolver.engines.spark_master_ids import assign_master_ids_on_spark
from resolver.store.master_ids import assign_master_ids

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::DeprecationWarning")]


def _case(seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """300 old records in 100 entities (created on 4 days: ties by age); 320 current records,
    20 of them gone and 40 new, regrouped at random into ~130 clusters: merges, splits, retires."""
    rng = random.Random(seed)
    previous = pd.DataFrame([(f"s:{i:04d}", f"E{i // 3:09d}") for i in range(300)], columns=["unique_id", "entity_id"])
    entities = pd.DataFrame({"entity_id": sorted(set(previous["entity_id"]))})
    entities["created_at"] = pd.Timestamp("2026-01-01") + pd.to_timedelta(
        [rng.randint(0, 3) for _ in range(len(entities))], unit="D")
    clusters = pd.DataFrame([(f"s:{i:04d}", rng.randint(0, 130)) for i in range(20, 340)],
                            columns=["unique_id", "group"])
    clusters["cluster_id"] = clusters.groupby("group")["unique_id"].transform("min")  # as clustering names them
    return clusters[["unique_id", "cluster_id"]], previous, entities


@pytest.mark.parametrize("seed", [7, pytest.param(11, marks=pytest.mark.spark_cluster)])
def test_master_ids_on_spark_equal_the_stores(spark, seed):
    clusters, previous, entities = _case(seed)
    want = assign_master_ids("enterprise", clusters, previous, entities, 101)
    got = assign_master_ids_on_spark(spark, "enterprise", spark.createDataFrame(clusters),
                                     spark.createDataFrame(previous), spark.createDataFrame(entities), 101)
    members = got.membership.toPandas().sort_values("unique_id").reset_index(drop=True)
    assert members.equals(want.membership.sort_values("unique_id").reset_index(drop=True))
    assert got.next_number == want.next_number > 101
    events = (got.events.toPandas().sort_values(["event_phase", "event_key"])
              [["event", "entity_id", "related_ids", "reason"]].reset_index(drop=True))
    expected = pd.DataFrame(want.events)
    assert set(expected["event"]) == {"create", "merge", "split", "retire"}
    assert events.equals(expected)
    assert got.rounds > 1  # the case needs more than one round: chains of preferences were cut


def test_first_resolution_numbers_every_cluster_in_order(spark):
    clusters = pd.DataFrame({"unique_id": [f"s:{i}" for i in range(9)],
                             "cluster_id": ["s:0", "s:0", "s:2", "s:3", "s:3", "s:3", "s:6", "s:7", "s:7"]})
    empty = spark.createDataFrame([], "unique_id string, entity_id string")
    got = assign_master_ids_on_spark(spark, "person", spark.createDataFrame(clusters).repartition(3), empty,
                                     spark.createDataFrame([], "entity_id string, created_at timestamp"), 41)
    want = assign_master_ids("person", clusters, pd.DataFrame(columns=["unique_id", "entity_id"]),
                             pd.DataFrame(columns=["entity_id", "created_at"]), 41)
    assert got.membership.toPandas().sort_values("unique_id").reset_index(drop=True).equals(want.membership)
    assert got.next_number == 46
    assert sorted(want.membership["entity_id"].unique()) == [f"P0000000{n}" for n in range(41, 46)]
