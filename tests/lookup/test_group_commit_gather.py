"""The group committer waits for calls still being prepared (resolver.lookup.group_commit
`preparing`, `_gather`), so that they share one transaction; the writing itself is replaced
here by a recorder of the batches."""

from __future__ import annotations

import threading
from typing import Any

import pandas as pd
import pytest

from resolver.lookup import group_commit
from resolver.lookup.group_commit import GroupCommitter
from resolver.lookup.incremental import Pending


class Recorder(GroupCommitter):
    """A committer whose transaction only notes which calls it carried."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.holding = threading.Event()  # the writer has taken a call and is about to gather
        super().__init__(service=None)  # type: ignore[arg-type]  # only _write uses it

    def _gather(self, waiting: list[group_commit._Item]) -> None:
        self.holding.set()
        super()._gather(waiting)

    def _write(self, calls: list[Pending]) -> list[dict[str, Any]]:
        self.batches.append([c.file for c in calls])
        return [{"file": c.file} for c in calls]


def _call(name: str) -> Pending:
    good = pd.DataFrame({"unique_id": [f"tax:{name}"], "source_record_id": [name]})
    return Pending("enterprise", "tax", "v1", name, good, good.iloc[:0], [])


@pytest.mark.parametrize("gather", [1.0, 0.0])
def test_a_call_being_prepared_joins_the_waiting_one(monkeypatch: pytest.MonkeyPatch, gather: float) -> None:
    monkeypatch.setattr(group_commit, "GATHER_SECONDS", gather)
    writer = Recorder()
    second_announced = threading.Event()
    release = threading.Event()

    def second_caller() -> None:
        with writer.preparing():
            second_announced.set()
            release.wait(5)
            writer.submit(_call("b")).result(5)

    thread = threading.Thread(target=second_caller)
    thread.start()
    second_announced.wait(5)
    first = writer.submit(_call("a"))
    assert writer.holding.wait(5)  # the writer has the first call and the second is being prepared
    if not gather:  # the writer does not wait for it: the first call is answered alone
        assert first.result(5) == {"file": "a"}
    release.set()
    thread.join(10)
    assert first.result(5) == {"file": "a"}
    assert writer.batches == ([["a", "b"]] if gather else [["a"], ["b"]])


def test_a_call_that_fails_its_checks_is_no_longer_awaited() -> None:
    writer = Recorder()
    with pytest.raises(ValueError), writer.preparing():
        raise ValueError("bad input")
    assert writer._preparing == 0
    assert writer.submit(_call("a")).result(5) == {"file": "a"}
    assert writer.batches == [["a"]]


def test_a_full_batch_is_written_without_waiting_for_calls_being_prepared(monkeypatch: pytest.MonkeyPatch) -> None:
    """Calls being prepared could not join a batch that is already full: no reason to wait."""
    monkeypatch.setattr(group_commit, "GATHER_SECONDS", 30.0)
    monkeypatch.setattr(group_commit, "MAX_BATCH_RECORDS", 2)
    writer = Recorder()
    with writer.preparing():  # a call announced and never sent while the batch fills
        first = writer.submit(_call("a"))
        second = writer.submit(_call("b"))
        assert first.result(10) == {"file": "a"} and second.result(10) == {"file": "b"}
    assert writer.batches == [["a", "b"]]
