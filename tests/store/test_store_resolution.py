"""The store on a real DuckDB file: upserts, history, stable IDs and golden records with lineage."""

import pandas as pd
import pytest

from resolver.readers import Rejection
from resolver.store import open_store


def _records(rows):
    frame = pd.DataFrame(rows)
    frame["unique_id"] = frame["source"] + ":" + frame["source_record_id"]
    frame["row_number"] = range(1, len(frame) + 1)
    frame["raw"] = frame["name"]
    frame["record_hash"] = frame["name"] + frame["uscc"].fillna("")
    return frame


USCC_A = "91330106MA2B000001"  # only the flag matters to the store


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "master.duckdb")
    yield s
    s.close()


def _seed(store):
    frame = _records([
        {"source": "commerce", "source_record_id": "c1", "name": "华新科技", "uscc": USCC_A,
         "uscc_valid": True, "legal_rep": "王伟", "established": "2015-01-01", "activity_date": None},
        {"source": "tax", "source_record_id": "t1", "name": "华新科技(杭州)", "uscc": "91330106MA2B00000X",
         "uscc_valid": False, "legal_rep": "王伟", "established": None, "activity_date": "2024-03-01"},
        {"source": "tax", "source_record_id": "t2", "name": "远方贸易", "uscc": None,
         "uscc_valid": None, "legal_rep": "李娜", "established": None, "activity_date": None},
    ])
    counts = store.ingest_frame("enterprise", frame, [], "a.csv")
    return frame, counts


def test_reingest_is_a_no_op_and_a_changed_record_keeps_its_old_version(store):
    frame, counts = _seed(store)
    assert (counts.loaded, counts.unchanged, counts.updated) == (3, 0, 0)
    again = store.ingest_frame("enterprise", frame, [], "a.csv")
    assert (again.loaded, again.unchanged, again.updated) == (0, 3, 0)
    changed = frame.iloc[[2]].copy()
    changed["name"] = "远方贸易二"
    changed["record_hash"] = "new"
    result = store.ingest_frame("enterprise", changed, [], "b.csv")
    assert (result.loaded, result.updated) == (0, 1)
    records = store.load_records("enterprise")
    assert records.set_index("unique_id").loc["tax:t2", "name"] == "远方贸易二"
    history = store.cursor().execute("SELECT unique_id, file FROM record_history").fetchall()
    assert history == [("tax:t2", "a.csv")]


def test_quarantine_keeps_each_problem_once(store):
    bad = [Rejection("x.csv", 7, "成立日期", "date_unparseable", "row text")]
    store.ingest_frame("enterprise", _records([{"source": "tax", "source_record_id": "t9", "name": "甲",
                                                "uscc": None}]), bad, "x.csv")
    store.ingest_frame("enterprise", _records([{"source": "tax", "source_record_id": "t9", "name": "甲",
                                                "uscc": None}]), bad, "x.csv")
    q = store.quarantine("enterprise")
    assert len(q) == 1
    assert (q.loc[0, "file"], q.loc[0, "row_number"], q.loc[0, "field"]) == ("x.csv", 7, "成立日期")


def test_resolution_assigns_stable_ids_and_golden_values_with_lineage(store):
    _seed(store)
    clusters = pd.DataFrame({"unique_id": ["commerce:c1", "tax:t1", "tax:t2"], "cluster_id": [1, 1, 2]})
    first = store.save_resolution("enterprise", clusters, None, "m1")
    assert first.entities == 2 and first.events == {"create": 2}
    ids = dict(store.membership("enterprise").values)
    # Same clusters under other cluster labels: no ID changes, no events.
    relabelled = clusters.assign(cluster_id=[9, 9, 3])
    second = store.save_resolution("enterprise", relabelled, None, "m2")
    assert dict(store.membership("enterprise").values) == ids
    assert second.events == {} and second.changed == 0
    golden = store.golden("enterprise", [ids["commerce:c1"]]).set_index("field")
    # valid_only: the tax record's mistyped USCC never becomes the master value.
    assert golden.loc["uscc", "value"] == USCC_A
    assert golden.loc["uscc", "source_record_id"] == "c1"
    assert golden.loc["name", "source"] == "commerce"
    assert golden.loc["name", "rule"] == "source_priority"
    merged = store.save_resolution("enterprise", clusters.assign(cluster_id=1), None, "m3")
    assert merged.entities == 1 == store.membership("enterprise")["entity_id"].nunique()


def test_conflicting_valid_values_are_listed(store):
    frame = _records([
        {"source": "commerce", "source_record_id": "c1", "name": "甲", "uscc": None, "legal_rep": "王伟"},
        {"source": "tax", "source_record_id": "t1", "name": "甲", "uscc": None, "legal_rep": "张敏"},
    ])
    store.ingest_frame("enterprise", frame, [], "a.csv")
    store.save_resolution("enterprise", pd.DataFrame({"unique_id": frame["unique_id"], "cluster_id": 1}),
                          None, "m1")
    rows = store.cursor().execute("SELECT field, value FROM conflicts ORDER BY value").fetchall()
    assert rows == [("legal_rep", "张敏"), ("legal_rep", "王伟")]


