"""A data steward's decisions in the constrained clustering: must-links joined first, cannot-links
never crossed, however long the chain between their records."""

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from resolver.linking.cluster import cluster_with_constraints

CLUSTERING = {
    "match_probability_threshold": 0.5,
    "constraints": [{"kind": "distinct_when_valid", "column": "uscc", "valid_flag": "uscc_valid"}],
}


def _records(n, usccs=None):
    usccs = usccs or {}
    ids = [f"r:{i}" for i in range(n)]
    return pd.DataFrame({"unique_id": ids, "uscc": [usccs.get(i) for i in range(n)],
                         "uscc_valid": [True if i in usccs else None for i in range(n)]})


def _pairs(*edges):
    return pd.DataFrame([(f"r:{a}", f"r:{b}", p) for a, b, p in edges],
                        columns=["unique_id_l", "unique_id_r", "match_probability"])


def _links(*pairs):
    return pd.DataFrame([(f"r:{a}", f"r:{b}") for a, b in pairs], columns=["unique_id_l", "unique_id_r"])


def _groups(clusters):
    got = clusters.groupby("cluster_id")["unique_id"].apply(lambda s: frozenset(int(u[2:]) for u in s))
    return set(got)


def test_a_cannot_link_cuts_a_chain_at_its_weakest_link():
    pairs = _pairs((0, 1, 0.99), (1, 2, 0.95), (2, 3, 0.98))
    clusters, report = cluster_with_constraints(_records(4), pairs, CLUSTERING, cannot_link=_links((0, 3)))
    assert _groups(clusters) == {frozenset({0, 1}), frozenset({2, 3})}
    assert report["refused_by_constraint"] == {"decision:different": 1}
    assert report["refused_examples"][0]["unique_id_l"] == "r:1"  # the 0.95 link
    assert report["decisions"]["cannot_link"] == 1


def test_a_cannot_link_holds_after_both_sides_grew():
    pairs = _pairs((0, 1, 0.99), (2, 3, 0.99), (1, 4, 0.98), (4, 2, 0.97), (1, 2, 0.96))
    clusters, _ = cluster_with_constraints(_records(5), pairs, CLUSTERING, cannot_link=_links((3, 0)))
    assert _groups(clusters) == {frozenset({0, 1, 4}), frozenset({2, 3})}


def test_a_must_link_joins_records_no_pair_scored():
    clusters, report = cluster_with_constraints(_records(3), _pairs(), CLUSTERING, must_link=_links((0, 2)))
    assert _groups(clusters) == {frozenset({0, 2}), frozenset({1})}
    assert report["decisions"]["must_link"] == 1 and report["decisions"]["must_link_refused"] == []
    assert report["pairs_considered"] == 0 and report["merges"] == 1


def test_a_must_link_across_a_hard_constraint_is_refused_and_reported():
    recs = _records(3, {0: "A", 1: "B"})
    clusters, report = cluster_with_constraints(recs, _pairs((1, 2, 0.99)), CLUSTERING, must_link=_links((0, 1)))
    assert _groups(clusters) == {frozenset({0}), frozenset({1, 2})}
    assert report["decisions"]["must_link_refused"] == [
        {"unique_id_l": "r:0", "unique_id_r": "r:1", "constraint": "different_valid:uscc"}]


def test_must_links_that_would_chain_across_a_cannot_link_are_refused():
    clusters, report = cluster_with_constraints(_records(3), _pairs(), CLUSTERING, must_link=_links((0, 1), (1, 2)),
                                                cannot_link=_links((0, 2)))
    assert _groups(clusters) == {frozenset({0, 1}), frozenset({2})}
    assert [r["constraint"] for r in report["decisions"]["must_link_refused"]] == ["decision:different"]


def test_decisions_on_records_not_held_are_counted_not_used():
    links = pd.DataFrame({"unique_id_l": ["r:0", "gone:1"], "unique_id_r": ["r:1", "r:1"]})
    clusters, report = cluster_with_constraints(_records(2), _pairs(), CLUSTERING, must_link=links)
    assert _groups(clusters) == {frozenset({0, 1})}
    assert report["decisions"]["not_in_records"] == 1


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 11), st.integers(0, 11), st.floats(0.5, 1.0)), max_size=40),
       st.lists(st.tuples(st.integers(0, 11), st.integers(0, 11)), max_size=6))
def test_no_cluster_ever_holds_both_ends_of_a_cannot_link(edges, cannot):
    clusters, _ = cluster_with_constraints(_records(12), _pairs(*[e for e in edges if e[0] != e[1]]), CLUSTERING,
                                           cannot_link=_links(*cannot))
    cluster = dict(zip(clusters.unique_id, clusters.cluster_id, strict=True))
    assert all(cluster[f"r:{a}"] != cluster[f"r:{b}"] for a, b in cannot if a != b)
