"""The same rule files on Spark (local) give the same entities as on DuckDB."""

from pathlib import Path

import pandas as pd
import pytest

from resolver.engines import get_engine
from resolver.linking.cluster import cluster_with_constraints, constraint_violations
from resolver.linking.evaluate import evaluate
from resolver.linking.model import load_model
from resolver.linking.predict import predict_pairs
from resolver.linking.rules import load_rules
from resolver.linking.train import train_model

SAMPLE = Path(__file__).resolve().parents[2] / "fixtures" / "sample"
pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::DeprecationWarning")


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
def runs(spark, sample_records, sample_model, tmp_path_factory):
    """(domain, engine) -> train + predict + cluster + evaluate, each computed once (DuckDB's
    model is the session's, tests/conftest.py: the same training on the same records)."""
    cache: dict = {}

    def get(domain, engine):
        if (domain, engine) not in cache:
            con = spark if engine == "spark" else None
            out = tmp_path_factory.mktemp(f"{domain}_{engine}")
            trained = sample_model(domain) if engine == "duckdb" else None
            cache[domain, engine] = _resolve(sample_records(domain), domain, engine, con, out, trained)
        return cache[domain, engine]

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
