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
    (5_788_501, "2048MB", 7, 18),  # the 10M run's enterprise members under the default limit
    (577_605, "2048MB", 1, 2),     # the 1M store's, its share's members streamed (session 40)
    (577_605, "200MB", 7, 18),     # the 1M store at the 10M run's ratio of members to memory
    (2_000_000, "2048MB", 3, 7),
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

    def recorded(con, domain, scope, members, golden, part, *room):
        reads.append(members)
        return insert_sorted(con, domain, scope, members, golden, part, *room)

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


def _rebuilt(store, monkeypatch, wrap):
    """The enterprise documents before and after a whole-domain build (committed) through `wrap(con)`."""
    from resolver.store.docs import unpack

    con = store._con
    read = "SELECT entity_id, doc FROM serving_docs WHERE domain = 'enterprise'"
    before = {e: unpack(d) for e, d in con.execute(read).fetchall()}
    con.execute("BEGIN TRANSACTION")
    con.execute("CREATE TEMP TABLE doc_scope AS SELECT entity_id FROM entities WHERE domain = 'enterprise'")
    docs.refresh(wrap(con), "enterprise", "doc_scope", keep=False, narrow=False, limit="512MB")
    con.execute("DROP TABLE doc_scope")
    con.execute("COMMIT")
    return before, {e: unpack(d) for e, d in con.execute(read).fetchall()}


class _Watched:
    """A connection whose relations record how they are read (`reads`: the members' ones, " x.m ")
    and the memory limit each read ran under (`limits`)."""

    def __init__(self, con):
        self.con, self.reads, self.limits = con, [], []

    def sql(self, query):
        rel, watched = self.con.sql(query), self

        class Rel:
            def to_arrow_table(self):
                watched._seen(query, "table", None)
                return rel.to_arrow_table()

            def to_arrow_reader(self, rows):
                watched._seen(query, "stream", rows)
                return rel.to_arrow_reader(rows)
        return Rel()

    def _seen(self, query, how, rows):
        if " x.m " in query:
            self.reads.append((how, rows))
        self.limits.append(self.con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])

    def __getattr__(self, name):
        return getattr(self.con, name)


def test_a_whole_domain_builds_members_are_streamed_a_few_rows_at_a_time(demo_copy, monkeypatch):
    """One share at 1M records held the share's members' text whole in Python (~0.8 GB) beside
    DuckDB's limit: the members' sorted read is taken `STREAM_ROWS` at a time, each `STREAM_CHUNK`
    of documents packed once its members have arrived, and the documents are the same."""
    from resolver.store import open_store

    store = open_store(demo_copy("doc_shares_stream"))
    monkeypatch.setattr(docs, "STREAM_ROWS", 50)
    monkeypatch.setattr(docs, "STREAM_CHUNK", 20)  # many chunks, cut wherever the batches end
    watched: list[_Watched] = []
    try:
        before, after = _rebuilt(store, monkeypatch, lambda con: watched.append(_Watched(con)) or watched[0])
    finally:
        store.close()
    assert len(after) == len(before) > 1000 and after == before
    reads = watched[0].reads
    assert reads == [("stream", 50)]


def test_a_whole_domain_build_lowers_duckdbs_limit_by_what_python_holds_and_sets_it_back(demo_copy, monkeypatch):
    """DuckDB fills its memory limit and Python's share of text comes on top: during a share DuckDB's
    limit is the given one less Python's share (`_room`), and after it the given one again, exactly
    (not DuckDB's rounded display of it: 2048MB shows as 1.9 GiB, and setting that gives 1.8 GiB)."""
    from resolver.store import open_store

    store = open_store(demo_copy("doc_shares_limit"))
    watched: list[_Watched] = []
    try:
        store._con.execute("SET memory_limit = '512MB'")
        given = store._con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
        before, after = _rebuilt(store, monkeypatch, lambda con: watched.append(_Watched(con)) or watched[0])
        after_limit = store._con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    finally:
        store.close()
    assert after == before
    lowered = {v for v in watched[0].limits if v != given}
    assert lowered and all(float(v.split()[0]) < float(given.split()[0]) for v in lowered)
    assert after_limit == given
