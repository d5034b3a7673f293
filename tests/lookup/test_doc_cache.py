"""The in-memory serving documents (resolver.lookup.doc_cache) of a LookupService follow every
kind of store write, made by the service's own Store or by another Store on the same file."""

from __future__ import annotations

import pyarrow as pa
import pytest
from lookup_data import build_store, move_one_record, raw_enterprises, standardized

from resolver.lookup.doc_cache import StoredDocs
from resolver.lookup.service import LookupService
from resolver.store import Store, docs, open_store

pytestmark = pytest.mark.slow  # make test-slow; see tests/conftest.py


@pytest.fixture()
def stores(tmp_path):
    """The service's store and a second Store on the same file (a job's)."""
    built = build_store(tmp_path, n_enterprises=40, n_people=10)
    store, other = open_store(built.path), open_store(built.path)
    yield store, other
    other.close()
    store.close()


def assert_cache_is_current(service: LookupService, store: Store) -> int:
    cur = store.cursor()
    rows = cur.execute("SELECT entity_id, domain FROM serving_docs").fetchall()
    for entity_id, domain in rows:
        assert service.view(domain).docs.get(entity_id) == docs.read(cur, entity_id), entity_id
    return len(rows)


@pytest.mark.parametrize(("writer", "cache"), [("own", "on"), ("other", "on"), ("other", "off")])
def test_cache_follows_record_updates_and_resolutions(stores, writer, cache, monkeypatch):
    monkeypatch.setenv("RESOLVER_DOC_CACHE", cache)  # off: read from the store, nothing held
    store = stores[0]
    service = LookupService(store)
    assert isinstance(service.view("enterprise").docs, StoredDocs) == (cache == "off")
    write = stores[0] if writer == "own" else stores[1]
    assert assert_cache_is_current(service, store) > 20
    assert service.view("enterprise").docs.get("E999999999") is None

    changed = standardized(raw_enterprises(40), "enterprise").head(3).copy()
    changed["address"] = "杭州市西湖区文三路999号"
    changed["record_hash"] = changed["record_hash"] + "x"
    write.ingest_frame("enterprise", changed, [], "changed.csv")
    assert_cache_is_current(service, store)

    move_one_record(write)
    assert_cache_is_current(service, store)

    before = service.view("enterprise")
    membership = write.membership("enterprise")
    a, b = sorted(membership["entity_id"].unique())[:2]
    merged = membership.assign(cluster_id=membership["entity_id"].replace({b: a}))[["unique_id", "cluster_id"]]
    write.save_resolution("enterprise", merged, None, "merged")
    assert_cache_is_current(service, store)
    assert service.view("enterprise") is not before  # a whole-domain change: a new view, swapped in
    assert service.view("person") is not None
    service.close()


def test_a_failed_write_leaves_the_cache_as_the_store(stores, monkeypatch):
    store, other = stores
    service = LookupService(store)
    membership = store.membership("enterprise")
    a, b = sorted(membership["entity_id"].unique())[:2]
    merged = membership.assign(cluster_id=membership["entity_id"].replace({b: a}))[["unique_id", "cluster_id"]]
    before = service.view("enterprise").docs.get(a)
    view = service.view("enterprise")

    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("resolver.store.store.build_golden", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        other.save_resolution("enterprise", merged, None, "merged")
    assert service.view("enterprise") is view
    assert service.view("enterprise").docs.get(a) == before
    assert assert_cache_is_current(service, store) > 20
    service.close()


def test_a_listener_that_fails_stops_the_write(stores, monkeypatch):
    """A view that cannot be built rolls the write back: the server never serves behind its store."""
    store, other = stores
    service = LookupService(store)
    membership = store.membership("enterprise")
    a, b = sorted(membership["entity_id"].unique())[:2]
    merged = membership.assign(cluster_id=membership["entity_id"].replace({b: a}))[["unique_id", "cluster_id"]]

    def fail(*args, **kwargs):
        raise MemoryError("no room for a second copy")

    monkeypatch.setattr("resolver.lookup.service.load_docs", fail)
    with pytest.raises(MemoryError):
        other.save_resolution("enterprise", merged, None, "merged")
    monkeypatch.undo()
    assert other.membership("enterprise").equals(membership)
    assert assert_cache_is_current(service, store) > 20
    service.close()


@pytest.mark.parametrize("kind", [pa.binary(), pa.large_binary()])
def test_documents_are_cut_from_the_arrow_buffer_at_the_right_place(kind):
    from resolver.lookup.doc_cache import _buffers

    values = ['{"a":"杭州"}', '{"b":2}', '{"c":"西湖区文三路"}', "{}"]
    column = pa.array([docs.pack(v) for v in values * 3], type=kind).slice(2, 7)  # a slice starts inside the buffer
    offsets, data = _buffers(column)
    assert [docs.unpack(data[offsets[i]:offsets[i + 1]]).decode() for i in range(7)] == (values * 3)[2:9]
