"""The write fast paths (plain-Python plan and master IDs, known scopes, ...) leave the master
exactly as the general path does: same answers, entities, master IDs, golden values, conflicts,
documents and history, for new records that join or create, a group of calls committed
together, an update that moves a record to another entity, a record that merges two entities, a
record sent again unchanged, an update that keeps its entity, and a group commit of a few
hundred records (as 20 clients sending 100 records a call make them). On two data shapes: the
committed sample (the demo master) and the noisy generator's shape, whose held-out records come
back in the large group (tests/incremental_shapes.py)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from write_script import golden_rebuilt, master_state, run_calls

from resolver import incremental
from resolver.domains import load_schema
from resolver.standardize.ids import uscc_check_char
from resolver.store import described, docs, neighbourhood, open_store, points, write_plan
from resolver.store.store import Store

pytestmark = pytest.mark.slow  # make test-slow; see tests/conftest.py

_FIELDS = ("name", "uscc", "legal_rep", "phone", "address")


def _general_path(m: pytest.MonkeyPatch) -> None:
    """Switch every fast path off (each has a size limit or a switch)."""
    from contextlib import nullcontext

    m.setattr(write_plan, "SMALL_PLAN", -1)
    m.setattr(points, "known", lambda con, scopes: nullcontext())
    m.setattr(neighbourhood, "gather_few", lambda *args: None)
    m.setattr(incremental, "SMALL_HOOD", -1)
    m.setattr(docs, "IN_PLACE", False)
    m.setattr(docs, "IN_PYTHON", False)
    m.setattr(Store, "_ingest_few", lambda *args: False)
    m.setattr(described, "known", lambda con, tables: nullcontext())


def _script(db: Path, large: list[list[dict[str, Any]]]) -> tuple[list[list[list[dict[str, Any]]]], str, str]:
    """(the calls, the unique_id of the record the script moves, the entity it moves to);
    `large` are the calls of the large group, committed after the small writes."""
    store = open_store(db, read_only=True)
    try:
        cur = store.cursor()
        picked = cur.execute(
            f"SELECT r.source_record_id, m.entity_id, {', '.join(_FIELDS)} FROM records_enterprise r "
            "JOIN membership m USING (unique_id) JOIN entities e USING (entity_id) "
            "WHERE r.source = 'tax' AND e.size >= 3 AND r.phone IS NOT NULL AND r.legal_rep IS NOT NULL "
            "ORDER BY r.unique_id LIMIT 14").fetchall()
    finally:
        store.close()

    def fields(row: tuple[Any, ...]) -> dict[str, str]:
        return {k: str(v) for k, v in zip(_FIELDS, row[2:], strict=True) if v is not None}

    mover, target = picked[0], next(r for r in picked if r[1] != picked[0][1])
    base = "91330212MA2B7QWE3"
    uscc = base + uscc_check_char(base)
    name = {"name": "宁波远山青松测绘有限公司"}
    bridge_a = {**name, "legal_rep": "司马光", "uscc": uscc}
    bridge_b = {**name, "phone": "13900001111", "address": "宁波市鄞州区天童南路88号"}
    copies = [{"source_record_id": f"copy-{i}", **fields(r)} for i, r in enumerate(picked[2:12])]
    calls = [
        [[copies[0]]],  # one record joins
        [copies[1:4], copies[4:7], copies[7:10]],  # three calls in one group commit
        [[{"source_record_id": "bridge-a", **bridge_a}]],  # creates an entity
        [[{"source_record_id": "bridge-b", **bridge_b}]],  # creates another
        [[{"source_record_id": "bridge-ab", **bridge_a, **bridge_b}]],  # merges the two
        [[{"source_record_id": mover[0], **fields(target)}]],  # an update moves a record
        [[copies[0]]],  # sent again, unchanged
        [[{**copies[1], "status": "吊销", "employees": 12}]],  # an update that keeps its entity
        large,  # a large group: hundreds of records in one commit
    ]
    return calls, f"tax:{mover[0]}", str(target[1])


def _spy(real: Any, name: str, used: list[str]) -> Any:
    """`real`, noting `name` in `used` each time it does its work (returns something)."""
    def spy(*args: Any) -> Any:
        out = real(*args)
        used.extend([name] if out is not None else [])
        return out
    return spy


def _done(real: Any, name: str, used: list[str]) -> Any:
    """`real`, noting `name` in `used` each time it answers True (it did the work)."""
    def spy(*args: Any) -> Any:
        out = real(*args)
        used.extend([name] if out else [])
        return out
    return spy


def _copies(db: Path, n: int) -> list[list[dict[str, Any]]]:
    """Calls of up to 100 records: `n` of the store's tax records' values under new record IDs
    (as benchmarks/bench_api.py writes: most join their record's entity), one in ten a new firm."""
    store = open_store(db, read_only=True)
    try:
        rows = store.cursor().execute(
            f"SELECT {', '.join(_FIELDS)} FROM records_enterprise WHERE source = 'tax' "
            f"ORDER BY hash(unique_id) LIMIT {n}").fetchall()
    finally:
        store.close()
    records = [{"source_record_id": f"many-{i}", **{k: str(v) for k, v in zip(_FIELDS, row, strict=True) if v}}
               for i, row in enumerate(rows)]
    for i in range(0, len(records), 10):  # and a few firms nobody has seen
        records[i] = {"source_record_id": f"many-{i}", "name": f"宁波新港第{i}号船舶修造有限公司",
                      "address": records[i].get("address", "宁波市北仑区")}
    return [records[i:i + 100] for i in range(0, len(records), 100)]


def _held_out(incoming: pd.DataFrame) -> list[list[dict[str, Any]]]:
    """Calls of up to 100 records: the held-out records' canonical fields (new records, records
    of new entities, and updates of stored tax records carrying another record's values)."""
    fields = [f for f in load_schema("enterprise").canonical_fields() if f in incoming.columns]
    tax = incoming[incoming["source"] == "tax"]
    records = []
    for row in tax[["source_record_id", *fields]].to_dict("records"):
        values = {k: (v if isinstance(v, str) else float(v)) for k, v in row.items()
                  if v is not None and not (isinstance(v, float) and v != v) and v != ""}
        records.append(values)
    return [records[i:i + 100] for i in range(0, len(records), 100)]


@pytest.fixture(params=["sample", "noisy"])
def shape_copies(request, demo_copy, incremental_base, tmp_path):
    """(store for the general path, store for the fast path, the large group's calls) of a shape."""
    if request.param == "sample":
        general, fast = demo_copy("writes_general"), demo_copy("writes_fast")
        return general, fast, _copies(general, 250)
    base = incremental_base("noisy")
    general, fast = tmp_path / "general.duckdb", tmp_path / "fast.duckdb"
    shutil.copy(base.db, general)
    shutil.copy(base.db, fast)
    return general, fast, _held_out(base.incoming)


def test_the_fast_paths_leave_the_master_the_general_path_leaves(shape_copies, monkeypatch, tmp_path):
    general, fast, large = shape_copies
    calls, moved, destination = _script(general, large)
    with monkeypatch.context() as m:
        _general_path(m)
        want = run_calls(general, calls)
    used: list[str] = []
    with monkeypatch.context() as m:  # the fast run takes the fast paths
        for module, name in ((neighbourhood, "gather_few"), (write_plan, "plan_small")):
            m.setattr(module, name, _spy(getattr(module, name), name, used))
        m.setattr(Store, "_ingest_few", _done(Store._ingest_few, "ingest_few", used))
        m.setattr(docs, "_refresh_few", _done(docs._refresh_few, "docs_few", used))
        got = run_calls(fast, calls)
    # every small write but the unchanged one gathers a few; every write but that one plans small;
    # every write but the large group stores its records by ID
    assert used.count("gather_few") == len(calls) - 2
    assert used.count("plan_small") == len(calls) - 1
    assert used.count("ingest_few") == len(calls) - 1
    # every small write's documents are built in Python (the large group's are more than a few)
    assert used.count("docs_few") == len(calls) - 2, used
    assert got == want
    state = master_state(fast)
    assert state == master_state(general)
    # and the golden records kept write by write are those a whole rebuild gives
    assert golden_rebuilt(fast, tmp_path) == {"golden": state["golden"], "conflicts": state["conflicts"]}
    # the script did what it says: a merge, a move, an unchanged record, a large group
    assert any(event == "merge" for event, *_ in state["history"])
    assert (moved, destination) in [(u, e) for u, e, _ in state["membership"]]
    assert got[-len(large) - 2][0]["action"] == "unchanged"
    assert got[-len(large) - 1][0]["entity_id"] == got[1][0]["entity_id"]
    outcomes = [r["action"] for call in got[-len(large):] for r in call]
    assert sum(len(c) for c in large) > 100 and {"joined", "created"} <= set(outcomes)
    # its documents were rewritten in place (docs.IN_PLACE: more than a few entities), the general path's not
    assert len({r["entity_id"] for call in got[-len(large):] for r in call}) > points.POINTS_UP_TO


def test_a_large_group_indexes_its_rows_from_the_neighbourhood_copy(demo_copy, monkeypatch):
    """The server's listener reads the rows of a group commit's many placed records for its
    blocking index from the write's neighbourhood copy (`Change.rows`), not from the records
    table: the same rows, in the order asked; the copy is dropped with the transaction, and the
    master is the one the table read leaves."""
    from resolver.store import store as store_module
    from resolver.store.reads import Reader

    off, on = demo_copy("rows_from_table"), demo_copy("rows_from_hood")
    calls = [_copies(off, 250), [[{"source_record_id": "after", **_copies(off, 1)[0][0]}]]]
    with monkeypatch.context() as m:
        m.setattr(store_module, "ROWS_FROM_HOOD", False)
        want = run_calls(off, calls)
    real = Reader.records_with_keys
    seen: list[tuple[int, bool, bool]] = []

    def spy(self, table, columns, keys, unique_ids=None, entities=None, held=None):  # type: ignore[no-untyped-def]
        out = real(self, table, columns, keys, unique_ids, entities, held)
        if held is not None:
            table_read = real(self, table, columns, keys, unique_ids, entities)
            seen.append((len(unique_ids), out.sort_by("unique_id").equals(table_read.sort_by("unique_id")),
                         out.column("unique_id").to_pylist() == list(unique_ids)))
        return out
    monkeypatch.setattr(Reader, "records_with_keys", spy)
    store = open_store(on)
    try:
        from resolver.lookup.group_commit import GroupCommitter
        from resolver.lookup.incremental import prepare
        from resolver.lookup.service import LookupService

        service = LookupService(store)
        writer = GroupCommitter(service)
        got = []
        for batch in calls:
            pending = [prepare(service, "enterprise", "tax", records, "test") for records in batch]
            got += [r["results"] for r in writer._write(pending)]
            assert not store._con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary AND "
                                              "table_name = ?", [neighbourhood.RECORDS]).fetchall()[0][0]
    finally:
        store.close()
    assert len(seen) == 1 and seen[0][0] > points.POINTS_UP_TO and seen[0][1] and seen[0][2], seen
    assert got == want
    assert master_state(on) == master_state(off)


