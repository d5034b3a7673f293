"""The in-memory serving documents (resolver.lookup.doc_cache) follow every kind of store write."""

from __future__ import annotations

import pyarrow as pa
import pytest
from lookup_data import build_store, move_one_record, raw_enterprises, standardized

from resolver.lookup.doc_cache import DocCache
from resolver.store import Store, docs, open_store


@pytest.fixture()
def store(tmp_path):
    built = build_store(tmp_path, n_enterprises=40, n_people=10)
    store = open_store(built.path)
    yield store
    store.close()


def text(found: tuple[str, str | bytes] | None) -> tuple[str, str] | None:
    return None if found is None else (found[0], found[1] if isinstance(found[1], str) else found[1].decode())


def assert_cache_is_current(cache: DocCache, store: Store) -> int:
    cur = store.cursor()
    ids = [r[0] for r in cur.execute("SELECT entity_id FROM serving_docs").fetchall()]
    for entity_id in ids:
        assert text(cache.get(entity_id)) == docs.read(cur, entity_id), entity_id
    return len(ids)


def test_cache_follows_record_updates_and_resolutions(store):
    cache = DocCache(store)
    store.on_docs_changed(cache.changed)
    assert assert_cache_is_current(cache, store) > 20
    assert cache.get("E999999999") is None

    changed = standardized(raw_enterprises(40), "enterprise").head(3).copy()
    changed["address"] = "杭州市西湖区文三路999号"
    changed["record_hash"] = changed["record_hash"] + "x"
    store.ingest_frame("enterprise", changed, [], "changed.csv")
    assert_cache_is_current(cache, store)

    move_one_record(store)
    assert_cache_is_current(cache, store)

    membership = store.membership("enterprise")
    a, b = sorted(membership["entity_id"].unique())[:2]
    merged = membership.assign(cluster_id=membership["entity_id"].replace({b: a}))[["unique_id", "cluster_id"]]
    store.save_resolution("enterprise", merged, None, "merged")
    assert_cache_is_current(cache, store)


def test_a_failed_write_leaves_the_cache_as_the_store(store, monkeypatch):
    cache = DocCache(store)
    store.on_docs_changed(cache.changed)
    membership = store.membership("enterprise")
    a, b = sorted(membership["entity_id"].unique())[:2]
    merged = membership.assign(cluster_id=membership["entity_id"].replace({b: a}))[["unique_id", "cluster_id"]]
    before = text(cache.get(a))

    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("resolver.store.store.build_golden", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        store.save_resolution("enterprise", merged, None, "merged")
    assert text(cache.get(a)) == before
    assert assert_cache_is_current(cache, store) > 20


@pytest.mark.parametrize("kind", [pa.string(), pa.large_string()])
def test_documents_are_cut_from_the_arrow_buffer_at_the_right_place(kind):
    from resolver.lookup.doc_cache import _utf8

    values = ['{"a":"杭州"}', '{"b":2}', '{"c":"西湖区文三路"}', "{}"]
    column = pa.array(values * 3, type=kind).slice(2, 7)  # a slice starts inside the buffer
    offsets, data = _utf8(column)
    assert [bytes(data[offsets[i]:offsets[i + 1]]).decode() for i in range(7)] == (values * 3)[2:9]
