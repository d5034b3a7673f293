"""The same rule files on Spark (local) give the same entities as on DuckDB."""

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from resolver.engines import get_engine
from resolver.linking.cluster import cluster_with_constraints, constraint_violations
from resolver.linking.evaluate import evaluate
from resolver.linking.model import fingerprint_records, load_model
from resolver.linking.predict import predict_pairs
from resolver.linking.rules import load_rules
from resolver.linking.train import train_model
from tests.conftest import copy_store
from tests.engines.driver_watch import SMALL, driver_watch, too_big

SAMPLE = Path(__file__).resolve().parents[2] / "fixtures" / "sample"
pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::DeprecationWarning")]


def _train_on_spark(db, domain, out_dir):
    """`resolver train --engine spark` as the CLI runs it (records from the store to Spark as
    Parquet), every driver pull watched; also the fingerprint of the records `train` on DuckDB
    reads from the same store."""
    from resolver.engine import Resolver
    from resolver.store import open_store

    store = open_store(db)
    try:
        with driver_watch() as seen:
            model = Resolver(store, domain, engine="spark").train(out_dir=out_dir)
        fingerprint = Resolver(store, domain).train().metadata["training_fingerprint"]
    finally:
        store.close()
    return model, seen, fingerprint


def _resolve(records, domain, engine, con, out_dir, model=None):
    rules = load_rules(domain)
    model = model or train_model(records, rules, out_dir=out_dir, con=con, engine=engine)
    # reload from disk: prediction must work from the saved (DuckDB-dialect) model file
    saved = load_model(model.path)
    pairs = predict_pairs(records, saved, con=con, engine=engine)
    clusters, report = cluster_with_constraints(records, pairs, rules.clustering)
    assert constraint_violations(records, clusters, rules.clustering) == []
    truth = pd.read_csv(SAMPLE / "truth_members.csv", dtype=str)
    ev = evaluate(clusters, truth[truth["domain"] == domain])
    return model, saved, pairs, report, ev


@pytest.fixture(scope="module")
def runs(spark, sample_records, sample_model, demo_copy, tmp_path_factory):
    """(domain, engine) -> train + predict + cluster + evaluate, each computed once (DuckDB's
    model is the session's, tests/conftest.py: the same training on the same records; Spark's is
    trained from a copy of the demo store, the sample ingested, as `train --engine spark` does)."""
    cache: dict = {}
    watched: dict = {}

    def get(domain, engine):
        if (domain, engine) not in cache:
            con = spark if engine == "spark" else None
            out = tmp_path_factory.mktemp(f"{domain}_{engine}")
            trained = sample_model(domain) if engine == "duckdb" else None
            if engine == "spark":
                trained, *watched[domain] = _train_on_spark(demo_copy(f"train_{domain}"), domain, out)
            cache[domain, engine] = _resolve(sample_records(domain), domain, engine, con, out, trained)
        return cache[domain, engine]

    get.watched = watched  # domain -> (what reached the driver, the DuckDB path's fingerprint)
    return get


