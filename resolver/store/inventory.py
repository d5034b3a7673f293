"""The data inventory's SQL (resolver.inventory): per department and field, what the store holds.

Every figure is one aggregate query over `records_<domain>`, `membership` and `quarantine`, so
it runs in DuckDB at 1M records without a row reaching Python. Column names come from the
domain's schema and are checked with `safe_name` before they are spliced in.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

import duckdb
import pandas as pd

from resolver.store.reads import safe_name

if TYPE_CHECKING:
    from resolver.store.store import Store


class Queries:
    """The inventory's queries on a cursor of their own (read-only stores too: the work tables
    are temporary). Use in a `with`."""

    def __init__(self, store: Store):
        self._cur = store.cursor()

    def __enter__(self) -> Queries:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._cur.close()

    def table_columns(self, table: str) -> list[str]:
        return [r[0] for r in self._cur.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
            [table]).fetchall()]

    def field_profile(self, table: str, fields: list[tuple[str, str | None]]) -> pd.DataFrame:
        return field_profile(self._cur, table, fields)

    def quarantined(self, domain: str) -> pd.DataFrame:
        return quarantined(self._cur, domain)

    def overlaps(self, domain: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        return overlaps(self._cur, domain)

    def disagreements(self, domain: str, table: str, fields: dict[str, list[str]]) -> pd.DataFrame:
        return disagreements(self._cur, domain, table, fields)

    def record_dates(self, table: str, source: str, column: str | None, raw_column: str | None) -> pd.DataFrame:
        return record_dates(self._cur, table, source, column, raw_column)


def _q(column: str) -> str:
    return f'"{safe_name(column)}"'


def field_profile(cur: duckdb.DuckDBPyConnection, table: str, fields: list[tuple[str, str | None]]) -> pd.DataFrame:
    """One row per (source, field): records, filled (non-empty), distinct, checked (has a validity
    flag), valid. `fields` are (column, its validity column or None), present in `table`."""
    parts = []
    for i, (column, valid) in enumerate(fields):
        text = f"NULLIF(trim(CAST({_q(column)} AS VARCHAR)), '')"
        parts.append(f"count({text}) AS f{i}_filled, count(DISTINCT {text}) AS f{i}_distinct")
        if valid:
            parts.append(f"count({_q(valid)}) AS f{i}_checked, count(*) FILTER (WHERE {_q(valid)}) AS f{i}_valid")
    wide = cur.execute(f"SELECT source, count(*) AS records, {', '.join(parts)} FROM {safe_name(table)} "
                       "GROUP BY source ORDER BY source").df()
    rows = []
    for record in wide.to_dict("records"):
        for i, (column, valid) in enumerate(fields):
            rows.append({"source": record["source"], "field": column, "records": int(record["records"]),
                         "filled": int(record[f"f{i}_filled"]), "distinct": int(record[f"f{i}_distinct"]),
                         "checked": int(record[f"f{i}_checked"]) if valid else None,
                         "valid": int(record[f"f{i}_valid"]) if valid else None})
    return pd.DataFrame(rows, columns=["source", "field", "records", "filled", "distinct", "checked", "valid"])


def quarantined(cur: duckdb.DuckDBPyConnection, domain: str) -> pd.DataFrame:
    """source, quarantined rows (a row with several problems counts once)."""
    return cur.execute(
        "SELECT coalesce(source, '') AS source, count(DISTINCT (file, row_number)) AS quarantined "
        "FROM quarantine WHERE domain = ? GROUP BY ALL ORDER BY source", [domain]).df()


_SOURCE_ENTITIES = ("CREATE OR REPLACE TEMP TABLE inventory_source_entities AS "
                    "SELECT DISTINCT split_part(unique_id, ':', 1) AS source, entity_id FROM membership "
                    "WHERE domain = ?")


def overlaps(cur: duckdb.DuckDBPyConnection, domain: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(source, entities) and (source, other, shared): how many of a source's entities the
    other source also holds."""
    cur.execute(_SOURCE_ENTITIES, [domain])
    try:
        entities = cur.execute("SELECT source, count(*) AS entities FROM inventory_source_entities "
                               "GROUP BY source ORDER BY source").df()
        shared = cur.execute(
            "SELECT a.source, b.source AS other, count(*) AS shared FROM inventory_source_entities a "
            "JOIN inventory_source_entities b ON a.entity_id = b.entity_id AND a.source <> b.source "
            "GROUP BY ALL ORDER BY a.source, other").df()
    finally:
        cur.execute("DROP TABLE IF EXISTS inventory_source_entities")
    return entities, shared


