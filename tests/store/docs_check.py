"""Check that every serving document says what the store's own tables say."""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any

import orjson

from resolver.lookup.entity import json_value
from resolver.store import Store
from resolver.store.docs import unpack


def _plain(value: Any) -> Any:
    value = json_value(value)
    return None if isinstance(value, float) and math.isnan(value) else value


def _same_time(stored: Any, shown: str | None) -> bool:
    if stored is None:
        return shown is None
    return shown is not None and datetime.fromisoformat(shown) == stored


def assert_docs_match_tables(store: Store, domain: str) -> int:
    """Compare each entity's document with entities, golden_values, membership, records, conflicts."""
    cur = store.cursor()
    docs = {e: orjson.loads(unpack(d)) for e, d in cur.execute(  # strict JSON: no NaN
        "SELECT entity_id, doc FROM serving_docs WHERE domain = ?", [domain]).fetchall()}
    entities = cur.execute("SELECT entity_id, size, active, model_version, created_at, updated_at FROM entities "
                           "WHERE domain = ?", [domain]).fetchall()
    assert set(docs) == {e[0] for e in entities}
    query = cur.execute(f"SELECT m.entity_id, m.since, r.* FROM membership m JOIN records_{domain} r "
                        "USING (unique_id) WHERE m.domain = ?", [domain])
    names = [d[0] for d in query.description]
    members: dict[str, dict[str, dict[str, Any]]] = {}
    for row in query.fetchall():
        record = dict(zip(names, row, strict=True))
        members.setdefault(record["entity_id"], {})[record["unique_id"]] = record
    golden: dict[str, dict[str, Any]] = {}
    for e, field, value, source, rule in cur.execute(
            "SELECT entity_id, field, value, source, rule FROM golden_values WHERE domain = ?", [domain]).fetchall():
        golden.setdefault(e, {})[field] = (value, source, rule)
    conflicts: dict[str, list[tuple[Any, ...]]] = {}
    for e, *rest in cur.execute("SELECT entity_id, field, value, source, source_record_id FROM conflicts "
                                "WHERE domain = ?", [domain]).fetchall():
        conflicts.setdefault(e, []).append(tuple(rest))
    for entity_id, size, active, version, created, updated in entities:
        doc = docs[entity_id]
        assert (doc["size"], doc["active"], doc["model_version"]) == (size, active, version), entity_id
        assert _same_time(created, doc["created_at"]) and _same_time(updated, doc["updated_at"])
        assert {g["field"]: (g["value"], g["source"], g["rule"]) for g in doc["golden"]} == golden.get(entity_id, {})
        shown_conflicts = [(c["field"], c["value"], c["source"], c["source_record_id"]) for c in doc["conflicts"]]
        assert sorted(shown_conflicts, key=str) == sorted(conflicts.get(entity_id, []), key=str), entity_id
        stored = members.get(entity_id, {})
        shown = {m["unique_id"]: m for m in doc["members"]}
        assert set(shown) == set(stored), entity_id
        for unique_id, record in stored.items():
            for column, value in record.items():
                member = shown[unique_id]
                if column in ("entity_id", "record_hash", "row_number"):  # not in a document
                    assert column not in member or column == "entity_id", (unique_id, column)
                    continue
                assert member.get(column, 0) is not None, (unique_id, column)  # null keys left out
                if column == "file":
                    assert member.get(column) == (None if value is None else re.split(r"[/\\\\]", value)[-1])
                elif column in ("since", "ingested_at"):
                    assert _same_time(value, shown[unique_id][column]), (unique_id, column)
                else:
                    assert _plain(shown[unique_id].get(column)) == _plain(value), (unique_id, column)
    return len(entities)
