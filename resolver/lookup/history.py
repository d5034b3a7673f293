"""What became of a master ID: the merges and splits recorded on it (the store's
entity_history, from resolver.store.master_ids' events) and, for a retired ID, the current
master IDs its records went to.

The store's events, as the ID's own history shows them:
- create → `created` (entity_ids: the entities it was split from, if any);
- merge  → `absorbed` (entity_ids: the entities merged into this one, now retired);
- split  → `split`, the ID kept (entity_ids: the entities split off);
- retire → `merged` (one heir), `split` (several heirs, none kept the ID) or `retired` (no
  records left); entity_ids: the heirs. The ID is inactive from then on.
A split that retires the ID is recorded by the store twice in one resolution (split and
retire); only the retire event is shown.

The history names no personal value: master IDs, model versions, times and the store's
fixed reasons ("merged 2 entities into the larger one", "split from E…").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from resolver.store.reads import Reader

_KINDS = {"create": "created", "merge": "absorbed", "split": "split"}
# A chain longer than this is not followed further (each step is one scan of entity_history).
MAX_FOLLOWED = 200


@dataclass(frozen=True)
class Event:
    event_id: int
    at: str  # ISO 8601, the store's clock (as created_at/updated_at of an entity)
    kind: str
    entity_ids: list[str]
    model_version: str | None
    reason: str
    retired: bool  # the ID was inactive after this event

    def as_json(self) -> dict[str, Any]:
        return {"event_id": self.event_id, "kind": self.kind, "at": self.at, "model_version": self.model_version,
                "entity_ids": self.entity_ids, "reason": self.reason, "retired": self.retired}


def events(reader: Reader, domain: str, entity_id: str) -> list[Event]:
    """The ID's history, oldest first."""
    rows = [r for r in reader.events_of(entity_id) if r[2] == domain]
    retired_at = {r[1] for r in rows if r[3] == "retire"}
    out = []
    for event_id, at, _, event, related, reason, version in rows:
        if event == "split" and at in retired_at:
            continue
        ids = [i for i in (related or "").split(",") if i]
        if event == "retire":
            kind = "merged" if len(ids) == 1 else "split" if ids else "retired"
        else:
            kind = _KINDS.get(event, event)
        out.append(Event(int(event_id), at, kind, ids, version, reason or "", event == "retire"))
    return out


def current_ids(reader: Reader, domain: str, retired: Event, active: Callable[[str], bool]) -> list[str]:
    """The active master IDs that hold what an ID held when `retired` retired it: its heirs,
    and theirs in turn through every later merge and split (A merged into B, then B split
    into B and C: B and C). `active` says whether an ID is active now."""
    found: set[str] = set()
    reached: dict[str, str] = {}
    todo = [(i, retired.at) for i in retired.entity_ids]
    while todo and len(reached) < MAX_FOLLOWED:
        eid, since = todo.pop()
        if eid in reached and reached[eid] <= since:
            continue
        reached[eid] = since
        if active(eid):
            found.add(eid)
        # only what happened after the records arrived here: an earlier split took others' records
        for event in events(reader, domain, eid):
            if event.at > since and (event.retired or event.kind == "split"):
                todo += [(i, event.at) for i in event.entity_ids]
    return sorted(found)


def retirement(reader: Reader, domain: str, entity_id: str, active: Callable[[str], bool]) -> dict[str, Any]:
    """{"successors": current master IDs, "event": what retired the ID} for an inactive ID
    (`event` None when the store recorded no retirement)."""
    last = next((e for e in reversed(events(reader, domain, entity_id)) if e.retired), None)
    if last is None:
        return {"successors": [], "event": None}
    event = {k: v for k, v in last.as_json().items() if k not in ("event_id", "retired")}
    return {"successors": current_ids(reader, domain, last, active), "event": event}


def history_page(reader: Reader, domain: str, entity_id: str, offset: int, limit: int) -> dict[str, Any]:
    """One page of the ID's history, oldest first, with the total."""
    found = events(reader, domain, entity_id)
    return {"entity_id": entity_id, "domain": domain, "total": len(found), "offset": offset, "limit": limit,
            "items": [e.as_json() for e in found[offset:offset + limit]]}
