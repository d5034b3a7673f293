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
    (5_788_501, "2048MB", 9, 18),  # the 10M run's enterprise members under the default limit
    (577_605, "2048MB", 1, 2),     # the 1M store's
    (577_605, "200MB", 9, 18),     # the 1M store at the 10M run's ratio of members to memory
])
def test_the_sorted_build_is_cut_into_fewer_shares_than_the_sql(members, limit, sorted_shares, sql_shares,
                                                               monkeypatch):
    assert docs.SORTED
    assert _shares(members, limit) == sorted_shares
    monkeypatch.setattr(docs, "SORTED", False)  # the string_agg SQL keeps its own rule
    assert _shares(members, limit) == sql_shares


def test_a_small_limit_still_cuts_shares_of_at_least_ten_thousand_members():
    assert _shares(100_000, "16MB") == 10
