import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from resolver.linking.cluster import cluster_with_constraints, constraint_violations

CLUSTERING = {
    "match_probability_threshold": 0.5,
    "constraints": [
        {"kind": "different_valid", "column": "uscc", "valid_flag": "uscc_valid"},
        {"kind": "branch_vs_head_office", "kind_column": "entity_kind"},
    ],
}


def _records(rows):
    return pd.DataFrame(rows, columns=["unique_id", "uscc", "uscc_valid", "entity_kind"])


def test_chain_is_cut_at_weakest_link():
    recs = _records([("r:1", "A", True, "company"), ("r:2", None, None, "company"),
                     ("r:3", "B", True, "company"), ("r:4", "B", False, "company"),
                     ("r:5", None, None, "company")])
    pairs = pd.DataFrame({"unique_id_l": ["r:1", "r:2", "r:3", "r:5"],
                          "unique_id_r": ["r:2", "r:5", "r:4", "r:4"],
                          "match_probability": [0.99, 0.7, 0.95, 0.96]})
    clusters, report = cluster_with_constraints(recs, pairs, CLUSTERING)
    got = dict(zip(clusters.unique_id, clusters.cluster_id, strict=True))
    # chain r1(A) -0.99- r2 -0.7- r5 -0.96- r4 -0.95- r3(B): cut at the 0.7 link
    assert got["r:1"] == got["r:2"] != got["r:5"] == got["r:4"] == got["r:3"]
    assert report["refused"] == 1
    assert report["refused_examples"][0] == {"unique_id_l": "r:2", "unique_id_r": "r:5",
                                             "match_probability": 0.7,
                                             "constraint": "different_valid:uscc"}
    # an invalid code that differs is no constraint: r:4 (B, invalid) joined r:3
    assert report["refused_by_constraint"] == {"different_valid:uscc": 1}


def test_branch_never_joins_head_office():
    recs = _records([("r:1", None, None, "company"), ("r:2", None, None, "branch")])
    pairs = pd.DataFrame({"unique_id_l": ["r:1"], "unique_id_r": ["r:2"], "match_probability": [0.999]})
    clusters, report = cluster_with_constraints(recs, pairs, CLUSTERING)
    assert clusters.cluster_id.nunique() == 2 and report["refused"] == 1


record = st.tuples(st.sampled_from([None, "A", "B", "C"]), st.booleans(),
                   st.sampled_from([None, "company", "branch"]))


@settings(max_examples=150, deadline=None)
@given(st.lists(record, min_size=1, max_size=25), st.data())
def test_no_constraint_violation_ever(rows, data):
    recs = _records([(f"s:{i}", u, v if u else None, k) for i, (u, v, k) in enumerate(rows)])
    n = len(rows)
    edges = data.draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1),
                                         st.floats(0, 1)), max_size=80))
    edges = [(a, b, p) for a, b, p in edges if a != b]
    pairs = pd.DataFrame({"unique_id_l": [f"s:{a}" for a, _, _ in edges],
                          "unique_id_r": [f"s:{b}" for _, b, _ in edges],
                          "match_probability": [p for _, _, p in edges]})
    clusters, report = cluster_with_constraints(recs, pairs, CLUSTERING)
    assert len(clusters) == n
    assert constraint_violations(recs, clusters, CLUSTERING) == []
    # without constraints everything connected above threshold joins
    free, _ = cluster_with_constraints(recs, pairs, {**CLUSTERING, "constraints": []})
    assert free.cluster_id.nunique() <= clusters.cluster_id.nunique()
