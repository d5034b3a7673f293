"""What changes between two model versions: parameters, and entities that merge or split."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from resolver.linking.model import level_parameters


@dataclass
class MembershipChanges:
    """How the entities of one resolution map onto another over their common source records.

    `merges`: one row per *after* entity holding records of two or more *before* entities.
    `splits`: one row per *before* entity whose records went to two or more *after* entities.
    An entity both split and merged (records exchanged) appears in both.
    """

    merges: pd.DataFrame
    splits: pd.DataFrame
    summary: dict[str, int] = field(default_factory=dict)


def _entity_column(frame: pd.DataFrame) -> str:
    for name in ("entity_id", "cluster_id"):
        if name in frame.columns:
            return name
    raise ValueError("membership frame needs unique_id and entity_id (or cluster_id)")


def compare_memberships(before: pd.DataFrame, after: pd.DataFrame) -> MembershipChanges:
    """Compare two memberships (unique_id -> entity_id or cluster_id); ids need not agree."""
    b = before[["unique_id", _entity_column(before)]].set_axis(["unique_id", "before"], axis=1)
    a = after[["unique_id", _entity_column(after)]].set_axis(["unique_id", "after"], axis=1)
    both = b.merge(a, on="unique_id", how="inner")
    cell = both.groupby(["before", "after"]).size().rename("records").reset_index()
    feeds = cell.groupby("after")["before"].agg(list)       # before entities per after entity
    goes = cell.groupby("before")["after"].agg(list)         # after entities per before entity
    size_after = both.groupby("after").size()
    size_before = both.groupby("before").size()

    merged = feeds[feeds.map(len) > 1]
    merges = pd.DataFrame({
        "after": merged.index,
        "before": [sorted(map(str, v)) for v in merged],
        "records": size_after.reindex(merged.index).to_numpy(dtype="int64"),
    })
    split = goes[goes.map(len) > 1]
    splits = pd.DataFrame({
        "before": split.index,
        "after": [sorted(map(str, v)) for v in split],
        "records": size_before.reindex(split.index).to_numpy(dtype="int64"),
    })
    one_to_one = cell[cell["before"].map(goes.map(len)).eq(1) & cell["after"].map(feeds.map(len)).eq(1)]
    summary = {
        "records_compared": int(len(both)),
        "records_only_before": int(len(b) - b["unique_id"].isin(a["unique_id"]).sum()),
        "records_only_after": int(len(a) - a["unique_id"].isin(b["unique_id"]).sum()),
        "entities_before": int(len(size_before)),
        "entities_after": int(len(size_after)),
        "unchanged": int(len(one_to_one)),
        "merges": int(len(merges)),
        "splits": int(len(splits)),
    }
    return MembershipChanges(merges.sort_values("records", ascending=False, kind="stable")
                             .reset_index(drop=True),
                             splits.sort_values("records", ascending=False, kind="stable")
                             .reset_index(drop=True), summary)


def parameter_changes(before: dict[str, Any], after: dict[str, Any]) -> pd.DataFrame:
    """m, u and match weight of every comparison level in two model settings, side by side.

    Levels are matched by comparison and label (a level inserted in the rule file does not
    shift the others). `presence` says whether a level is in `both` models or `only_before` /
    `only_after`; those come first, then levels by the absolute change in match weight,
    largest first (levels whose weight is unknown on a side, never observed in training, last).
    """
    key = ["comparison", "label"]
    old = pd.DataFrame(level_parameters(before)).drop(columns="level")
    new = pd.DataFrame(level_parameters(after)).drop(columns="level")
    out = old.merge(new, on=key, how="outer", suffixes=("_before", "_after"), indicator="presence")
    out["presence"] = out["presence"].astype(str).map(
        {"both": "both", "left_only": "only_before", "right_only": "only_after"})
    for col in ("m_before", "m_after", "u_before", "u_after", "match_weight_before",
                "match_weight_after"):
        out[col] = pd.to_numeric(out[col], errors="coerce")
    out["weight_change"] = out["match_weight_after"] - out["match_weight_before"]
    order = out["weight_change"].abs().fillna(-1.0).where(out["presence"] == "both", float("inf"))
    return out.assign(_o=order).sort_values("_o", ascending=False, kind="stable").drop(
        columns="_o").reset_index(drop=True)
