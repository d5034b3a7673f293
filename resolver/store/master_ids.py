"""Stable master IDs: carry IDs from the previous resolution onto the new clusters.

Rules (documented in docs/store.md):
- an entity whose membership did not change keeps its ID;
- a merge keeps the ID of the larger old entity, then the older one, then the smaller ID;
- a split keeps the ID on the part holding most of the old members;
- a cluster that inherits no ID gets a new one; an old ID that goes nowhere is retired.
Greedy in order of (shared members, old size, age) so each old ID lands on at most one cluster.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from resolver.domains import load_schema


def prefix(domain: str) -> str:
    """The domain's master-ID prefix, from its schema (`id_prefix`)."""
    return load_schema(domain).id_prefix


@dataclass
class Assignment:
    """New membership, and what happened to every entity, for the history table."""

    membership: pd.DataFrame  # unique_id, entity_id
    events: list[dict] = field(default_factory=list)  # event, entity_id, related_ids, reason
    next_number: int = 1


def format_id(domain: str, number: int) -> str:
    return f"{prefix(domain)}{number:09d}"


def assign_master_ids(domain: str, clusters: pd.DataFrame, previous: pd.DataFrame,
                      entities: pd.DataFrame, next_number: int) -> Assignment:
    """Map `clusters` (unique_id, cluster_id) to master IDs given the `previous` membership.

    `previous`: unique_id, entity_id of the last resolution; `entities`: entity_id, created_at
    of the active entities; `next_number`: first unused number for new IDs.
    """
    clusters = clusters[["unique_id", "cluster_id"]]
    joined = clusters.merge(previous[["unique_id", "entity_id"]], on="unique_id", how="left")
    old_size = previous.groupby("entity_id").size().rename("old_size")
    overlap = (joined.dropna(subset=["entity_id"]).groupby(["cluster_id", "entity_id"]).size()
               .rename("shared").reset_index())
    overlap = overlap.join(old_size, on="entity_id")
    created = entities.set_index("entity_id")["created_at"] if len(entities) else pd.Series(dtype="object")
    overlap["created_at"] = overlap["entity_id"].map(created)
    overlap = overlap.sort_values(["shared", "old_size", "created_at", "entity_id"],
                                  ascending=[False, False, True, True], na_position="last")
    cluster_to_id: dict[object, str] = {}
    taken: set[str] = set()
    for cluster_id, entity_id in zip(overlap["cluster_id"].tolist(), overlap["entity_id"].tolist(), strict=True):
        if cluster_id in cluster_to_id or entity_id in taken:
            continue
        cluster_to_id[cluster_id] = entity_id
        taken.add(entity_id)

    new_sizes = clusters.groupby("cluster_id").size()
    sources: dict[object, list[str]] = {}
    for cluster_id, entity_id in zip(overlap["cluster_id"].tolist(), overlap["entity_id"].tolist(), strict=True):
        sources.setdefault(cluster_id, []).append(entity_id)
    number = next_number
    events: list[dict] = []
    first = prefix(domain)  # read once: 100k new entities called the schema look-up 100k times
    # (object arrays: iterating Arrow-backed text per element cost ~0.2 s per 100k IDs)
    for cluster_id in sorted(new_sizes.index.to_numpy(dtype=object).tolist(), key=str):
        olds = sorted(sources.get(cluster_id, []))
        if cluster_id not in cluster_to_id:
            cluster_to_id[cluster_id] = f"{first}{number:09d}"
            number += 1
            reason = f"split from {', '.join(olds)}" if olds else "new records"
            events.append({"event": "create", "entity_id": cluster_to_id[cluster_id],
                           "related_ids": ",".join(olds), "reason": reason})
            continue
        kept = cluster_to_id[cluster_id]
        absorbed = [o for o in olds if o != kept]
        if absorbed:
            events.append({"event": "merge", "entity_id": kept, "related_ids": ",".join(absorbed),
                           "reason": f"merged {len(absorbed)} entities into the larger one"})
    membership = clusters.assign(entity_id=clusters["cluster_id"].map(cluster_to_id))[
        ["unique_id", "entity_id"]]

    # Splits: an old entity whose members now sit in more than one cluster. (A plain dict: a
    # groupby's unique() per entity took ~3 s for 100k entities.)
    links = joined.dropna(subset=["entity_id"])[["entity_id", "cluster_id"]].drop_duplicates()
    clusters_of: dict[str, list[object]] = {}
    for entity_id, cluster_id in zip(links["entity_id"].tolist(), links["cluster_id"].tolist(), strict=True):
        clusters_of.setdefault(entity_id, []).append(cluster_id)
    for entity_id in sorted(clusters_of):
        parts_ = clusters_of[entity_id]
        parts = sorted({cluster_to_id[c] for c in parts_})
        if len(parts) > 1:
            events.append({"event": "split", "entity_id": entity_id,
                           "related_ids": ",".join(p for p in parts if p != entity_id),
                           "reason": f"split into {len(parts)} entities"})
    # Old IDs that no cluster inherited are retired (merged away, or all records gone).
    for entity_id in sorted(set(previous["entity_id"].to_numpy(dtype=object).tolist()) - taken):
        heirs = sorted({cluster_to_id[c] for c in clusters_of.get(entity_id, [])})
        events.append({"event": "retire", "entity_id": entity_id, "related_ids": ",".join(heirs),
                       "reason": f"merged into {', '.join(heirs)}" if heirs else "no records left"})
    return Assignment(membership=membership.reset_index(drop=True), events=events, next_number=number)


