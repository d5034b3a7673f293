"""A full resolution's master IDs in SQL (resolver.store.master_ids_sql) give exactly what the pandas
form (assign_master_ids) gives: the same IDs, the same events in the same order, the same changed
entities, on random merges, splits, moves, new records, retired IDs and ties of age."""

import random

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from resolver.store import master_ids_sql
from resolver.store.master_ids import assign_master_ids, prefix

pytestmark = pytest.mark.slow  # make test-slow; see tests/conftest.py


def _case(rng: random.Random) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    uids = [f"u{i:03d}" for i in range(rng.randint(1, 40))]
    olds = [f"E{n:09d}" for n in rng.sample(range(1, 60), 8)]
    prev = pd.DataFrame([(u, rng.choice(olds)) for u in uids if rng.random() < 0.7],
                        columns=["unique_id", "entity_id"])
    alive = sorted({e for e in prev["entity_id"] if rng.random() < 0.9})
    ents = pd.DataFrame({"entity_id": alive, "created_at": pd.to_datetime(
        [f"2026-01-{rng.randint(1, 3):02d}" for _ in alive])})  # few days: ties of age
    kept = [u for u in uids if rng.random() < 0.9]  # the others' records are gone
    clusters = pd.DataFrame([(u, f"c{rng.randint(0, 9)}") for u in kept], columns=["unique_id", "cluster_id"])
    return prev, ents, clusters


def _in_sql(prev: pd.DataFrame, ents: pd.DataFrame, clusters: pd.DataFrame, next_number: int):
    con = duckdb.connect()
    con.execute("CREATE TABLE membership AS SELECT unique_id, 'enterprise' AS domain, entity_id FROM prev")
    con.execute("CREATE TABLE entities AS SELECT entity_id, 'enterprise' AS domain, created_at, true AS active "
                "FROM ents")
    con.register("new_clusters", pa.table({"unique_id": clusters["unique_id"].astype(str).tolist(),
                                           "cluster_id": clusters["cluster_id"].astype(str).tolist(),
                                           "pos": np.arange(len(clusters), dtype=np.int64)}))
    number, changed = master_ids_sql.assign_in_store(con, "enterprise", "new_clusters", next_number,
                                                     prefix("enterprise"))
    members = con.execute("SELECT unique_id, entity_id FROM new_members").fetchall()
    events = [dict(zip(("event", "entity_id", "related_ids", "reason"), row, strict=True))
              for row in con.execute("SELECT * FROM new_events").fetchall()]
    changed_ids = [r[0] for r in con.execute("SELECT entity_id FROM changed_ids").fetchall()]
    return number, changed, members, events, changed_ids


def test_sql_assigns_what_the_pandas_path_assigns():
    rng = random.Random(23)
    seen = set()
    for _ in range(150):
        prev, ents, clusters = _case(rng)
        want = assign_master_ids("enterprise", clusters, prev, ents, 70)
        number, changed, members, events, changed_ids = _in_sql(prev, ents, clusters, 70)
        assert members == list(zip(want.membership["unique_id"], want.membership["entity_id"], strict=True))
        assert events == want.events
        assert number == want.next_number
        both = prev.merge(want.membership, on="unique_id", how="outer", suffixes=("_old", "_new"))
        moved = both[both["entity_id_old"] != both["entity_id_new"]]
        expected = sorted(set(moved["entity_id_old"].dropna()) | set(moved["entity_id_new"].dropna()))
        assert changed_ids == expected and changed == len(expected)
        seen |= {e["event"] for e in want.events}
    assert seen == {"create", "merge", "split", "retire"}  # every kind of event was exercised


def test_a_first_resolution_numbers_clusters_in_cluster_id_order():
    clusters = pd.DataFrame({"unique_id": ["a", "b", "c"], "cluster_id": ["z", "b", "b"]})
    empty = pd.DataFrame({"unique_id": pd.Series(dtype=str), "entity_id": pd.Series(dtype=str)})
    ents = pd.DataFrame({"entity_id": pd.Series(dtype=str), "created_at": pd.Series(dtype="datetime64[us]")})
    number, changed, members, events, _ = _in_sql(empty, ents, clusters, 999_999_999)
    assert members == [("a", "E1000000000"), ("b", "E999999999"), ("c", "E999999999")]
    assert [(e["event"], e["entity_id"], e["reason"]) for e in events] == [
        ("create", "E999999999", "new records"), ("create", "E1000000000", "new records")]
    assert number == 1_000_000_001 and changed == 2
