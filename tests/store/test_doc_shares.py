"""How many shares a whole-domain documents build is cut into (`docs._shares`). Each share rescans
the records and golden values tables: at 10M source records (5.79M enterprise members) the 2 GB
default cut 18 shares, sized for the string_agg SQL whose aggregates cannot spill. The sorted
build (the default) sorts, which spills, and is sized by the text Python holds for a share."""

from __future__ import annotations

import duckdb
import pytest

from resolver.store import docs


def _shares(members: int, limit: str) -> int:
    con = duckdb.connect()
    try:
        con.execute(f"SET memory_limit = '{limit}'")
        con.execute("CREATE TABLE membership AS SELECT 'enterprise' AS domain, i::VARCHAR AS entity_id "
                    f"FROM range({members}) t(i)")
        return docs._shares(con, "enterprise", "membership", None)
    finally:
        con.close()


@pytest.mark.parametrize(("members", "limit", "sorted_shares", "sql_shares"), [
    (5_788_501, "2048MB", 12, 18),  # the 10M run's enterprise members under the default limit
    (577_605, "2048MB", 2, 2),      # the 1M store's: one share peaked its resolve at 4.27 GB
    (577_605, "200MB", 12, 18),     # the 1M store at the 10M run's ratio of members to memory
    (2_000_000, "2048MB", 5, 7),
])
def test_the_sorted_build_is_cut_into_fewer_shares_than_the_sql(members, limit, sorted_shares, sql_shares,
                                                               monkeypatch):
    assert docs.SORTED
    assert _shares(members, limit) == sorted_shares
    monkeypatch.setattr(docs, "SORTED", False)  # the string_agg SQL keeps its own rule
    assert _shares(members, limit) == sql_shares


def test_a_small_limit_still_cuts_shares_of_at_least_ten_thousand_members():
    assert _shares(100_000, "16MB") == 10


def test_a_resolutions_sorted_build_reads_each_shares_members_without_testing_the_scope(demo_copy, monkeypatch):
    """A full resolution builds its scope's documents (`doc_scope`, most of the domain) in shares;
    the members' read joins the share's entities (`doc_heads`, the scope's only). Testing the scope
    there too was a hash join DuckDB built on the members' whole record rows: in the larger shares
    above it ran out of memory under 200 MB at 1M records (9 shares; docs/scale.md, session 39).
    The documents are the one statement's (test_doc_format.py); here, that no read names the scope."""
    from resolver.store import open_store

    store = open_store(demo_copy("doc_shares_scope"))
    reads: list[str | None] = []
    insert_sorted = docs._insert_sorted

    def recorded(con, domain, scope, members, golden, part):
        reads.append(members)
        return insert_sorted(con, domain, scope, members, golden, part)

    monkeypatch.setattr(docs, "_insert_sorted", recorded)
    monkeypatch.setattr(docs, "members_per_statement", lambda con: 1000)
    try:
        con = store._con
        con.execute("BEGIN TRANSACTION")
        con.execute("CREATE TEMP TABLE doc_scope AS SELECT entity_id FROM entities "
                    "WHERE domain = 'enterprise' AND hash(entity_id) % 4 <> 0")
        docs.refresh(con, "enterprise", "doc_scope", keep=False, narrow=False)
        con.execute("ROLLBACK")
    finally:
        store.close()
    assert len(reads) > 1 and all(r and "membership" in r for r in reads)
    assert not [r for r in reads if r and "doc_scope" in r]


def test_a_shares_documents_are_inserted_a_chunk_at_a_time(demo_copy, monkeypatch):
    """One share at 1M records (the sizing above) held all its packed documents to its end (0.42 GB):
    each `CHUNK` is inserted as it is packed, and the documents are the same."""
    from resolver.store import open_store
    from resolver.store.docs import unpack

    store = open_store(demo_copy("doc_shares_chunks"))
    inserts: list[int] = []
    try:
        con = store._con
        read = "SELECT entity_id, doc FROM serving_docs WHERE domain = 'enterprise'"
        before = {e: unpack(d) for e, d in con.execute(read).fetchall()}
        monkeypatch.setattr(docs, "CHUNK", 100)

        class Counted:
            def from_arrow(self, table):
                inserts.append(table.num_rows)
                return con.from_arrow(table)

            def __getattr__(self, name):
                return getattr(con, name)

        con.execute("BEGIN TRANSACTION")
        docs.refresh(Counted(), "enterprise", keep=False)  # type: ignore[arg-type]
        con.execute("COMMIT")
        after = {e: unpack(d) for e, d in con.execute(read).fetchall()}
    finally:
        store.close()
    assert len(after) == len(before) > 1000 and after == before
    assert max(inserts) == 100 and sum(inserts) == len(after)
