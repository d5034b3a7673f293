"""Score a clustering against truth: pairwise and B-cubed P/R/F1, per source pair, worst errors.

Everything is computed from the contingency table (cluster x entity [x source]) so it
costs O(records), never O(pairs).
"""

from __future__ import annotations

from itertools import combinations_with_replacement
from typing import Any

import pandas as pd


def _prf(tp: float, predicted: float, true: float) -> dict[str, float]:
    p = tp / predicted if predicted else 1.0
    r = tp / true if true else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f}


def _c2(s: pd.Series) -> float:
    return float((s * (s - 1) / 2).sum())


def _truth_ids(truth: pd.DataFrame) -> pd.DataFrame:
    t = truth.copy()
    if "unique_id" not in t:
        t["unique_id"] = t["source"].astype(str) + ":" + t["source_record_id"].astype(str)
    if "source" not in t:
        t["source"] = t["unique_id"].str.split(":", n=1).str[0]
    return t[["unique_id", "source", "entity_id"]]


def evaluate(
    clusters: pd.DataFrame,
    truth_members: pd.DataFrame,
    records: pd.DataFrame | None = None,
    pairs: pd.DataFrame | None = None,
    *,
    worst: int = 10,
) -> dict[str, Any]:
    """Metrics for `clusters` (unique_id, cluster_id) against truth (source, source_record_id, entity_id)."""
    truth = _truth_ids(truth_members)
    df = clusters[["unique_id", "cluster_id"]].merge(truth, on="unique_id", how="inner")
    n = len(df)
    cell = df.groupby(["cluster_id", "entity_id"]).size()
    a = df.groupby("cluster_id").size()
    b = df.groupby("entity_id").size()
    pairwise = _prf(_c2(cell), _c2(a), _c2(b))
    pairwise.update(true_pairs=_c2(b), predicted_pairs=_c2(a), correct_pairs=_c2(cell))
    sq = cell.astype(float) ** 2
    b3p = float((sq / a.reindex(cell.index.get_level_values(0)).to_numpy()).sum()) / n if n else 1.0
    b3r = float((sq / b.reindex(cell.index.get_level_values(1)).to_numpy()).sum()) / n if n else 1.0
    bcubed = {"precision": b3p, "recall": b3r,
              "f1": 2 * b3p * b3r / (b3p + b3r) if b3p + b3r else 0.0}
    result: dict[str, Any] = {
        "source_records": n,
        "unmatched_in_truth": int(len(clusters) - n),
        "entities_true": int(len(b)),
        "entities_predicted": int(len(a)),
        "pairwise": pairwise,
        "bcubed": bcubed,
        "per_source_pair": _per_source_pair(df),
    }
    if pairs is not None:
        result.update(_worst_errors(df, pairs, records, worst))
    return result


def _per_source_pair(df: pd.DataFrame) -> list[dict[str, Any]]:
    cell = df.groupby(["cluster_id", "entity_id", "source"]).size().unstack(fill_value=0)
    pred = df.groupby(["cluster_id", "source"]).size().unstack(fill_value=0)
    true = df.groupby(["entity_id", "source"]).size().unstack(fill_value=0)
    out = []
    for s, t in combinations_with_replacement(sorted(cell.columns), 2):
        if s == t:
            tp, pp, tt = _c2(cell[s]), _c2(pred[s]), _c2(true[s])
        else:
            tp = float((cell[s] * cell[t]).sum())
            pp = float((pred[s] * pred[t]).sum())
            tt = float((true[s] * true[t]).sum())
        if pp or tt:
            out.append({"sources": f"{s}-{t}", "true_pairs": tt, "predicted_pairs": pp,
                        **_prf(tp, pp, tt)})
    return out


