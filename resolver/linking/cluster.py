"""Cluster scored pairs into entities under hard constraints.

Method (constrained greedy, as in correlation-clustering heuristics and Splink's
one-to-one clustering): take pairs at or above the match probability threshold in
descending match probability and union their components with a union-find, *refusing*
any union whose two components conflict:

- ``different_valid``: each side already holds a different valid identifier (USCC,
  resident ID); a component holds at most one, since a second would have been refused;
- ``branch_vs_head_office``: one side is a branch, the other a non-branch.

So a chain of weak links that would join two companies is cut at its weakest link,
never at a strong one, and no output cluster can break a constraint. Refusals are
counted and reported with examples.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def _codes(records: pd.DataFrame, column: str, valid_flag: str | None) -> list[int]:
    values = records[column].astype("string")
    if valid_flag and valid_flag in records:
        ok = records[valid_flag].astype("boolean").fillna(False).to_numpy(dtype=bool)
        values = values.where(ok)
    codes, _ = pd.factorize(values, use_na_sentinel=True)
    return codes.tolist()


def _branch_codes(records: pd.DataFrame, kind_column: str) -> list[int]:
    kind = records[kind_column].astype("string")
    is_branch = (kind == "branch").fillna(False).to_numpy(dtype=bool)
    out = np.where(is_branch, 1, np.where(kind.isna().to_numpy(), -1, 0))
    return out.astype(np.int64).tolist()


def cluster_with_constraints(
    records: pd.DataFrame,
    pairs: pd.DataFrame,
    clustering: dict[str, Any],
    *,
    threshold: float | None = None,
    max_examples: int = 20,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Return (clusters[unique_id, cluster_id], report); cluster_id is the first member's unique_id."""
    if threshold is None:
        threshold = float(clustering["match_probability_threshold"])
    ids = records["unique_id"].astype(str).to_numpy()
    id_array = pa.array(ids, type=pa.large_string())
    if pc.count_distinct(id_array).as_py() != len(ids):
        raise ValueError("records.unique_id is not unique")
    edges = pairs.loc[pairs["match_probability"] >= threshold,
                      ["unique_id_l", "unique_id_r", "match_probability"]]
    edges = edges.sort_values("match_probability", ascending=False, kind="stable")
    # hash lookup in Arrow: pandas' string get_indexer is several times slower at 1M
    left = _positions(edges["unique_id_l"], id_array)
    right = _positions(edges["unique_id_r"], id_array)
    if (left < 0).any() or (right < 0).any():
        raise ValueError("pairs name source records that are not in records")
    prob = edges["match_probability"].to_numpy()

    # one attribute list per constraint; value -1 means "says nothing"
    attrs: list[tuple[str, list[int]]] = []
    for con in clustering.get("constraints", []):
        if con["kind"] == "different_valid":
            attrs.append((f"different_valid:{con['column']}",
                          _codes(records, con["column"], con.get("valid_flag"))))
        elif con["kind"] == "branch_vs_head_office":
            attrs.append(("branch_vs_head_office",
                          _branch_codes(records, con.get("kind_column", "entity_kind"))))

    n = len(ids)
    parent = list(range(n))
    size = [1] * n
    refused: Counter[str] = Counter()
    examples: list[dict[str, Any]] = []
    merges = 0

    for a0, b0, p in zip(left.tolist(), right.tolist(), prob.tolist(), strict=True):
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
        for name, vals in attrs:
            va, vb = vals[ra], vals[rb]
            if va != -1 and vb != -1 and va != vb:
                conflict = name
                break
        if conflict:
            refused[conflict] += 1
            if len(examples) < max_examples:
                examples.append({"unique_id_l": ids[a0], "unique_id_r": ids[b0],
                                 "match_probability": p, "constraint": conflict})
            continue
        if size[ra] < size[rb]:
            ra, rb = rb, ra
        parent[rb] = ra
        size[ra] += size[rb]
        for _, vals in attrs:  # the merged root carries whatever either side knew
            if vals[ra] == -1:
                vals[ra] = vals[rb]
        merges += 1

    roots = np.asarray(parent, dtype=np.int64)
    while True:  # pointer jumping until every record points at its root
        nxt = roots[roots]
        if np.array_equal(nxt, roots):
            break
        roots = nxt
    # cluster_id: the first member in record order (the store loads records by unique_id)
    first = np.full(n, n, dtype=np.int64)
    np.minimum.at(first, roots, np.arange(n))
    clusters = pd.DataFrame({"unique_id": ids, "cluster_id": ids[first[roots]]})
    sizes = np.bincount(roots, minlength=n)
    sizes = sizes[sizes > 0]
    report = {
        "threshold": threshold,
        "pairs_considered": int(len(edges)),
        "merges": merges,
        "refused": int(sum(refused.values())),
        "refused_by_constraint": dict(refused),
        "refused_examples": examples,
        "entities": int(len(sizes)),
        "source_records": n,
        "largest_entity": int(sizes.max()) if len(sizes) else 0,
    }
    return clusters, report


def _positions(values: pd.Series, id_array: pa.Array) -> np.ndarray:
    found = pc.index_in(pa.array(values.astype(str).to_numpy(), type=pa.large_string()),
                        value_set=id_array)
    return np.asarray(found.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)


def constraint_violations(
    records: pd.DataFrame, clusters: pd.DataFrame, clustering: dict[str, Any]
) -> list[str]:
    """Independent check: every cluster that breaks a hard constraint (empty when fine)."""
    df = records.merge(clusters, on="unique_id")
    bad = []
    for con in clustering.get("constraints", []):
        if con["kind"] == "different_valid":
            col, flag = con["column"], con.get("valid_flag")
            sub = df[df[col].notna()]
            if flag:
                sub = sub[sub[flag].astype("boolean").fillna(False).to_numpy(dtype=bool)]
            counts = sub.groupby("cluster_id")[col].nunique()
            bad += [f"{cid}: {counts[cid]} valid {col}" for cid in counts[counts > 1].index]
        elif con["kind"] == "branch_vs_head_office":
            kind = df[con.get("kind_column", "entity_kind")]
            is_branch = (kind.astype("string") == "branch").fillna(False).to_numpy(dtype=bool)
            flags = pd.DataFrame({"c": df["cluster_id"], "b": is_branch,
                                  "nb": kind.notna().to_numpy() & ~is_branch})
            g = flags.groupby("c")[["b", "nb"]].any()
            bad += [f"{cid}: branch with head office" for cid in g[g.b & g.nb].index]
    return bad
