"""Precision and recall of a domain's clustering over a range of match probability thresholds."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from resolver.linking.cluster import cluster_with_constraints
from resolver.linking.evaluate import evaluate


def threshold_sweep(
    records: pd.DataFrame,
    pairs: pd.DataFrame,
    truth_members: pd.DataFrame,
    clustering: dict[str, Any],
    thresholds: Iterable[float],
) -> pd.DataFrame:
    """Cluster `pairs` at each threshold (hard constraints included) and score against truth.

    One row per threshold: entities, refused unions, pairwise and B-cubed precision / recall /
    F1. `pairs` must have been predicted at or below the lowest threshold (predict_pairs'
    `threshold=`), else the low end of the sweep silently loses pairs.
    """
    rows = []
    for t in sorted(set(float(x) for x in thresholds)):
        if not 0.0 <= t <= 1.0:
            raise ValueError(f"threshold {t} is not a probability")
        clusters, report = cluster_with_constraints(records, pairs, clustering, threshold=t)
        result = evaluate(clusters, truth_members)
        pw, b3 = result["pairwise"], result["bcubed"]
        rows.append({
            "threshold": t, "entities": report["entities"], "refused": report["refused"],
            "precision": pw["precision"], "recall": pw["recall"], "f1": pw["f1"],
            "bcubed_precision": b3["precision"], "bcubed_recall": b3["recall"],
            "bcubed_f1": b3["f1"],
        })
    return pd.DataFrame(rows)


def best_threshold(sweep: pd.DataFrame, metric: str = "f1") -> float:
    """The threshold with the highest `metric`; the highest such threshold on a tie."""
    best = sweep[sweep[metric] == sweep[metric].max()]
    return float(best["threshold"].max())