def _worst_errors(
    df: pd.DataFrame, pairs: pd.DataFrame, records: pd.DataFrame | None, worst: int
) -> dict[str, Any]:
    lookup = df.set_index("unique_id")[["cluster_id", "entity_id"]]
    p = pairs.join(lookup.add_suffix("_l"), on="unique_id_l").join(
        lookup.add_suffix("_r"), on="unique_id_r")
    p = p.dropna(subset=["entity_id_l", "entity_id_r"])
    mw = [c for c in pairs.columns if c.startswith("mw_")]
    keep = ["unique_id_l", "unique_id_r", "match_probability", "match_weight", *mw]
    same_cluster = p["cluster_id_l"] == p["cluster_id_r"]
    same_entity = p["entity_id_l"] == p["entity_id_r"]
    false_merges = p[same_cluster & ~same_entity].nlargest(worst, "match_probability")[keep]
    missed_scored = p[~same_cluster & same_entity].nlargest(worst, "match_probability")[keep]
    # true pairs split across clusters that are not among the kept pairs: never blocked
    # together, or scored below predict_threshold
    split = df[df.groupby("entity_id")["cluster_id"].transform("nunique") > 1]
    scored = set(zip(p["unique_id_l"], p["unique_id_r"], strict=True))
    unscored = []
    for _, grp in split.groupby("entity_id", sort=False):
        first = grp.drop_duplicates("cluster_id").head(2)["unique_id"].tolist()
        left, right = sorted(first)
        if (left, right) not in scored:
            unscored.append({"unique_id_l": left, "unique_id_r": right, "match_probability": None})
        if len(unscored) >= worst:
            break
    out = {
        "false_merges": _with_fields(false_merges, records),
        "missed_links": _with_fields(missed_scored, records),
        "missed_not_kept": _with_fields(pd.DataFrame(unscored), records),
    }
    return out


def _with_fields(frame: pd.DataFrame, records: pd.DataFrame | None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [{str(k): v for k, v in r.items()} for r in frame.to_dict("records")]
    if records is None or not rows:
        return rows
    show = [c for c in ("name", "uscc", "org_code", "id_number", "birth_date", "legal_rep",
                        "district_code", "phone", "entity_kind") if c in records]
    rec = records.set_index("unique_id")[show]
    for row in rows:
        for side in ("l", "r"):
            uid = row[f"unique_id_{side}"]
            if uid in rec.index:
                row[f"record_{side}"] = {k: v for k, v in rec.loc[uid].items() if pd.notna(v)}
    return rows


def evaluate_decisions(clusters: pd.DataFrame, decisions: pd.DataFrame, *, worst: int = 10) -> dict[str, Any]:
    """Pairwise precision and recall of `clusters` (unique_id, cluster_id) on the pairs a data
    steward decided (unique_id_l, unique_id_r, decision): a `same` pair in one cluster is a true
    positive, in two a missed link; a `different` pair in one cluster is a false merge. `unsure`
    pairs and pairs naming a record not clustered are counted, not scored. With no truth
    file, this is what real data can be measured against; it says nothing of the pairs no one
    decided, and a resolution that honoured the decisions agrees with them by construction
    (except where a hard constraint refused a `same`)."""
    counts = {k: int((decisions["decision"] == k).sum()) for k in ("same", "different", "unsure")}
    cluster = clusters.set_index("unique_id")["cluster_id"]
    decided = decisions[decisions["decision"].isin(["same", "different"])]
    left = decided["unique_id_l"].map(cluster)
    right = decided["unique_id_r"].map(cluster)
    known = left.notna() & right.notna()
    decided, together = decided[known], (left[known] == right[known])
    same = decided["decision"] == "same"
    tp, fn = int((same & together).sum()), int((same & ~together).sum())
    fp, tn = int((~same & together).sum()), int((~same & ~together).sum())
    scores = _prf(tp, tp + fp, tp + fn)
    disagree = decided[(same & ~together) | (~same & together)]
    return {
        "decisions": {**counts, "scored": int(len(decided)), "not_in_records": int((~known).sum())},
        "pairwise": {**scores, "true_positives": tp, "false_merges": fp, "missed_links": fn, "true_negatives": tn},
        "disagreements": [{"unique_id_l": r["unique_id_l"], "unique_id_r": r["unique_id_r"], "decision": r["decision"]}
                          for r in disagree.head(worst).to_dict("records")],
    }