def test_a_large_group_inserts_the_rows_it_knows_are_missing_without_or_ignore(demo_copy, monkeypatch):
    """A group commit of more than a few records inserts its records (none of them stored but
    the replaced ones), members and entities by a plain INSERT of the rows the plan knows are
    missing (store.PLAIN_INSERTS), where INSERT OR IGNORE checked every row against the indexes;
    a group that re-sends stored records unchanged keeps OR IGNORE for its records. The answers
    and the whole master are those of OR IGNORE."""
    from resolver.store import store as store_module

    off, on = demo_copy("or_ignore"), demo_copy("plain_inserts")
    first = [c for call in _copies(off, 250) for c in call]
    changed = [{**r, "phone": f"0574-8765{i:04d}"} for i, r in enumerate(first[:100])]
    more = [{"source_record_id": f"more-{i}", **{k: v for k, v in r.items() if k != "source_record_id"}}
            for i, r in enumerate(first[100:180])]
    calls = [[first[:100], first[100:200], first[200:]],  # new records: joins and new firms
             [changed, more[:20]],  # 100 stored records replaced by new values, 20 new
             [first[150:250], more[20:]]]  # 100 stored records sent again unchanged, 60 new
    with monkeypatch.context() as m:
        m.setattr(store_module, "PLAIN_INSERTS", False)
        want = run_calls(off, calls)
    ignored: list[str] = []
    real = store_module._insert_new

    def spy(con, table, key, select, params, rows):  # type: ignore[no-untyped-def]
        ignored.append(table)
        return real(con, table, key, select, params, rows)
    monkeypatch.setattr(store_module, "_insert_new", spy)
    got = run_calls(on, calls)
    assert ignored == ["records_enterprise"], ignored  # the unchanged records' group alone
    assert got == want
    outcomes = [r["action"] for call in got for r in call]
    assert {"joined", "created", "unchanged"} <= set(outcomes)
    assert master_state(on) == master_state(off)
