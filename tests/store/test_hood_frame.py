"""The neighbourhood's frame (resolver.store.neighbourhood.read) converted from Arrow is the frame
DuckDB's `.df()` makes, to the dtype and the kind of missing value."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from resolver.store import neighbourhood

SQL = ("SELECT * FROM (VALUES ('a', NULL::VARCHAR, ['x', 'y'], true, 1.5::DOUBLE, 1::BIGINT, NULL::VARCHAR[], NULL::BOOLEAN), "
       "(NULL, NULL, NULL, NULL, NULL, 2, NULL, NULL), ('', NULL, [], false, 2.0, 3, NULL, NULL)) "
       "t(text, all_null, tokens, flag, score, n, no_tokens, no_flag) ORDER BY n")


class _NoExecute:
    """A connection whose `execute` (and so `.df()`) fails: the frame must come from `sql`."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self._con = con

    def sql(self, query: str):
        return self._con.sql(query)

    def execute(self, *args, **kwargs):
        pytest.fail("the frame was read by execute(...).df()")


def test_the_frame_from_arrow_equals_dfs(monkeypatch):
    con = duckdb.connect()
    try:
        monkeypatch.setattr(neighbourhood, "ARROW_FRAME", False)
        theirs = neighbourhood.frame_of(con, SQL)
        monkeypatch.setattr(neighbourhood, "ARROW_FRAME", True)
        ours = neighbourhood.frame_of(_NoExecute(con), SQL)  # type: ignore[arg-type]
    finally:
        con.close()
    pd.testing.assert_frame_equal(ours, theirs, check_exact=True)
    assert list(ours.dtypes) == list(theirs.dtypes)
    assert theirs["all_null"].dtype == object and theirs["tokens"].isna().sum() == 1


def test_a_type_not_checked_is_read_by_df(monkeypatch):
    """A decimal (`.df()` makes it a float) or a date: `.df()` reads the frame, not Arrow."""
    con = duckdb.connect()
    try:
        sql = "SELECT 1.5 AS amount, DATE '2024-01-02' AS day, NULL::INTEGER AS gap"
        monkeypatch.setattr(neighbourhood, "ARROW_FRAME", False)
        theirs = neighbourhood.frame_of(con, sql)
        monkeypatch.setattr(neighbourhood, "ARROW_FRAME", True)
        pd.testing.assert_frame_equal(neighbourhood.frame_of(con, sql), theirs, check_exact=True)
    finally:
        con.close()
