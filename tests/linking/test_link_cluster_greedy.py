"""The clustering joins clean components at once and runs the greedy pass only where a constraint
or a cannot-link can bite; it must give exactly what one greedy pass over every edge gives."""

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from resolver.linking import constraints
from resolver.linking.cluster import cluster_with_constraints

CLUSTERING = {
    "match_probability_threshold": 0.5,
    "constraints": [
        {"kind": "distinct_when_valid", "column": "uscc", "valid_flag": "uscc_valid"},
        {"kind": "distinct_kinds", "column": "entity_kind", "kinds": ["branch"]},
    ],
}


def greedy(records, pairs, must, cannot, threshold=0.5):
    """Constrained greedy clustering written plainly: must-links first, then pairs by descending
    match probability (stable), each union refused when the two sides conflict."""
    ids = list(records["unique_id"])
    rows = records.to_dict("records")
    cons = constraints.of(CLUSTERING)
    members = {i: {i} for i in ids}
    where = {i: i for i in ids}
    kept = pairs[pairs["match_probability"] >= threshold].sort_values("match_probability", ascending=False,
                                                                       kind="stable")
    edges = [(a, b, 1.0, True) for a, b in must] + [
        (a, b, p, False) for a, b, p in kept[["unique_id_l", "unique_id_r", "match_probability"]].itertuples(
            index=False)]
    never = {frozenset(p) for p in cannot}
    by_id = dict(zip(ids, rows, strict=True))
    refused, merges, must_refused = [], 0, []
    for a, b, _p, is_must in edges:
        ra, rb = where[a], where[b]
        if ra == rb:
            continue
        conflict = None
        for con in cons:
            ka = {con.key(by_id[x]) for x in members[ra]} - {None}
            kb = {con.key(by_id[x]) for x in members[rb]} - {None}
            if ka and kb and ka != kb:
                conflict = con.name
                break
        if conflict is None and any(frozenset((x, y)) in never for x in members[ra] for y in members[rb]):
            conflict = "decision:different"
        if conflict:
            refused.append((a, b, conflict))
            if is_must:
                must_refused.append((a, b, conflict))
            continue
        for x in members[rb]:
            where[x] = ra
        members[ra] |= members.pop(rb)
        merges += 1
    group = {i: min(members[where[i]], key=ids.index) for i in ids}
    return group, merges, refused, must_refused


record = st.tuples(st.sampled_from([None, "A", "B"]), st.booleans(), st.sampled_from([None, "company", "branch"]))


@settings(max_examples=200, deadline=None)
@given(st.lists(record, min_size=1, max_size=30), st.data())
def test_same_result_as_one_greedy_pass(rows, data):
    recs = pd.DataFrame([(f"s:{i:02d}", u, v if u else None, k) for i, (u, v, k) in enumerate(rows)],
                        columns=["unique_id", "uscc", "uscc_valid", "entity_kind"])
    n = len(rows)
    node = st.integers(0, n - 1)
    edges = [(a, b, p) for a, b, p in data.draw(st.lists(st.tuples(node, node, st.sampled_from(
        [0.4, 0.6, 0.9, 0.95, 0.99])), max_size=60)) if a != b]
    must = [(f"s:{a:02d}", f"s:{b:02d}") for a, b in data.draw(st.lists(st.tuples(node, node), max_size=3)) if a != b]
    cannot = [(f"s:{a:02d}", f"s:{b:02d}") for a, b in data.draw(st.lists(st.tuples(node, node), max_size=3))
              if a != b]
    pairs = pd.DataFrame({"unique_id_l": [f"s:{a:02d}" for a, _, _ in edges],
                          "unique_id_r": [f"s:{b:02d}" for _, b, _ in edges],
                          "match_probability": [p for _, _, p in edges]}, columns=["unique_id_l", "unique_id_r",
                                                                                  "match_probability"])
    frame = lambda links: pd.DataFrame(links, columns=["unique_id_l", "unique_id_r"])  # noqa: E731
    clusters, report = cluster_with_constraints(recs, pairs, CLUSTERING, must_link=frame(must),
                                                cannot_link=frame(cannot), max_examples=1000)
    group, merges, refused, must_refused = greedy(recs, pairs, must, cannot)
    assert dict(zip(clusters["unique_id"], clusters["cluster_id"], strict=True)) == group
    assert report["merges"] == merges
    assert [(e["unique_id_l"], e["unique_id_r"], e["constraint"]) for e in report["refused_examples"]] == refused
    assert [(e["unique_id_l"], e["unique_id_r"], e["constraint"])
            for e in report["decisions"]["must_link_refused"]] == must_refused
    assert report["entities"] == len(set(group.values()))
