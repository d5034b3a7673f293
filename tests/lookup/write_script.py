"""A scripted run of POST /records calls (through the server's own group committer, in
process) on a store, and the master it leaves, without times: for comparing write paths."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from resolver.lookup.group_commit import GroupCommitter
from resolver.lookup.incremental import prepare
from resolver.lookup.service import LookupService
from resolver.store import docs, open_store

# timestamps and the per-call file name differ between any two runs
_VOLATILE = {"created_at", "updated_at", "since", "ingested_at", "file", "event_at", "quarantined_at"}


def run_calls(db: Path, calls: list[list[list[dict[str, Any]]]]) -> list[list[dict[str, Any]]]:
    """Each item of `calls` is one batch: calls (lists of records, source tax) submitted
    together and committed as one group. Returns every call's answer, in order."""
    store = open_store(db)
    try:
        service = LookupService(store)
        writer = GroupCommitter(service)
        answers = []
        for batch in calls:
            pending = [prepare(service, "enterprise", "tax", records, "test") for records in batch]
            answers += [r["results"] for r in writer._write(pending)]
        return answers
    finally:
        store.close()


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if k not in _VOLATILE}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _in_order(doc: dict[str, Any]) -> dict[str, Any]:
    """A document with its members and golden values sorted: their order inside a document follows
    DuckDB's threads (a parallel aggregate), and differs between two runs of the same path."""
    def key(item: Any) -> str:
        return json.dumps(item, ensure_ascii=False, sort_keys=True)
    return {**doc, **{k: sorted(doc[k], key=key) for k in ("members", "golden") if isinstance(doc.get(k), list)}}


def master_state(db: Path) -> dict[str, Any]:
    """The enterprise master: membership, entities, golden values, conflicts, documents, history,
    records, replaced records, pairs."""
    store = open_store(db, read_only=True)
    try:
        cur = store.cursor()

        def rows(sql: str) -> list[tuple[Any, ...]]:
            return sorted(cur.execute(sql).fetchall(), key=repr)

        return {
            "membership": rows("SELECT unique_id, entity_id, model_version FROM membership WHERE domain = 'enterprise'"),
            "entities": rows("SELECT entity_id, size, active, model_version FROM entities WHERE domain = 'enterprise'"),
            "golden": rows("SELECT * FROM golden_values WHERE domain = 'enterprise'"),
            "conflicts": rows("SELECT * FROM conflicts WHERE domain = 'enterprise'"),
            "docs": sorted((e, json.dumps(_in_order(_clean(json.loads(docs.unpack(d)))), ensure_ascii=False,
                                          sort_keys=True))
                           for e, d in cur.execute("SELECT entity_id, doc FROM serving_docs "
                                                   "WHERE domain = 'enterprise'").fetchall()),
            "history": rows("SELECT event, entity_id, related_ids, reason, model_version FROM entity_history "
                            "WHERE domain = 'enterprise'"),
            "next_id": rows("SELECT * FROM meta WHERE key = 'next_id_enterprise'"),
            # the records as stored (their values, hash and raw row), those they replaced, the pairs kept
            "records": rows("SELECT * EXCLUDE (ingested_at, file) FROM records_enterprise"),
            "record_history": rows("SELECT unique_id, domain, record_hash, raw FROM record_history "
                                   "WHERE domain = 'enterprise'"),
            "pairs": rows("SELECT * FROM pairs_enterprise"),
        }
    finally:
        store.close()


def golden_rebuilt(db: Path, folder: Path) -> dict[str, Any]:
    """The enterprise golden values and conflicts of a copy of `db` rebuilt whole from its
    membership and records (the full resolution's build): what incremental writes must leave."""
    import shutil

    from resolver.store.golden import build_golden, load_survivorship

    copy = folder / "rebuilt.duckdb"
    shutil.copy(db, copy)
    store = open_store(copy)
    try:
        latest = store.latest_model("enterprise")
        rules = (store.recorded_survivorship("enterprise", latest[0]) if latest else None) \
            or load_survivorship("enterprise")
        with store.transaction() as con:
            build_golden(con, "enterprise", rules)
    finally:
        store.close()
    state = master_state(copy)
    return {"golden": state["golden"], "conflicts": state["conflicts"]}