# Training on Spark is the slow part: the person domain runs in the default suite, the
# enterprise one (about a minute) under `make test-spark`, like the pipeline tests.
@pytest.mark.parametrize("domain", [pytest.param("enterprise", marks=pytest.mark.spark_cluster), "person"])
def test_spark_matches_duckdb_on_sample(domain, runs):
    d_model, _, d_pairs, d_report, d_ev = runs(domain, "duckdb")
    s_model, s_saved, s_pairs, s_report, s_ev = runs(domain, "spark")
    print(f"{domain}: entities duckdb {d_report['entities']} spark {s_report['entities']}; "
          f"pairwise F1 duckdb {d_ev['pairwise']['f1']:.5f} spark {s_ev['pairwise']['f1']:.5f}")
    assert s_model.metadata["engine"] == "spark" and d_model.metadata["engine"] == "duckdb"
    # the model file is engine-neutral: DuckDB SQL, whatever engine fitted it
    assert s_saved.settings["sql_dialect"] == "duckdb"
    d_n, s_n = d_report["entities"], s_report["entities"]
    assert abs(s_n - d_n) <= 0.005 * d_n, (d_n, s_n)
    assert abs(s_ev["pairwise"]["f1"] - d_ev["pairwise"]["f1"]) <= 0.005, (d_ev["pairwise"],
                                                                          s_ev["pairwise"])
    assert s_ev["pairwise"]["f1"] >= 0.99, s_ev["pairwise"]
    # same blocking: identical bounded-key statistics on both engines
    assert d_model.metadata["blocking_stats"] == s_model.metadata["blocking_stats"]
    # near-identical scored pairs (u sampling differs between engines, so not exactly)
    d_set = set(zip(d_pairs.unique_id_l, d_pairs.unique_id_r, strict=True))
    s_set = set(zip(s_pairs.unique_id_l, s_pairs.unique_id_r, strict=True))
    assert len(d_set ^ s_set) <= 0.01 * len(d_set), (len(d_set), len(s_set), len(d_set ^ s_set))
    # the model itself: trained on the same records (same count and fingerprint as DuckDB reads
    # them from the store), m from EM equal, u from random sampling close where it is not rare
    seen, fingerprint = runs.watched[domain]
    assert s_model.metadata["training_records"] == d_model.metadata["training_records"] > 3000
    assert s_model.metadata["training_fingerprint"] == fingerprint
    assert [e["used"] for e in s_model.metadata["em"]] == [e["used"] for e in d_model.metadata["em"]]
    d_levels, s_levels = d_model.level_parameters(), s_model.level_parameters()
    assert [(lv["comparison"], lv["label"]) for lv in s_levels] == [(lv["comparison"], lv["label"]) for lv in d_levels]
    for d_lv, s_lv in zip(d_levels, s_levels, strict=True):
        assert abs(s_lv["m"] - d_lv["m"]) <= 0.01, (d_lv, s_lv)
        assert abs(s_lv["u"] - d_lv["u"]) <= 0.01, (d_lv, s_lv)
    # nothing that grows with the records reached the driver while training on Spark
    assert seen.pulled, "the watch saw no pull at all: is it still hooked into pyspark?"
    assert too_big(seen) == [], too_big(seen)


def test_the_driver_watch_catches_records_pulled_or_read_into_pandas(spark, demo_store, tmp_path):
    from resolver.engine import Resolver
    from resolver.engines.spark_train import records_on_spark
    from resolver.store import open_store

    store = open_store(copy_store(demo_store, tmp_path))
    try:
        with records_on_spark(store, "person", {"name"}, spark) as (records, _), driver_watch() as seen:
            assert records.select("name").distinct().count() > SMALL  # a count stays on Spark
            assert too_big(seen) == []
            records.select("name").limit(SMALL).toPandas()
            assert too_big(seen) == []
            records.select("name").toPandas()
            assert too_big(seen) == [("toPandas", records.count(), ("name",))]
            seen.pulled.clear()
            records.select("unique_id").limit(3).collect()  # record ids are the data's, however few
            assert len(too_big(seen)) == 1
            spark.createDataFrame(records.select("name").limit(SMALL + 1).toPandas())
            assert ("DataFrame", SMALL + 1) in too_big(seen)
            with pytest.raises(AssertionError, match="read into pandas"):
                Resolver(store, "person", engine="spark").linking_records({"name"})
    finally:
        store.close()


def test_fingerprint_on_spark_equals_the_pandas_one(spark, sample_records):
    from resolver.engines.spark_train import count_and_fingerprint

    records = sample_records("person")[["unique_id", "source", "name"]]
    frame = spark.createDataFrame(pa.Table.from_pandas(records, preserve_index=False)).repartition(3)  # parts add up
    assert count_and_fingerprint(frame) == (len(records), fingerprint_records(records))
    assert count_and_fingerprint(frame.limit(len(records) - 1))[1] != fingerprint_records(records)


