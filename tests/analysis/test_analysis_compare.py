"""compare_memberships / parameter_changes: merges, splits and weight changes between models."""

from __future__ import annotations

import math

import pandas as pd

from resolver.analysis.compare import compare_memberships, parameter_changes


def _members(mapping: dict[str, str], column: str = "entity_id") -> pd.DataFrame:
    return pd.DataFrame({"unique_id": list(mapping), column: list(mapping.values())})


def test_merge_split_and_unchanged_are_told_apart():
    before = _members({"a1": "E1", "a2": "E1", "b1": "E2", "c1": "E3", "c2": "E3", "c3": "E3",
                       "d1": "E4", "x": "E9"})
    # E1 and E2 merge; E3 splits into two; E4 keeps its record under another id; x is gone
    after = _members({"a1": "a1", "a2": "a1", "b1": "a1", "c1": "c1", "c2": "c1", "c3": "c3",
                      "d1": "d1", "new": "new"}, "cluster_id")
    changes = compare_memberships(before, after)
    assert changes.merges.to_dict("records") == [{"after": "a1", "before": ["E1", "E2"], "records": 3}]
    assert changes.splits.to_dict("records") == [{"before": "E3", "after": ["c1", "c3"], "records": 3}]
    assert changes.summary == {
        "records_compared": 7, "records_only_before": 1, "records_only_after": 1,
        "entities_before": 4, "entities_after": 4, "unchanged": 1, "merges": 1, "splits": 1,
    }


def test_exchange_of_records_is_both_a_merge_and_a_split():
    before = _members({"a1": "E1", "a2": "E1", "b1": "E2", "b2": "E2"})
    after = _members({"a1": "X", "a2": "Y", "b1": "X", "b2": "Y"})
    changes = compare_memberships(before, after)
    assert sorted(changes.merges["after"]) == ["X", "Y"]
    assert sorted(changes.splits["before"]) == ["E1", "E2"]
    assert changes.summary["unchanged"] == 0


def test_identical_memberships_change_nothing():
    members = _members({"a": "E1", "b": "E1", "c": "E2"})
    changes = compare_memberships(members, members.rename(columns={"entity_id": "cluster_id"}))
    assert changes.merges.empty and changes.splits.empty
    assert changes.summary["unchanged"] == 2


def _settings(levels: list[tuple[str, float, float]]) -> dict:
    comp_levels = [{"label_for_charts": "null", "is_null_level": True}]
    comp_levels += [{"label_for_charts": lab, "m_probability": m, "u_probability": u}
                    for lab, m, u in levels]
    return {"comparisons": [{"output_column_name": "name", "comparison_levels": comp_levels}]}


def test_parameter_changes_match_levels_by_label_and_rank_by_weight_change():
    before = _settings([("exact", 0.8, 0.01), ("close", 0.1, 0.1), ("else", 0.1, 0.89)])
    # a level inserted before "close" must not shift the comparison of "close"
    after = _settings([("exact", 0.8, 0.01), ("tokens", 0.05, 0.01), ("close", 0.4, 0.1),
                       ("else", 0.05, 0.88)])
    diff = parameter_changes(before, after)
    assert diff["label"].tolist()[0] == "tokens"            # new level first
    assert diff.loc[0, "presence"] == "only_after"
    assert math.isnan(diff.loc[0, "match_weight_before"])
    close = diff.set_index("label").loc["close"]
    assert close["weight_change"] == math.log2(0.4 / 0.1) - math.log2(0.1 / 0.1)
    assert diff.set_index("label").loc["exact", "weight_change"] == 0.0
    assert diff["label"].tolist()[1] == "close"             # biggest real change next


def test_levels_without_a_weight_sort_after_real_changes():
    before = _settings([("exact", 0.8, 0.01), ("rare", None, 0.001), ("else", 0.2, 0.989)])
    after = _settings([("exact", 0.9, 0.01), ("rare", None, 0.001), ("else", 0.1, 0.989)])
    diff = parameter_changes(before, after)
    assert diff["label"].tolist() == ["else", "exact", "rare"]
    assert set(diff["presence"]) == {"both"}
