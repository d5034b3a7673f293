"""Filters on a few IDs written as literal lists: DuckDB uses an index only for constants, so
`entity_id IN (SELECT entity_id FROM scope)` scans the table (~40-70 ms for golden_values at 1M
records, for one entity) where `entity_id IN ('E1', 'E2')` is a point look-up (~1-3 ms) when the
column is indexed (the server indexes golden_values and conflicts, resolver.lookup.queries)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

# Above this many IDs the index look-ups cost what a scan costs (measured at 1M records: 50 IDs
# 20 ms, 500 IDs 70 ms, as the scan).
POINTS_UP_TO = 50


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# (id of a connection, scope table, column) → its distinct IDs, while a writer says it knows them
_known: dict[tuple[int, str, str], list[str]] = {}


@contextmanager
def known(con: duckdb.DuckDBPyConnection, scopes: dict[tuple[str, str], list[str]]) -> Iterator[None]:
    """While inside, `few_ids` on `con` answers for the (scope table, column)s of `scopes` from
    the IDs given (the writer made those tables from them) instead of asking DuckDB: an
    incremental write asked ~15 times, ~1-3 ms each."""
    keys = [(id(con), scope, column) for scope, column in scopes]
    for k, ids in zip(keys, scopes.values(), strict=True):
        distinct = set(ids)
        _known[k] = sorted(distinct) if len(distinct) <= POINTS_UP_TO else list(distinct)[:POINTS_UP_TO + 1]
    try:
        yield
    finally:
        for k in keys:
            _known.pop(k, None)


def few_ids(con: duckdb.DuckDBPyConnection, scope: str, scope_column: str = "entity_id") -> list[str] | None:
    """The distinct IDs in `scope_column` of table (or subquery) `scope`, or None when there
    are more than POINTS_UP_TO."""
    given = _known.get((id(con), scope, scope_column))
    if given is not None:
        return None if len(given) > POINTS_UP_TO else given
    ids = [r[0] for r in con.execute(f"SELECT DISTINCT {scope_column} FROM {scope} LIMIT {POINTS_UP_TO + 1}").fetchall()]
    return None if len(ids) > POINTS_UP_TO else [str(i) for i in ids]


def literal_in(column: str, ids: list[str]) -> str:
    """SQL condition: `column` is one of `ids` (a literal list, "false" for none)."""
    return f"{column} IN ({', '.join(_literal(i) for i in ids)})" if ids else "false"


def in_scope(con: duckdb.DuckDBPyConnection, column: str, scope: str, scope_column: str = "entity_id") -> str:
    """SQL condition: `column` is one of the IDs in `scope_column` of table (or subquery) `scope`
    (the store's own names): a literal list for a few IDs, a subquery otherwise. Alone in a
    WHERE it lets DuckDB use an index; ANDed with another condition it does not."""
    ids = few_ids(con, scope, scope_column)
    if ids is None:
        return f"{column} IN (SELECT {scope_column} FROM {scope})"
    if not ids:
        return "false"
    return f"{column} IN ({', '.join(_literal(i) for i in ids)})"
