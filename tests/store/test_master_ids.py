"""Stable master IDs across re-resolutions: unchanged, merge, split, new, retired."""

import pandas as pd

from resolver.store.master_ids import assign_master_ids


def _previous(groups: dict[str, list[str]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = [(uid, eid) for eid, uids in groups.items() for uid in uids]
    prev = pd.DataFrame(rows, columns=["unique_id", "entity_id"])
    ents = pd.DataFrame({"entity_id": list(groups),
                         "created_at": pd.to_datetime([f"2026-01-{i + 1:02d}" for i in range(len(groups))])})
    return prev, ents


def _clusters(groups: list[list[str]]) -> pd.DataFrame:
    return pd.DataFrame([(uid, f"c{i}") for i, uids in enumerate(groups) for uid in uids],
                        columns=["unique_id", "cluster_id"])


def _ids(result) -> dict[str, str]:
    return dict(zip(result.membership["unique_id"], result.membership["entity_id"], strict=True))


def test_unchanged_membership_keeps_ids_and_writes_no_events():
    prev, ents = _previous({"E000000001": ["a", "b"], "E000000002": ["c"]})
    result = assign_master_ids("enterprise", _clusters([["c"], ["a", "b"]]), prev, ents, next_number=3)
    assert _ids(result) == {"a": "E000000001", "b": "E000000001", "c": "E000000002"}
    assert result.events == []
    assert result.next_number == 3


def test_merge_keeps_id_of_larger_then_older_entity():
    prev, ents = _previous({"E000000001": ["a"], "E000000002": ["b", "c"], "E000000003": ["d"]})
    result = assign_master_ids("enterprise", _clusters([["a", "b", "c"], ["d"]]), prev, ents, 4)
    assert set(_ids(result).values()) == {"E000000002", "E000000003"}
    assert _ids(result)["a"] == "E000000002"
    kinds = {(e["event"], e["entity_id"], e["related_ids"]) for e in result.events}
    assert ("merge", "E000000002", "E000000001") in kinds
    assert ("retire", "E000000001", "E000000002") in kinds
    # Equal sizes: the older entity wins.
    prev, ents = _previous({"E000000001": ["a"], "E000000002": ["b"]})
    result = assign_master_ids("enterprise", _clusters([["b", "a"]]), prev, ents, 3)
    assert set(_ids(result).values()) == {"E000000001"}


def test_split_keeps_id_on_larger_part_and_new_id_for_the_rest():
    prev, ents = _previous({"E000000007": ["a", "b", "c"]})
    result = assign_master_ids("enterprise", _clusters([["c"], ["a", "b"]]), prev, ents, 8)
    ids = _ids(result)
    assert ids["a"] == ids["b"] == "E000000007"
    assert ids["c"] == "E000000008"
    assert result.next_number == 9
    kinds = {(e["event"], e["entity_id"], e["related_ids"]) for e in result.events}
    assert ("split", "E000000007", "E000000008") in kinds
    assert ("create", "E000000008", "E000000007") in kinds


def test_new_records_get_new_ids_with_domain_prefix():
    prev, ents = _previous({})
    result = assign_master_ids("person", _clusters([["x", "y"], ["z"]]), prev, ents, 1)
    assert sorted(set(_ids(result).values())) == ["P000000001", "P000000002"]
    assert [e["event"] for e in result.events] == ["create", "create"]


def test_the_small_write_path_assigns_what_the_pandas_path_assigns():
    """assign_ids_small (plain Python, POST /records) against assign_master_ids on random
    merges, splits, moves, new records and entities without a creation time."""
    import random

    from resolver.store.master_ids import assign_ids_small

    rng = random.Random(17)
    for _ in range(300):
        uids = [f"u{i:02d}" for i in range(rng.randint(1, 14))]
        olds = [f"E{n:09d}" for n in rng.sample(range(1, 30), 5)]
        prev_rows = [(u, rng.choice(olds)) for u in uids if rng.random() < 0.7]
        prev = pd.DataFrame(prev_rows, columns=["unique_id", "entity_id"])
        alive = sorted({e for _, e in prev_rows if rng.random() < 0.85})
        ents = pd.DataFrame({"entity_id": alive, "created_at": pd.to_datetime(
            [f"2026-01-{rng.randint(1, 3):02d}" for _ in alive])})
        clusters = pd.DataFrame([(u, f"c{rng.randint(0, 4)}") for u in uids], columns=["unique_id", "cluster_id"])
        want = assign_master_ids("enterprise", clusters, prev, ents, 40)
        created = dict(zip(ents["entity_id"], ents["created_at"], strict=True))
        got, events, number = assign_ids_small("enterprise", list(zip(clusters["unique_id"], clusters["cluster_id"],
                                                                      strict=True)), dict(prev_rows), created, 40)
        assert list(got.items()) == list(zip(want.membership["unique_id"], want.membership["entity_id"], strict=True))
        assert events == want.events
        assert number == want.next_number
