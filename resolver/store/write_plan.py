"""The plan of a small incremental resolution (POST /records, a few thousand rows of whole
entities) in plain Python: the reads and master IDs of `Store._plan_resolution` without
pandas, whose merges and groupbys cost ~100 ms for one record at any scale. The larger plans
(a file's chunk, a full run) keep the pandas path; tests/lookup/test_write_paths.py checks both
give the same plan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd

from resolver.store.master_ids import assign_ids_small
from resolver.store.points import POINTS_UP_TO, _literal

# Clusters rows up to which the plan is made here (dicts grow linearly; the pandas path's
# fixed cost is what a small write cannot afford).
SMALL_PLAN = 20_000
# A column of `clusters` holding each row's entity before the write (None: a new record), when
# the caller read it in the same transaction (the neighbourhood's `_entity_before`): the plan
# then does not read those rows' membership again (a scan of the membership table above
# POINTS_UP_TO rows).
BEFORE = "_entity_before"


@dataclass
class SmallPlan:
    """What `_Plan` needs of an incremental plan: frames to write and what changed."""

    next_number: int
    rows: int
    changed: set[str]
    refreshed: set[str]
    entity_of: dict[str, str | None]
    events: pd.DataFrame
    frames: dict[str, pd.DataFrame]
    members: dict[str, str]  # unique_id → entity_id of every row of the clusters
    inserted: list[str]  # unique_ids without a membership row once the moved ones are deleted
    created: list[str]  # entity IDs new to the store (numbered by this plan)


def _rows(cur: duckdb.DuckDBPyConnection, sql: str, column: str, ids: list[str],
          params: list[object]) -> list[tuple[Any, ...]]:
    """`sql` (ending in `WHERE`) filtered on `column` IN `ids`: literals for a few (index
    look-ups), a registered list otherwise."""
    if not ids:
        return []
    if len(ids) <= POINTS_UP_TO:
        return cur.execute(f"{sql} {column} IN ({', '.join(_literal(i) for i in ids)})", params).fetchall()
    cur.register("plan_scope", pd.DataFrame({"id": ids}, dtype="object"))
    try:
        return cur.execute(f"{sql} {column} IN (SELECT id FROM plan_scope)", params).fetchall()
    finally:
        cur.unregister("plan_scope")


def plan_small(cur: duckdb.DuckDBPyConnection, domain: str, clusters: pd.DataFrame, touched: list[str] | None,
               next_number: int) -> SmallPlan:
    """Master IDs for `clusters` (whole entities around the touched records; with `BEFORE`,
    their entities before the write) and what the incremental write changes, read through `cur`."""
    uids = [str(u) for u in clusters["unique_id"].tolist()]
    cids = clusters["cluster_id"].tolist()
    if BEFORE in clusters.columns:  # read with the neighbourhood in this transaction: not read again
        previous = {u: e for u, e in zip(uids, clusters[BEFORE].tolist(), strict=True) if isinstance(e, str)}
    else:
        previous = {str(u): str(e) for u, e, d in _rows(
            cur, "SELECT unique_id, entity_id, domain FROM membership WHERE", "unique_id", uids, []) if d == domain}
    olds = sorted(set(previous.values()))
    created = {str(e): c for e, c, active in _rows(
        cur, "SELECT entity_id, created_at, active FROM entities WHERE", "entity_id", olds, []) if active}
    membership, events, number = assign_ids_small(domain, list(zip(uids, cids, strict=True)), previous, created,
                                                  next_number)
    moved = [u for u in uids if previous.get(u) != membership[u]]
    changed = {previous[u] for u in moved if u in previous} | {membership[u] for u in moved}
    touched_set = set(touched or [])
    refreshed = changed | {membership[u] for u in uids if u in touched_set}
    placed = set(moved) | touched_set
    entity_of: dict[str, str | None] = {u: membership[u] for u in uids if u in placed}
    event_frame = pd.DataFrame(events, columns=["event", "entity_id", "related_ids", "reason"])
    frames = {"new_members": pd.DataFrame({"unique_id": uids, "entity_id": [membership[u] for u in uids]},
                                          dtype="object"),
              "new_events": event_frame,
              "moved_members": pd.DataFrame({"unique_id": [u for u in moved if u in previous]}, dtype="object"),
              "retired_ids": pd.DataFrame({"entity_id": sorted(set(olds) - set(membership.values()))},
                                          dtype="object"),
              "changed_ids": pd.DataFrame({"entity_id": sorted(refreshed)}, dtype="object")}
    fresh = sorted(set(membership.values()) - set(olds))  # the others are the neighbourhood's entities
    return SmallPlan(number, len(uids), changed, refreshed, entity_of, event_frame, frames, membership,
                     moved, fresh)
