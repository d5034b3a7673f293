"""A full resolution's documents built in many shares are those built in one, and each input
table is read once whatever the number of shares (docs/scale.md: at 10M records each share read
the whole records and golden values tables, 18 times)."""

from __future__ import annotations

import re
from typing import Any

import orjson
import pytest

from resolver.engine import Resolver
from resolver.store import docs, open_store
from resolver.store.docs import unpack

READ = "SELECT entity_id, doc FROM serving_docs WHERE domain = 'enterprise'"


def _in_order(blob: bytes) -> dict[str, Any]:
    """A document with its members and golden values sorted: their order inside a document
    follows DuckDB's threads (a parallel aggregate)."""
    doc = orjson.loads(unpack(blob))
    for key in ("members", "golden"):
        doc[key] = sorted(doc[key], key=lambda item: orjson.dumps(item, option=orjson.OPT_SORT_KEYS))
    return doc


class _Counted:
    """The resolution's connection, keeping the SQL of each statement run through it."""

    def __init__(self, con: Any, seen: list[str]) -> None:
        self.con, self.seen = con, seen

    def execute(self, sql: str, *args: Any) -> Any:
        self.seen.append(sql)
        return self.con.execute(sql, *args)


@pytest.mark.parametrize("members_per_share", [400, 1_500])
def test_a_resolution_in_shares_writes_the_documents_of_one_share_reading_each_table_once(
        demo_copy, monkeypatch, members_per_share):
    # small enough that the copies in share order spill (the sample's documents need ~190 MB in one statement)
    monkeypatch.setenv("RESOLVER_STORE_MEMORY", "128MB")
    store = open_store(demo_copy(f"doc_shares_{members_per_share}"))
    try:
        one = {e: _in_order(d) for e, d in store._con.execute(READ).fetchall()}  # the demo's: one share
        seen: list[str] = []
        refresh = docs.refresh
        monkeypatch.setattr(docs, "members_per_statement", lambda con: members_per_share)
        monkeypatch.setattr(docs, "refresh", lambda con, *a, **k: refresh(_Counted(con, seen), *a, **k))
        store._con.execute("DELETE FROM serving_docs WHERE domain = 'enterprise'")  # all rewritten
        Resolver(store, "enterprise").resolve()
        shared = {e: _in_order(d) for e, d in store._con.execute(READ).fetchall()}
    finally:
        store.close()
    members = sum(len(d["members"]) for d in one.values())
    shares = sum(sql.startswith(f"INSERT INTO {docs.TABLE} ") for sql in seen)
    assert shares == -(-members // members_per_share) > 3
    assert len(shared) == len(one) > 1000 and shared == one
    reads = [sql for sql in seen if not sql.startswith("DESCRIBE")]  # (its columns, no rows)
    for table in ("records_enterprise", "golden_values", "conflicts", "entities"):
        assert sum(bool(re.search(rf"\bFROM {table}\b", sql)) for sql in reads) == 1, table