def assign_ids_small(domain: str, clusters: list[tuple[str, Any]], previous: dict[str, str],
                     created: dict[str, Any], next_number: int) -> tuple[dict[str, str], list[dict], int]:
    """`assign_master_ids` in plain Python for the few thousand rows of an incremental write
    (pandas' merges and groupbys cost ~50 ms for one record): `clusters` (unique_id, cluster_id),
    `previous` unique_id → entity_id, `created` entity_id → created_at. Returns (unique_id →
    entity_id in `clusters`' order, events, next number), exactly what `assign_master_ids`
    gives (tests/store/test_master_ids.py checks both on the same inputs)."""
    old_size: dict[str, int] = {}
    for entity_id in previous.values():
        old_size[entity_id] = old_size.get(entity_id, 0) + 1
    shared: dict[tuple[Any, str], int] = {}
    for unique_id, cluster_id in clusters:
        old = previous.get(unique_id)
        if old is not None:
            shared[(cluster_id, old)] = shared.get((cluster_id, old), 0) + 1
    # pandas' order: groupby's (cluster_id, entity_id), then a stable sort, missing created_at last
    overlap = sorted(sorted(shared), key=lambda ce: (
        -shared[ce], -old_size[ce[1]], created.get(ce[1]) is None, _stamp(created.get(ce[1])), ce[1]))
    cluster_to_id: dict[Any, str] = {}
    taken: set[str] = set()
    sources: dict[Any, list[str]] = {}
    for cluster_id, entity_id in overlap:
        sources.setdefault(cluster_id, []).append(entity_id)
        if cluster_id in cluster_to_id or entity_id in taken:
            continue
        cluster_to_id[cluster_id] = entity_id
        taken.add(entity_id)
    number = next_number
    events: list[dict] = []
    first = prefix(domain)
    for cluster_id in sorted(dict.fromkeys(c for _, c in clusters), key=str):
        olds = sorted(sources.get(cluster_id, []))
        if cluster_id not in cluster_to_id:
            cluster_to_id[cluster_id] = f"{first}{number:09d}"
            number += 1
            events.append({"event": "create", "entity_id": cluster_to_id[cluster_id], "related_ids": ",".join(olds),
                           "reason": f"split from {', '.join(olds)}" if olds else "new records"})
            continue
        kept = cluster_to_id[cluster_id]
        absorbed = [o for o in olds if o != kept]
        if absorbed:
            events.append({"event": "merge", "entity_id": kept, "related_ids": ",".join(absorbed),
                           "reason": f"merged {len(absorbed)} entities into the larger one"})
    membership = {unique_id: cluster_to_id[cluster_id] for unique_id, cluster_id in clusters}
    clusters_of: dict[str, list[Any]] = {}
    for unique_id, cluster_id in clusters:
        old = previous.get(unique_id)
        if old is not None and cluster_id not in clusters_of.setdefault(old, []):
            clusters_of[old].append(cluster_id)
    for entity_id in sorted(clusters_of):
        parts = sorted({cluster_to_id[c] for c in clusters_of[entity_id]})
        if len(parts) > 1:
            events.append({"event": "split", "entity_id": entity_id,
                           "related_ids": ",".join(p for p in parts if p != entity_id),
                           "reason": f"split into {len(parts)} entities"})
    for entity_id in sorted(set(previous.values()) - taken):
        heirs = sorted({cluster_to_id[c] for c in clusters_of.get(entity_id, [])})
        events.append({"event": "retire", "entity_id": entity_id, "related_ids": ",".join(heirs),
                       "reason": f"merged into {', '.join(heirs)}" if heirs else "no records left"})
    return membership, events, number


def _stamp(value: Any) -> Any:
    """A created_at comparable with the others (None sorts apart, before this key is read)."""
    return 0 if value is None else value