def test_a_failed_resolution_leaves_the_master_unchanged(store, monkeypatch):
    _seed(store)
    clusters = pd.DataFrame({"unique_id": ["commerce:c1", "tax:t1", "tax:t2"], "cluster_id": [1, 1, 2]})
    store.save_resolution("enterprise", clusters, None, "m1")
    before = store.membership("enterprise")

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("resolver.store.store.build_golden", boom)
    with pytest.raises(RuntimeError):
        store.save_resolution("enterprise", clusters.assign(cluster_id=[1, 2, 3]), None, "m2")
    pd.testing.assert_frame_equal(store.membership("enterprise"), before)
    assert store.history("enterprise")["model_version"].unique().tolist() == ["m1"]


def test_most_frequent_and_most_recent_rules(store):
    frame = _records([
        {"source": "quality", "source_record_id": "q1", "name": "甲", "uscc": None, "entity_kind": "branch",
         "address": "旧地址", "activity_date": "2020-01-01"},
        {"source": "tax", "source_record_id": "t1", "name": "甲", "uscc": None, "entity_kind": "company",
         "address": "新地址", "activity_date": "2025-01-01"},
        {"source": "statistics", "source_record_id": "s1", "name": "甲", "uscc": None, "entity_kind": "company",
         "address": None, "activity_date": "2026-01-01"},
    ])
    store.ingest_frame("enterprise", frame, [], "a.csv")
    store.save_resolution("enterprise", pd.DataFrame({"unique_id": frame["unique_id"], "cluster_id": 1}),
                          None, "m1")
    golden = store.golden("enterprise").set_index("field")
    assert golden.loc["entity_kind", "value"] == "company"  # two of three records say so
    assert golden.loc["address", "value"] == "新地址"  # the latest record that has an address
    assert golden.loc["address", "rule"] == "most_recent"


def _by_first_member(store):
    """Golden values with each entity named by its first member (two stores number entities apart)."""
    first = store.membership("enterprise").groupby("entity_id")["unique_id"].min()
    return sorted((first[row[0]], *row[1:]) for row in store.golden("enterprise").values.tolist())


def _rows(store, table):
    return {row[1:]: row[0] for row in store.cursor().execute(f"SELECT rowid, * FROM {table}").fetchall()}


def test_a_full_resolution_rewrites_only_the_golden_rows_that_differ(store):
    """A deleted row costs DuckDB a fetch at the COMMIT once a server has indexed entity_id: a
    re-resolution that deleted and re-inserted every golden value spent 628 of its 902 CPU s
    there at 10M records. Unchanged rows must keep their place (their rowid)."""
    frame, _ = _seed(store)
    extra = _records([{"source": "statistics", "source_record_id": "s1", "name": "华新科技", "uscc": None,
                       "uscc_valid": None, "legal_rep": "张敏", "established": None, "activity_date": None}])
    store.ingest_frame("enterprise", extra, [], "b.csv")
    clusters = pd.DataFrame({"unique_id": ["commerce:c1", "tax:t1", "statistics:s1", "tax:t2"],
                             "cluster_id": [1, 1, 1, 2]})
    store.save_resolution("enterprise", clusters, None, "m1")
    store.add_indexes([("golden_values", "entity_id"), ("conflicts", "entity_id")])
    golden, conflicts = _rows(store, "golden_values"), _rows(store, "conflicts")
    assert conflicts  # 王伟 against 张敏

    store.save_resolution("enterprise", clusters.assign(cluster_id=[5, 5, 5, 6]), None, "m2")
    assert _rows(store, "golden_values") == golden and _rows(store, "conflicts") == conflicts

    # s1 leaves: its new entity's rows and the conflict's are written, 远方贸易's rows stay put
    store.save_resolution("enterprise", clusters.assign(cluster_id=[1, 1, 3, 2]), None, "m3")
    ids = dict(store.membership("enterprise").values)
    after = _rows(store, "golden_values")
    kept = {row for row in golden if row[0] == ids["tax:t2"]}
    assert kept and all(after.get(row) == golden[row] for row in kept)
    assert {row[0] for row in after} == {ids["commerce:c1"], ids["statistics:s1"], ids["tax:t2"]}
    assert not _rows(store, "conflicts")
    fresh = open_store(store.path + ".fresh.duckdb")  # the same master built from nothing
    try:
        fresh.ingest_frame("enterprise", frame, [], "a.csv")
        fresh.ingest_frame("enterprise", extra, [], "b.csv")
        fresh.save_resolution("enterprise", clusters.assign(cluster_id=[1, 1, 3, 2]), None, "m3")
        assert _by_first_member(fresh) == _by_first_member(store)
    finally:
        fresh.close()