def _compared(columns: list[str]) -> str:
    """One comparable text of a field from its columns (an address: district | road | number)."""
    texts = [f"coalesce(trim(CAST({_q(c)} AS VARCHAR)), '')" for c in columns]
    return f"NULLIF({' || chr(31) || '.join(texts)}, '{chr(31) * (len(columns) - 1)}')"


def disagreements(cur: duckdb.DuckDBPyConnection, domain: str, table: str, fields: dict[str, list[str]]) -> pd.DataFrame:
    """For each pair of sources (source < other) and field: `compared`, the entities both give a
    value for, and `disagree`, those where no value of one equals a value of the other. `fields`
    maps each field to the columns its value is compared on.

    No self-join: each (entity, field, value) gets the set of sources giving it as a bit mask,
    each (entity, field) the masks' union (who gives a value) and the set of source pairs that
    share a value (pairs as bits too, 64 a query); what is left is a count per distinct
    (field, pairs comparing, pairs agreeing), a few hundred rows, expanded here. At 1M records
    this took half the time of joining the values with themselves."""
    empty = pd.DataFrame(columns=["source", "other", "field", "compared", "disagree"])
    sources = [r[0] for r in cur.execute(f"SELECT DISTINCT source FROM {safe_name(table)} ORDER BY source").fetchall()]
    if not fields or len(sources) < 2:
        return empty
    if len(sources) > 128:  # a source is one bit of a 128-bit mask
        raise ValueError(f"{table}: {len(sources)} sources; the inventory compares at most 128")
    casts = ", ".join(f"{_compared(cols)} AS {_q(f)}" for f, cols in fields.items())
    cur.execute(
        "CREATE OR REPLACE TEMP TABLE inventory_values AS SELECT hash(m.entity_id, u.field) AS k, u.field, "
        "bit_or(CAST(1 AS UHUGEINT) << CAST(list_position($sources, u.source) - 1 AS UHUGEINT)) AS m "
        f"FROM (SELECT unique_id, source, {casts} FROM {safe_name(table)}) "
        f"UNPIVOT (value FOR field IN ({', '.join(_q(f) for f in fields)})) u "
        "JOIN membership m ON m.unique_id = u.unique_id GROUP BY hash(m.entity_id, u.field, u.value), k, u.field",
        {"sources": sources})
    counts: dict[tuple[str, str, str], list[int]] = {}
    pairs = [(a, b) for a in range(len(sources)) for b in range(a + 1, len(sources))]
    try:
        for start in range(0, len(pairs), 64):
            batch = pairs[start:start + 64]
            both = " | ".join(f"(CAST((m >> {a}) & (m >> {b}) & 1 AS UBIGINT) << {p})" for p, (a, b) in enumerate(batch))
            rows = cur.execute(
                f"SELECT field, {both} AS compared, agree, count(*) FROM (SELECT field, bit_or(m) AS m, "
                f"bit_or({both}) AS agree FROM inventory_values GROUP BY k, field) GROUP BY ALL").fetchall()
            for field, compared, agree, n in rows:
                for p, (a, b) in enumerate(batch):
                    if compared >> p & 1:
                        tally = counts.setdefault((sources[a], sources[b], field), [0, 0])
                        tally[0] += n
                        tally[1] += 0 if agree >> p & 1 else n
    finally:
        cur.execute("DROP TABLE IF EXISTS inventory_values")
    if not counts:
        return empty
    return pd.DataFrame([(a, b, f, c, d) for (a, b, f), (c, d) in sorted(counts.items())], columns=empty.columns)


def record_dates(cur: duckdb.DuckDBPyConnection, table: str, source: str, column: str | None,
                 raw_column: str | None) -> pd.DataFrame:
    """value, records: the distinct dates of one source's records, from a canonical `column`
    (ISO dates) or, when the date is not mapped, from the raw row's `raw_column` as written."""
    params: dict[str, object] = {"source": source}
    if column is not None:
        value = _q(column)
    else:
        value = "json_extract_string(raw, $path)"
        params["path"] = '$."' + str(raw_column).replace('"', '\\"') + '"'
    return cur.execute(f"SELECT v AS value, count(*) AS records FROM (SELECT {value} AS v FROM {safe_name(table)} "
                       "WHERE source = $source) WHERE v IS NOT NULL GROUP BY v", params).df()
