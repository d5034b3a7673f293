"""The whole resolution on Spark (issue #20) against DuckDB's, on the committed sample.

A store is resolved by DuckDB (`fixtures.quality.run_pipeline`), copied, and resolved again on
Spark with the same published model versions: pairs, constrained clustering, master IDs and
golden records all on Spark, written as a snapshot and loaded back. Minutes, so marked
`spark_cluster` (`make test-spark`); the local-cluster test runs the CLI with separate executor
JVMs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from resolver.errors import InputError
from resolver.linking.cluster import constraint_violations
from resolver.linking.evaluate import evaluate
from resolver.linking.model import published_model
from resolver.store import open_store

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "fixtures" / "sample"
DOMAINS = ("enterprise", "person")
pytestmark = [pytest.mark.spark_cluster,
              pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::DeprecationWarning")]


def _truth(domain: str) -> pd.DataFrame:
    truth = pd.read_csv(SAMPLE / "truth_members.csv", dtype=str)
    return truth[truth["domain"] == domain]


def _master(db: Path, domain: str) -> dict[str, pd.DataFrame]:
    store = open_store(db, read_only=True)
    try:
        cur = store.cursor()
        return {"members": store.membership(domain), "golden": store.golden(domain),
                "records": store.load_records(domain),
                "entities": cur.execute("SELECT entity_id FROM entities WHERE domain = ? AND active", [domain]).df(),
                "docs": cur.execute("SELECT entity_id FROM serving_docs WHERE domain = ?", [domain]).df(),
                "history": store.history(domain),
                "model": published_model(store, domain).clustering}
    finally:
        store.close()


@pytest.fixture(scope="module")
def duckdb_db(tmp_path_factory) -> Path:
    from fixtures.quality import run_pipeline

    db = tmp_path_factory.mktemp("duckdb_master") / "m.duckdb"
    run_pipeline(SAMPLE, db)
    return db


@pytest.fixture(scope="module")
def spark_db(spark, duckdb_db, tmp_path_factory) -> tuple[Path, Path, dict]:
    """A copy of the DuckDB-resolved store, resolved again on Spark domain by domain; snapshots kept."""
    from resolver.engines.spark_store import resolve_store_on_spark

    folder = tmp_path_factory.mktemp("spark_master")
    db = folder / "m.duckdb"
    shutil.copy(duckdb_db, db)
    runs = {}
    store = open_store(db)
    try:
        for domain in DOMAINS:
            runs[domain] = resolve_store_on_spark(store, domain, folder / f"snapshot_{domain}")
    finally:
        store.close()
    return db, folder, runs


@pytest.mark.parametrize("domain", DOMAINS)
def test_spark_resolution_equals_duckdb(domain, duckdb_db, spark_db):
    db, _, runs = spark_db
    resolution, loaded = runs[domain]
    d, s = _master(duckdb_db, domain), _master(db, domain)
    d_ev = evaluate(d["members"].rename(columns={"entity_id": "cluster_id"}), _truth(domain))["pairwise"]
    s_ev = evaluate(s["members"].rename(columns={"entity_id": "cluster_id"}), _truth(domain))["pairwise"]
    print(f"{domain}: entities duckdb {len(d['entities'])} spark {len(s['entities'])}; pairwise F1 duckdb "
          f"{d_ev['f1']:.5f} spark {s_ev['f1']:.5f}; seconds {resolution.seconds}")
    assert abs(s_ev["f1"] - d_ev["f1"]) <= 0.005, (d_ev, s_ev)
    assert abs(len(s["entities"]) - len(d["entities"])) <= 0.005 * len(d["entities"])
    assert resolution.counts["records"] == len(s["records"]) == len(s["members"])
    # every stage timed, and (on Linux) its CPU seconds and memory high-water mark measured
    stages = ["export", "spark_start", "score", "cluster", "master_ids", "golden", "write", "load"]
    meter = resolution.meter
    assert list(meter.seconds) == list(meter.cpu_seconds) == list(meter.peak_rss_gb) == stages
    assert meter.cpu_seconds["score"] > 0 and meter.peak_rss_gb["load"] > 0.1
    clusters = s["members"].rename(columns={"entity_id": "cluster_id"})
    assert constraint_violations(s["records"], clusters, s["model"]) == []
    # master IDs carried over from DuckDB's resolution: records keep their entity's ID
    both = d["members"].merge(s["members"], on="unique_id", suffixes=("_d", "_s"))
    assert len(both) == len(d["members"])
    assert (both["entity_id_d"] == both["entity_id_s"]).mean() >= 0.995
    # entities with the same members on both engines have the same golden record, value by value
    same = both.groupby("entity_id_s").filter(
        lambda g: (g["entity_id_d"] == g.name).all() and len(g) == (both["entity_id_d"] == g.name).sum())
    kept = set(same["entity_id_s"])
    assert len(kept) >= 0.99 * len(s["entities"])
    cols = ["entity_id", "field", "value", "source", "source_record_id", "rule"]
    dg = d["golden"][d["golden"]["entity_id"].isin(kept)][cols].sort_values(cols).reset_index(drop=True)
    sg = s["golden"][s["golden"]["entity_id"].isin(kept)][cols].sort_values(cols).reset_index(drop=True)
    assert len(sg) > 3 * len(kept)
    assert dg.equals(sg)
    # servable: one document per active entity, and the history says what the load changed
    assert set(s["docs"]["entity_id"]) == set(s["entities"]["entity_id"])
    assert loaded["entities"] == len(s["entities"])
    assert len(s["history"]) >= len(d["history"])


def test_snapshot_loads_into_a_fresh_store_and_serves(spark_db, tmp_path):
    from typer.testing import CliRunner

    from resolver.cli import app
    from resolver.lookup.service import LookupService

    db, folder, _ = spark_db
    fresh = tmp_path / "serving.duckdb"
    result = CliRunner().invoke(app, ["load-snapshot", str(folder / "snapshot_person"), "--db", str(fresh)])
    assert result.exit_code == 0, result.output
    assert "source records replaced by the snapshot's" in result.output
    s, f = _master(db, "person"), _master(fresh, "person")
    assert len(f["records"]) == len(s["records"])  # the snapshot's records became the store's
    assert f["members"].equals(s["members"])
    assert set(f["docs"]["entity_id"]) == set(f["entities"]["entity_id"]) == set(s["entities"]["entity_id"])
    store = open_store(fresh, read_only=True)
    try:
        service = LookupService(store)
        entity_id = str(f["members"]["entity_id"].iloc[0])
        assert service.entity("person", entity_id) is not None
    finally:
        store.close()
    # the master it was computed against moved on (here: another store's, whose history differs)
    store = open_store(fresh)
    try:
        from resolver.store.snapshot import load_snapshot

        with pytest.raises(InputError, match="resolve again"):
            load_snapshot(store, folder / "snapshot_person")
    finally:
        store.close()
    assert _master(fresh, "person")["members"].equals(f["members"])  # refused: nothing written


def test_local_cluster_mode_equals_local(spark_db, tmp_path):
    """`resolver resolve --engine spark` with two executor JVMs (local-cluster): same master."""
    db, folder, _ = spark_db
    copy = tmp_path / "m.duckdb"
    store = open_store(db, read_only=True)
    try:
        before = store.membership("person")
    finally:
        store.close()
    shutil.copy(db, copy)
    env = {**os.environ, "RESOLVER_SPARK_MASTER": "local-cluster[2,1,1024]", "RESOLVER_SPARK_MEMORY": "1g",
           "RESOLVER_SPARK_PARTITIONS": "4", "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-m", "resolver", "resolve", "--db", str(copy), "--domain", "person",
                          "--engine", "spark", "--snapshot", str(tmp_path / "snap")],
                         env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "on Spark" in run.stdout
    store = open_store(copy, read_only=True)
    try:
        after = store.membership("person")
        events = store.history("person")
    finally:
        store.close()
    assert after.equals(before)  # deterministic: the same clusters keep the same master IDs
    assert len(events) == len(_master(db, "person")["history"])  # nothing changed, nothing recorded


STOP = """
import os
from pyspark import SparkContext
from resolver.engines.spark import spark_session, stop_spark
spark = spark_session(master="local[1]", driver_memory="1g", shuffle_partitions=1)
pid = SparkContext._gateway.proc.pid
assert spark.range(10).count() == 10
stop_spark()
try:
    os.kill(pid, 0)
    print("alive")
except ProcessLookupError:
    print("gone")
assert spark_session(master="local[1]", driver_memory="1g", shuffle_partitions=1).range(5).count() == 5
stop_spark()
"""


def test_stop_spark_ends_the_jvm_and_a_new_session_starts(tmp_path):
    """`resolve --engine spark` ends the JVM before loading the snapshot (release=True)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RESOLVER_SPARK_CHECKPOINT": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", STOP], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["gone"]
