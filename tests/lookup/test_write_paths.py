"""The small-write fast paths (plain-Python plan and master IDs, known scopes, ...) leave the
master exactly as the general path does: same answers, entities, master IDs, golden values,
conflicts, documents and history, on the committed sample, for new records that join or
create, a group of calls committed together, an update that moves a record to another
entity, a record that merges two entities, a record sent again unchanged and an update that keeps
its entity."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from write_script import master_state, run_calls

from resolver import incremental
from resolver.standardize.ids import uscc_check_char
from resolver.store import neighbourhood, open_store, points, write_plan

_FIELDS = ("name", "uscc", "legal_rep", "phone", "address")


def _general_path(m: pytest.MonkeyPatch) -> None:
    """Switch every fast path off (each has a size limit or a switch)."""
    from contextlib import nullcontext

    m.setattr(write_plan, "SMALL_PLAN", -1)
    m.setattr(points, "known", lambda con, scopes: nullcontext())
    m.setattr(neighbourhood, "gather_few", lambda *args: None)
    m.setattr(incremental, "SMALL_HOOD", -1)


def _script(db: Path) -> tuple[list[list[list[dict[str, Any]]]], str, str]:
    """(the calls, the unique_id of the record the script moves, the entity it moves to)."""
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
    ]
    return calls, f"tax:{mover[0]}", str(target[1])


def _spy(real: Any, name: str, used: list[str]) -> Any:
    """`real`, noting `name` in `used` each time it does its work (returns something)."""
    def spy(*args: Any) -> Any:
        out = real(*args)
        used.extend([name] if out is not None else [])
        return out
    return spy


def test_the_fast_paths_leave_the_master_the_general_path_leaves(demo_copy, monkeypatch):
    general, fast = demo_copy("writes_general"), demo_copy("writes_fast")
    calls, moved, destination = _script(general)
    with monkeypatch.context() as m:
        _general_path(m)
        want = run_calls(general, calls)
    used: list[str] = []
    with monkeypatch.context() as m:  # the fast run takes the fast paths
        for module, name in ((neighbourhood, "gather_few"), (write_plan, "plan_small")):
            m.setattr(module, name, _spy(getattr(module, name), name, used))
        got = run_calls(fast, calls)
    assert used.count("gather_few") == used.count("plan_small") == len(calls) - 1  # all but the unchanged one
    assert got == want
    state = master_state(fast)
    assert state == master_state(general)
    # the script did what it says: a merge, a move, an unchanged record
    assert any(event == "merge" for event, *_ in state["history"])
    assert (moved, destination) in [(u, e) for u, e, _ in state["membership"]]
    assert got[-2][0]["action"] == "unchanged"
    assert got[-1][0]["entity_id"] == got[1][0]["entity_id"]