def test_spark_scores_a_duckdb_model_like_duckdb(spark, sample_records, runs):
    """One saved model, two engines: the match probabilities agree pair by pair."""
    records = sample_records("enterprise")
    _, saved, d, _, _ = runs("enterprise", "duckdb")
    s = predict_pairs(records, saved, con=spark, engine="spark")
    assert len(d) == len(s) > 1000
    both = d.merge(s, on=["unique_id_l", "unique_id_r"], suffixes=("_d", "_s"))
    assert len(both) == len(d)
    assert (both.match_probability_d - both.match_probability_s).abs().max() < 1e-9
    assert (both.mw_name_d - both.mw_name_s).abs().max() < 1e-9


def test_unknown_engine_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="unknown engine 'flink'"):
        get_engine("flink")
    from typer.testing import CliRunner

    from resolver.cli import app

    result = CliRunner().invoke(app, ["train", "--db", str(tmp_path / "x.duckdb"),
                                      "--domain", "enterprise", "--engine", "flink"])
    assert result.exit_code == 2  # a usage error: --engine offers duckdb and spark
    assert "Usage: " in result.output and "'flink'" in result.output
    assert not (tmp_path / "x.duckdb").exists()  # refused before touching the store


def test_u_sampling_sample_is_held_in_few_partitions(spark):
    """Splink joins u sampling's sample with itself as a cartesian product (partitions squared
    tasks): the sample gets sqrt(parallelism) partitions whatever the input's, other tables
    keep Splink's own partitioning."""
    import math

    from resolver.engines.spark import _splink_api

    api = _splink_api(spark)
    frame = spark.range(1000).repartition(7)
    parts = max(1, math.isqrt(spark.sparkContext.defaultParallelism))
    sample = api._repartition_if_needed(frame, "__splink__df_concat_sample")
    assert sample.rdd.getNumPartitions() == parts < 7
    assert api._repartition_if_needed(frame, "__splink__df_tf_name").rdd.getNumPartitions() == 7


# another Spark training (about a minute on this box): under `make test-spark`
@pytest.mark.spark_cluster
def test_spark_trains_on_the_stores_sample_as_duckdb_does(spark, demo_copy, tmp_path):
    """`train --engine spark --sample N` reads the same random sample, drawn in the store, as DuckDB's
    train, with the blocking keys capped and counted on every record; nothing large reaches the driver."""
    from resolver.engine import Resolver
    from resolver.store import open_store

    store = open_store(demo_copy("spark_sample"))
    try:
        duck = Resolver(store, "person").train(sample=2000)
        with driver_watch() as seen:
            on_spark = Resolver(store, "person", engine="spark").train(sample=2000)
    finally:
        store.close()
    assert on_spark.metadata["training_sample"] == duck.metadata["training_sample"]
    assert duck.metadata["training_sample"]["records"] == 2000 < duck.metadata["training_sample"]["of"]
    assert on_spark.metadata["training_fingerprint"] == duck.metadata["training_fingerprint"]
    assert on_spark.metadata["blocking_stats"] == duck.metadata["blocking_stats"]
    for d_lv, s_lv in zip(duck.level_parameters(), on_spark.level_parameters(), strict=True):
        assert abs(s_lv["m"] - d_lv["m"]) <= 0.01, (d_lv, s_lv)
    assert too_big(seen) == [], too_big(seen)


def test_java_options_reach_the_driver_jvm(spark):
    """spark_session(java_options=...) is on the driver JVM's command line (the session here
    passes tests/engines/conftest.py's JIT flag)."""
    from tests.engines.conftest import JIT

    runtime = spark.sparkContext._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean()
    assert JIT in list(runtime.getInputArguments())
