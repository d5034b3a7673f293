"""resolver.lookup.history without HTTP: the store's events as an ID's history, and the current
IDs a retired one leads to, on event rows as resolver.store.master_ids writes them."""

from __future__ import annotations

from typing import Any

from resolver.lookup import history
from resolver.store.reads import Reader

T0, T1, T2, T3 = "2026-01-01T00:00:00.000000", "2026-02-01T00:00:00.000000", \
    "2026-03-01T00:00:00.000000", "2026-04-01T00:00:00.000000"


class Rows(Reader):
    """A stand-in for the store's Reader: entity_history rows by master ID."""

    def __init__(self, *events: tuple[str, str, str, str]):  # no cursor: only events_of is read
        self.rows: dict[str, list[tuple[Any, ...]]] = {}
        for n, (at, event, entity_id, related) in enumerate(events, 1):
            self.rows.setdefault(entity_id, []).append(
                (n, at, "enterprise", event, related, f"{event} {related}", f"v-{at[:7]}"))

    def events_of(self, entity_id: str) -> list[tuple[Any, ...]]:
        return self.rows.get(entity_id, [])


def _current(rows: Rows, entity_id: str, active: set[str]) -> list[str]:
    found: list[str] = history.retirement(rows, "enterprise", entity_id, active.__contains__)["successors"]
    return found


def test_store_events_read_as_the_ids_own_history():
    rows = Rows((T0, "create", "A", ""), (T0, "create", "B", ""), (T1, "merge", "B", "A"), (T1, "retire", "A", "B"),
                (T2, "split", "B", "C"), (T2, "create", "C", "B"))
    kinds = [(e.kind, e.entity_ids, e.retired) for e in history.events(rows, "enterprise", "B")]
    assert kinds == [("created", [], False), ("absorbed", ["A"], False), ("split", ["C"], False)]
    a = history.events(rows, "enterprise", "A")
    assert [(e.kind, e.entity_ids, e.retired, e.model_version) for e in a] == [
        ("created", [], False, "v-2026-01"), ("merged", ["B"], True, "v-2026-02")]
    assert history.events(rows, "person", "A") == []  # another domain's ID


def test_a_split_that_retires_the_id_is_one_event():
    rows = Rows((T0, "create", "D", ""), (T1, "split", "D", "E,F"), (T1, "retire", "D", "E,F"))
    assert [(e.kind, e.entity_ids, e.retired) for e in history.events(rows, "enterprise", "D")] == [
        ("created", [], False), ("split", ["E", "F"], True)]
    gone = Rows((T0, "create", "G", ""), (T1, "retire", "G", ""))
    assert history.retirement(gone, "enterprise", "G", lambda e: False)["event"]["kind"] == "retired"


def test_successors_follow_later_merges_and_splits_only():
    rows = Rows(
        (T0, "split", "B", "X"),  # before A joined B: X holds none of A's records
        (T1, "merge", "B", "A"), (T1, "retire", "A", "B"),
        (T1, "split", "B", "Y"),  # same resolution as A's merge: B's own records, not A's
        (T2, "split", "B", "C"),
        (T3, "merge", "E", "C"), (T3, "retire", "C", "E"))
    assert _current(rows, "A", {"B", "E", "X", "Y"}) == ["B", "E"]
    assert _current(rows, "C", {"B", "E"}) == ["E"]
    assert history.retirement(rows, "enterprise", "B", lambda e: True) == {"successors": [], "event": None}


def test_a_split_id_leads_to_every_part_and_on():
    rows = Rows((T1, "split", "D", "E,F"), (T1, "retire", "D", "E,F"), (T2, "merge", "G", "F"), (T2, "retire", "F", "G"))
    assert _current(rows, "D", {"E", "G"}) == ["E", "G"]
