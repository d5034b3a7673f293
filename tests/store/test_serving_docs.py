"""Serving documents (resolver.store.docs) agree with the tables after every kind of write."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # make test-slow; see tests/conftest.py

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lookup"))
from docs_check import assert_docs_match_tables  # noqa: E402
from lookup_data import build_store, move_one_record, raw_enterprises, standardized  # noqa: E402

from resolver.lookup.entity import get_entity  # noqa: E402
from resolver.store import open_store  # noqa: E402
from resolver.store.schema import migrate  # noqa: E402


@pytest.fixture()
def built(tmp_path):
    return build_store(tmp_path, n_enterprises=60, n_people=12)


@pytest.mark.parametrize("small_write", [10_000, 0], ids=["index-inserts", "anti-join-inserts"])
def test_documents_follow_full_resolution_and_record_updates(built, small_write, monkeypatch):
    monkeypatch.setattr("resolver.store.store.SMALL_WRITE", small_write)  # both ways of inserting new rows
    store = open_store(built.path)
    try:
        assert assert_docs_match_tables(store, "enterprise") > 20
        assert assert_docs_match_tables(store, "person") > 5
        # a changed source record (same unique_id, new values) is shown at once, before any resolve
        ent = standardized(raw_enterprises(60), "enterprise").head(3).copy()
        ent["address"] = "杭州市西湖区文三路999号"
        ent["record_hash"] = ent["record_hash"] + "x"
        store.ingest_frame("enterprise", ent, [], "changed.csv")
        assert_docs_match_tables(store, "enterprise")
        entity_id = store.membership("enterprise").set_index("unique_id").loc[ent["unique_id"].iloc[0], "entity_id"]
        shown = get_entity(store.reader(), "enterprise", entity_id, unmasked=True)
        member = next(m for m in shown["members"] if m["unique_id"] == ent["unique_id"].iloc[0])
        assert member["fields"]["address"] == "杭州市西湖区文三路999号" and member["file"] == "changed.csv"
        # a re-resolution that merges two entities retires one; both documents say so
        membership = store.membership("enterprise")
        a, b = sorted(membership["entity_id"].unique())[:2]
        clusters = membership.assign(cluster_id=membership["entity_id"].replace({b: a}))[["unique_id", "cluster_id"]]
        store.save_resolution("enterprise", clusters, None, "merged")
        assert_docs_match_tables(store, "enterprise")
        assert get_entity(store.reader(), "enterprise", b)["active"] is False
    finally:
        store.close()


@pytest.mark.parametrize("small_write", [10_000, 0], ids=["index-inserts", "anti-join-inserts"])
def test_incremental_save_rewrites_only_touched_documents(built, small_write, monkeypatch):
    monkeypatch.setattr("resolver.store.store.SMALL_WRITE", small_write)
    store = open_store(built.path)
    try:
        before = dict(store.cursor().execute("SELECT entity_id, doc FROM serving_docs").fetchall())
        target, left = move_one_record(store)
        assert_docs_match_tables(store, "enterprise")
        after = dict(store.cursor().execute("SELECT entity_id, doc FROM serving_docs").fetchall())
        changed = {e for e in after if after[e] != before.get(e)}
        assert target in changed and changed <= {target, left}
    finally:
        store.close()


def test_a_version_1_store_gets_its_documents_on_open(built):
    store = open_store(built.path)
    store.cursor().execute("DROP TABLE serving_docs")
    store.cursor().execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    assert migrate(store.cursor()) == 1
    assert assert_docs_match_tables(store, "enterprise") > 20
    store.close()


def test_a_full_resolution_rewrites_the_documents_whose_golden_values_changed(built):
    """Same clusters, other survivorship rules: no membership changes, but golden values do."""
    from dataclasses import replace

    from resolver.store.golden import load_survivorship

    store = open_store(built.path)
    try:
        clusters = store.membership("enterprise").rename(columns={"entity_id": "cluster_id"})
        rules = load_survivorship("enterprise")
        reversed_priority = replace(rules, fields=tuple(
            replace(f, source_priority=tuple(reversed(f.source_priority))) for f in rules.fields))
        before = dict(store.cursor().execute("SELECT entity_id, doc FROM serving_docs").fetchall())
        store.save_resolution("enterprise", clusters, None, "reversed", survivorship=reversed_priority)
        after = dict(store.cursor().execute("SELECT entity_id, doc FROM serving_docs").fetchall())
        assert sum(after[e] != before[e] for e in before) > 0
        assert_docs_match_tables(store, "enterprise")
    finally:
        store.close()


@pytest.mark.parametrize("point_reads_up_to", [0, 10_000], ids=["one-scan", "point-reads"])
def test_many_documents_read_at_once_equal_their_point_reads(built, point_reads_up_to, monkeypatch):
    monkeypatch.setattr("resolver.store.docs.POINT_READS_UP_TO", point_reads_up_to)
    store = open_store(built.path)
    try:
        with store.reader() as reader:
            ids = sorted(store.membership("enterprise")["entity_id"].unique()) + ["E999999999"]
            many = reader.docs(ids)
            assert list(many) == ids and many["E999999999"] is None
            assert all(many[e] == reader.doc(e) and many[e] is not None for e in ids[:-1])
    finally:
        store.close()
