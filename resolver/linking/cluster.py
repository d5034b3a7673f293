"""Cluster scored pairs into entities under hard constraints.

Method (constrained greedy, as in correlation-clustering heuristics and Splink's
one-to-one clustering): take pairs at or above the match probability threshold in
descending match probability and union their components with a union-find, *refusing*
any union whose two components conflict under a constraint of
resolver.linking.constraints (different valid identifiers, a branch and a non-branch). Each
constraint gives every record an integer code; a component carries the first code any of its
members set, and holds at most one, since a second would have been refused.

A connected component of the kept pairs in which no constraint or cannot-link can bite is
one entity whatever the order, so those are joined at once over integer arrays; the greedy
pass runs only over the edges of the other components, in the same order (the result is the
same as one pass over every edge, tests/linking/test_link_cluster_greedy.py).

So a chain of weak links that would join two companies is cut at its weakest link,
never at a strong one, and no output cluster can break a constraint. Refusals are
counted and reported with examples.

A data steward's decisions (resolver.review.decisions) enter as two more lists of pairs:
`must_link` pairs are joined first, before any scored pair (still refused by a constraint or a
cannot-link, and reported); `cannot_link` pairs are a constraint of their own, named
`decision:different`: each component carries the records it may never hold, so no union joins
them, however long the chain of links between them.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from resolver.linking import constraints


def cluster_with_constraints(
    records: pd.DataFrame,
    pairs: pd.DataFrame,
    clustering: dict[str, Any],
    *,
    threshold: float | None = None,
    max_examples: int = 20,
    must_link: pd.DataFrame | None = None,
    cannot_link: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Return (clusters[unique_id, cluster_id], report); cluster_id is the first member's unique_id.
    `must_link` and `cannot_link` (unique_id_l, unique_id_r) are decided pairs; those naming a
    record not in `records` are left out and counted."""
    if threshold is None:
        threshold = float(clustering["match_probability_threshold"])
    # record IDs stay Arrow text, positions numpy integers: a Python string per record (and per
    # pair end) was most of this step's memory at 1M records
    id_array = _arrow_text(records["unique_id"])
    n = len(id_array)
    if pc.count_distinct(id_array).as_py() != n:
        raise ValueError("records.unique_id is not unique")
    kept = pairs["match_probability"].to_numpy(dtype=np.float64, na_value=np.nan) >= threshold
    # descending match probability, ties in pair order (pandas' stable descending sort)
    prob = pairs["match_probability"].to_numpy(dtype=np.float64, na_value=np.nan)[kept]
    order = np.argsort(-prob, kind="stable")
    must = _decided(must_link, id_array)
    cannot = _decided(cannot_link, id_array)
    decided = {"must_link": len(must[0]), "cannot_link": len(cannot[0]),
               "not_in_records": _size(must_link) + _size(cannot_link) - len(must[0]) - len(cannot[0])}
    # hash lookup in Arrow, both ends at once: pandas' string get_indexer is several times slower at 1M
    ends = _positions(pa.chunked_array(
        [*_arrow_text(pairs["unique_id_l"][kept]).chunks, *_arrow_text(pairs["unique_id_r"][kept]).chunks],
        type=pa.large_string()), id_array)
    if (ends < 0).any():
        raise ValueError("pairs name source records that are not in records")
    n_kept = len(prob)
    # must-links are joined before every scored pair, at probability 1
    left = np.concatenate([must[0], ends[:n_kept][order]])
    right = np.concatenate([must[1], ends[n_kept:][order]])
    prob = np.concatenate([np.ones(len(must[0])), prob[order]])
    del ends, order, kept
    n_must = len(must[0])

    # one code array per constraint; -1 means "says nothing"
    attrs = [(con.name, np.asarray(con.codes(records), dtype=np.int64)) for con in constraints.of(clustering)]
    # A connected component of the edges where no constraint and no cannot-link can bite is
    # one entity whatever the order of unions; only the others need the greedy pass below,
    # on their own edges in the same order, which gives the same result as one pass over all.
    component = _components(n, left, right)
    conflicted = np.zeros(n, dtype=bool)  # by component label
    for _, codes in attrs:
        said = codes != -1
        labels, values = component[said], codes[said]
        first = np.full(n, -1, dtype=np.int64)
        first[labels] = values  # any one code per component; a component with another code conflicts
        conflicted[labels[first[labels] != values]] = True
    inside = component[cannot[0]] == component[cannot[1]]
    conflicted[component[cannot[0]][inside]] = True
    greedy = np.flatnonzero(conflicted[component[left]])
    clean = ~conflicted[component]
    merges = int(clean.sum()) - int(np.count_nonzero(clean & (component == np.arange(n))))

    # The greedy pass numbers only the records of conflicted components (`sub`, local positions):
    # Python lists over every record cost ~40 bytes a record per list.
    sub = np.flatnonzero(~clean)
    local = np.full(n, -1, dtype=np.int64)
    local[sub] = np.arange(len(sub))
    parent = list(range(len(sub)))
    size = [1] * len(sub)
    values_of = [(name, codes[sub].tolist()) for name, codes in attrs]
    refused: Counter[str] = Counter()
    examples: list[dict[str, Any]] = []
    # cannot-links: root -> the records its component may never hold (both ends registered); one
    # across two components can never bite (no union crosses components) and is left out
    blocked: dict[int, set[int]] = {}
    for a, b in zip(local[cannot[0][inside]].tolist(), local[cannot[1][inside]].tolist(), strict=True):
        blocked.setdefault(a, set()).add(b)
        blocked.setdefault(b, set()).add(a)
    must_refused: list[dict[str, Any]] = []

    def find(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    def uid(position: int) -> str:
        return str(id_array[int(position)].as_py())

    for i, a0, b0, p in zip(greedy.tolist(), local[left[greedy]].tolist(), local[right[greedy]].tolist(),
                            prob[greedy].tolist(), strict=True):
        a, b = a0, b0
        while parent[a] != a:  # find with path halving, inlined: this loop is the hot path
            parent[a] = parent[parent[a]]
            a = parent[a]
        ra = a
        while parent[b] != b:
            parent[b] = parent[parent[b]]
            b = parent[b]
        rb = b
        if ra == rb:
            continue
        conflict = None
        for name, vals in values_of:
            va, vb = vals[ra], vals[rb]
            if va != -1 and vb != -1 and va != vb:
                conflict = name
                break
        if conflict is None and blocked and (ra in blocked or rb in blocked):
            small, other = (ra, rb) if len(blocked.get(ra, ())) <= len(blocked.get(rb, ())) else (rb, ra)
            if any(find(x) == other for x in blocked.get(small, ())):
                conflict = "decision:different"
        if conflict:
            refused[conflict] += 1
            if len(examples) < max_examples:
                examples.append({"unique_id_l": uid(left[i]), "unique_id_r": uid(right[i]),
                                 "match_probability": p, "constraint": conflict})
            if i < n_must:
                must_refused.append({"unique_id_l": uid(left[i]), "unique_id_r": uid(right[i]),
                                     "constraint": conflict})
            continue
        if size[ra] < size[rb]:
            ra, rb = rb, ra
        parent[rb] = ra
        size[ra] += size[rb]
        if rb in blocked:  # the merged component may hold none of what either part may not
            blocked.setdefault(ra, set()).update(blocked.pop(rb))
        for _, vals in values_of:  # the merged root carries whatever either side knew
            if vals[ra] == -1:
                vals[ra] = vals[rb]
        merges += 1

    roots_local = np.asarray(parent, dtype=np.int64)
    while True:  # pointer jumping until every record points at its root
        nxt = roots_local[roots_local]
        if np.array_equal(nxt, roots_local):
            break
        roots_local = nxt
    roots = component  # a clean record's root is its component's label, any other its greedy root
    roots[sub] = sub[roots_local]
    # cluster_id: the first member in record order (the store loads records by unique_id)
    first = np.full(n, n, dtype=np.int64)
    np.minimum.at(first, roots, np.arange(n))
    clusters = pa.table({"unique_id": id_array, "cluster_id": id_array.take(pa.array(first[roots]))}).to_pandas()
    sizes = np.bincount(roots, minlength=n)
    sizes = sizes[sizes > 0]
    report = {
        "threshold": threshold,
        "pairs_considered": int(len(left)) - n_must,
        "merges": merges,
        "refused": int(sum(refused.values())),
        "refused_by_constraint": dict(refused),
        "refused_examples": examples,
        "entities": int(len(sizes)),
        "source_records": n,
        "largest_entity": int(sizes.max()) if len(sizes) else 0,
        "decisions": {**decided, "must_link_refused": must_refused},
    }
    return clusters, report


def _components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Each record's connected component under the edges (left[i], right[i]), labelled by its
    smallest member: minimum labels spread along edges, with pointer jumping, until stable."""
    label = np.arange(n, dtype=np.int64)
    while True:
        low = np.minimum(label[left], label[right])
        spread = label.copy()
        np.minimum.at(spread, left, low)
        np.minimum.at(spread, right, low)
        spread = spread[spread]
        if np.array_equal(spread, label):
            return label
        label = spread


def _size(frame: pd.DataFrame | None) -> int:
    return 0 if frame is None else len(frame)


def _decided(frame: pd.DataFrame | None, id_array: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of both records of each decided pair whose records are both in `records`."""
    if frame is None or frame.empty:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    left, right = _positions(frame["unique_id_l"], id_array), _positions(frame["unique_id_r"], id_array)
    keep = (left >= 0) & (right >= 0) & (left != right)
    return left[keep], right[keep]


def _arrow_text(values: pd.Series) -> pa.ChunkedArray:
    """A column of IDs as Arrow large_string, without a Python object per value when it is text."""
    try:
        array = values.array.__arrow_array__() if hasattr(values.array, "__arrow_array__") else pa.array(values)
        if isinstance(array, pa.Array):
            array = pa.chunked_array([array])
        if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
            return array.cast(pa.large_string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    return pa.chunked_array([pa.array(values.astype(str).to_numpy(), type=pa.large_string())])


def _positions(values: pd.Series | pa.ChunkedArray, id_array: pa.ChunkedArray) -> np.ndarray:
    text = values if isinstance(values, pa.ChunkedArray) else _arrow_text(values)
    found = pc.index_in(text, value_set=id_array.combine_chunks())
    return np.asarray(found.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)


def constraint_violations(
    records: pd.DataFrame, clusters: pd.DataFrame, clustering: dict[str, Any]
) -> list[str]:
    """Independent check: every cluster that breaks a hard constraint (empty when fine). It reads
    each record's key through the pure form (`key`), not the codes the clustering used."""
    df = records.merge(clusters, on="unique_id")
    bad = []
    for con in constraints.of(clustering):
        cols = [c for c in con.columns if c in df]
        keys = pd.Series([con.key(r) for r in df[cols].to_dict("records")], index=df.index, dtype=object)
        counts = keys[keys.notna()].groupby(df["cluster_id"]).nunique()
        bad += [f"{cid}: breaks {con.name}" for cid in counts[counts > 1].index]
    return bad
