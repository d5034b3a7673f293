"""Table columns a writer already knows, so that its statements do not ask DuckDB again: a
one-record write described the same records table five times (the table, the incoming
records, the neighbourhood's temp copy twice, the documents' copy and their SELECT), ~1-2 ms
each. Known only inside `known` (one transaction: nothing alters the table meanwhile)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

Columns = list[tuple[str, str]]  # (name, DuckDB type) in the table's order

# (id of a connection, table) → its columns, while a writer says it knows them
_known: dict[tuple[int, str], Columns] = {}


@contextmanager
def known(con: duckdb.DuckDBPyConnection, tables: dict[str, Columns]) -> Iterator[None]:
    """While inside, `columns(con, table)` answers for `tables` from what is given (an empty
    list: not known)."""
    keys = [(id(con), t) for t, cols in tables.items() if cols]
    for k in keys:
        _known[k] = list(tables[k[1]])
    try:
        yield
    finally:
        for k in keys:
            _known.pop(k, None)


def knows(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether `table`'s columns are known (so it exists)."""
    return (id(con), table) in _known


def columns(con: duckdb.DuckDBPyConnection, table: str) -> Columns:
    """(name, type) of each column of `table` (the store's own name): known, or DESCRIBEd."""
    given = _known.get((id(con), table))
    if given is not None:
        return given
    return [(r[0], r[1]) for r in con.execute(f"DESCRIBE {table}").fetchall()]
