"""An entity's history (create, merge, split, retire events with the model version that made
them) and, for a master ID merged away, where its records went."""

from __future__ import annotations

from typing import Any

from resolver.lookup.entity import json_value
from resolver.store import Store

MAX_EVENTS = 200


def entity_history(store: Store, domain: str, entity_id: str, limit: int = MAX_EVENTS) -> list[dict[str, Any]]:
    """Events naming `entity_id`, as the entity or as a related one, oldest first."""
    with store.reader() as reader:
        rows = reader.entity_events(domain, entity_id, limit)
    names = ("event_id", "event_at", "event", "entity_id", "related_ids", "reason", "model_version")
    events = []
    for row in rows:
        event = {n: json_value(v) for n, v in zip(names, row, strict=True)}
        related = [r for r in str(event["related_ids"] or "").split(",") if r]
        if event["entity_id"] != entity_id and entity_id not in related:
            continue  # a longer ID containing this one
        event["related"] = related
        events.append(event)
    return events


def successors(events: list[dict[str, Any]], entity_id: str) -> list[str]:
    """The master IDs a retired `entity_id` was merged into (its last retire event), else []."""
    retired = [e for e in events if e["event"] == "retire" and e["entity_id"] == entity_id]
    return list(retired[-1]["related"]) if retired else []
