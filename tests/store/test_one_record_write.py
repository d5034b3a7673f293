"""What a one-record incremental write (POST /records) sends to DuckDB: no next-ID row when it
numbers no entity, its plan's non-empty frames only (as Arrow tables), no look-up of the latest
model when the caller names the version it holds compiled. The stored result of these paths is
compared with the general path's in tests/lookup/test_write_paths.py."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lookup"))
from lookup_data import build_store, standardized  # noqa: E402

from resolver.incremental import link_records, published_for  # noqa: E402
from resolver.store import open_store  # noqa: E402


class _Spy:
    """The store's connection (and its cursors), noting each statement's SQL and each view registered."""

    def __init__(self, con: Any, sql: list[str], views: list[tuple[str, type]]):
        object.__setattr__(self, "_con", con)
        object.__setattr__(self, "_sql", sql)
        object.__setattr__(self, "_views", views)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)

    def cursor(self) -> _Spy:
        return _Spy(self._con.cursor(), self._sql, self._views)

    def execute(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        self._sql.append(" ".join(str(sql).split()))
        return self._con.execute(sql, *args, **kwargs)

    def sql(self, sql: str, *args: Any, **kwargs: Any) -> Any:  # a relation (`neighbourhood.frame_of`)
        self._sql.append(" ".join(str(sql).split()))
        return self._con.sql(sql, *args, **kwargs)

    def register(self, name: str, view: Any) -> Any:
        self._views.append((name, type(view)))
        return self._con.register(name, view)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    logging.getLogger("splink").setLevel(logging.ERROR)
    return build_store(tmp_path_factory.mktemp("one_record"), n_enterprises=120, n_people=5)


def _write(store, raw, rows, tag: str, **kwargs: Any) -> tuple[Any, list[str], list[tuple[str, type]]]:
    """Link `rows` of `raw` under new record IDs; (result, statements sent, views registered)."""
    records = standardized(raw.iloc[rows].assign(
        source="tax", source_record_id=[f"{tag}-{i}" for i in range(len(rows))]), "enterprise")
    sql: list[str] = []
    views: list[tuple[str, type]] = []
    real = store._con
    store._con = _Spy(real, sql, views)
    try:
        result = link_records(store, "enterprise", records, [], f"{tag}.csv", "tax", **kwargs)
    finally:
        store._con = real
    return result, sql, views


def _next_id(store) -> list[tuple[Any, ...]]:
    return store.cursor().execute("SELECT value FROM meta WHERE key = 'next_id_enterprise'").fetchall()


def test_a_record_joining_an_entity_writes_no_next_id_and_one_creating_an_entity_does(built, tmp_path):
    store = open_store(built.path)
    try:
        raw = built.enterprises.drop(columns=["unique_id"])
        before = _next_id(store)
        joined, sql, _ = _write(store, raw, [0], "join")
        assert [p.action for p in joined.placements] == ["joined"]
        assert not [s for s in sql if "INTO meta" in s]
        assert _next_id(store) == before
        lone = raw.iloc[[1]].assign(name=f"宁波从未见过第{time.time_ns()}号船舶修造有限公司", uscc=None,
                                    phone=None, legal_rep=None, address="宁波市北仑区")
        created, sql, _ = _write(store, lone, [0], "new")
        assert [p.action for p in created.placements] == ["created"]
        assert [s for s in sql if "INTO meta" in s]
        assert int(_next_id(store)[0][0]) == int(before[0][0]) + 1
    finally:
        store.close()


def test_a_small_plan_registers_only_its_non_empty_frames_as_arrow_tables(built):
    store = open_store(built.path)
    try:
        raw = built.enterprises.drop(columns=["unique_id"])
        result, _, views = _write(store, raw, [2], "views")
        assert [p.action for p in result.placements] == ["joined"]
        names = dict(views)
        # a join moves no member, retires no entity, logs no event: those frames stay unregistered
        assert not {"moved_members", "retired_ids", "new_events"} & set(names)
        assert {"new_members", "changed_ids", "new_pairs"} <= set(names)
        assert all(issubclass(names[n], pa.Table) for n in ("new_members", "changed_ids", "new_pairs"))
    finally:
        store.close()


def test_a_write_naming_the_model_it_holds_compiled_does_not_look_up_the_latest(built):
    store = open_store(built.path)
    try:
        raw = built.enterprises.drop(columns=["unique_id"])
        model, compiled = published_for(store, "enterprise", None, None)
        latest = "FROM model_versions WHERE domain = ? ORDER BY"  # (the survivorship reads a version's JSON)
        _, sql, _ = _write(store, raw, [3], "named", model_version=model.version, compiled=compiled)
        assert not [s for s in sql if latest in s]
        _, sql, _ = _write(store, raw, [4], "unnamed")
        assert [s for s in sql if latest in s]
    finally:
        store.close()


def test_the_documents_a_write_builds_in_python_reach_its_listener_as_stored(built):
    from resolver.lookup.service import LookupService
    from resolver.store import commits, docs

    store = open_store(built.path)
    heard: list[commits.Change] = []
    stop = commits.listen(store.path, lambda changes, reader: heard.extend(changes))
    service = LookupService(store)  # the server's listener: it takes them from the change
    try:
        raw = built.enterprises.drop(columns=["unique_id"])
        result, sql, _ = _write(store, raw, [5], "docs")
        entity = result.placements[0].entity_id
        [change] = heard
        handed = change.documents()
        assert handed is not None and entity in handed
        stored = {e: (d, docs.unpack(b)) for e, d, b in store.cursor().execute(
            f"SELECT entity_id, domain, doc FROM {docs.TABLE} WHERE entity_id IN (SELECT unnest(?))",
            [sorted(handed)]).fetchall()}
        assert handed == {e: stored.get(e) for e in handed}
        # neither the refresh nor the listeners went through the temp table (only its drop at the end)
        assert [s for s in sql if docs.FRESH in s] == [f"DROP TABLE IF EXISTS {docs.FRESH}"] * 2
        assert service.view("enterprise").docs.get(entity) == stored[entity]
    finally:
        stop()
        service.close()
        store.close()


def test_a_write_through_the_servers_index_reads_each_records_entity_once(built):
    """The neighbourhood of a write whose neighbours the server's index found (`gather_few`)
    takes each member's entity from its read of the entities' members, not from a second read
    of the membership by unique_id (the LEFT JOIN of `read`)."""
    from resolver.lookup.incremental import neighbours
    from resolver.lookup.service import LookupService

    store = open_store(built.path)
    service = LookupService(store)
    try:
        _, index = service.model("enterprise")
        raw = built.enterprises.drop(columns=["unique_id"])
        result, sql, _ = _write(store, raw, [6], "index", neighbours=lambda touched: neighbours(index, touched))
        assert [p.action for p in result.placements] == ["joined"]
        assert len([s for s in sql if "FROM membership WHERE unique_id IN" in s]) == 1
    finally:
        service.close()
        store.close()


def test_a_large_entitys_members_are_joined_as_a_table_with_the_same_frame(built, monkeypatch):
    """Past `CASE_UP_TO` members (a write joining a large entity) their entities reach `read`'s
    SQL as a temp table, not a CASE of thousands of literals: the same neighbourhood frame."""
    from resolver.lookup.incremental import neighbours
    from resolver.lookup.service import LookupService
    from resolver.store import neighbourhood

    store = open_store(built.path)
    service = LookupService(store)
    try:
        _, index = service.model("enterprise")
        records = standardized(built.enterprises.drop(columns=["unique_id"]).iloc[[3, 4]].assign(
            source="tax", source_record_id=["large-0", "large-1"]), "enterprise")
        touched = [str(u) for u in records["unique_id"]]
        found = neighbours(index, records)
        frames, sql = [], []
        con = store._con
        for limit in (neighbourhood.CASE_UP_TO, 0):
            monkeypatch.setattr(neighbourhood, "CASE_UP_TO", limit)
            con.execute("BEGIN TRANSACTION")
            spy = _Spy(con, sql, [])
            frames.append(neighbourhood.read(spy, "enterprise", "records_enterprise", touched, [], found))
            con.execute("ROLLBACK")
    finally:
        service.close()
        store.close()
    assert len(frames[0]) > 2 and frames[0]["_entity_before"].notna().all()  # (the new records are not stored here)
    assert frames[0].equals(frames[1])
    assert len([s for s in sql if "CASE t.unique_id" in s]) == 1  # the first read only
    assert len([s for s in sql if "unnest(?::VARCHAR[]) AS unique_id" in s]) == 1


def test_a_few_entities_golden_values_go_to_the_tables_and_documents_without_temp_tables(built):
    """Golden values chosen in Python are written from parameters and handed to the documents as
    rows: no `golden_new` or `conflicts_new` temp table is made, filled, read or dropped; the
    stored golden values are those of the entity's members (tests/lookup/test_write_paths.py
    compares the whole master with the general path's)."""
    from resolver.lookup.service import LookupService

    store = open_store(built.path)
    service = LookupService(store)  # a listener: the documents are built in Python
    try:
        raw = built.enterprises.drop(columns=["unique_id"])
        result, sql, _ = _write(store, raw, [7], "golden")
        assert [p.action for p in result.placements] == ["joined"]
        assert not [s for s in sql if "golden_new" in s or "conflicts_new" in s]
        entity = result.placements[0].entity_id
        golden = store.cursor().execute("SELECT count(*) FROM golden_values WHERE entity_id = ?", [entity]).fetchall()
        assert golden[0][0] > 0
        assert '"golden":[{' in service.view("enterprise").docs.get(entity)[1].decode()
    finally:
        service.close()
        store.close()
