"""Turn standardized source records into the one DuckDB table Splink reads.

Blocking keys are precomputed as columns here so that every key is *bounded*: a value
shared by more than ``max_block_size`` records (an agency phone, 王伟 as legal
representative, the `*` name of unnamed individual businesses) produces no candidate
pairs at all instead of a quadratic block. The caps are data, in blocking.yaml.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Protocol

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

_counter = itertools.count()
# The SQL function that turns a blocking key's text into the integer Splink joins on (prepare_input).
KEY_HASH = "hash"


class BlockingKey(Protocol):
    """What an engine reads of a bounded blocking key (resolver.linking.rules.BlockingKey): the
    engines sit below linking and never import it."""

    @property
    def name(self) -> str: ...
    @property
    def columns(self) -> list[str]: ...
    @property
    def max_block_size(self) -> int | None: ...
    @property
    def exclude_values(self) -> dict[str, list[Any]]: ...
    @property
    def key_column(self) -> str: ...


def connect(memory_limit: str = "6GB", threads: int = 2) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"SET memory_limit='{memory_limit}'")
    con.execute(f"SET threads={int(threads)}")
    con.execute("SET preserve_insertion_order=false")
    return con


def limit_session(con: duckdb.DuckDBPyConnection, memory_limit: str | None, spill_to: str | None) -> None:
    """Cap a linking session's DuckDB at `memory_limit` (None: leave it) and let it spill into
    the folder `spill_to` (DuckDB makes it, and removes its files at close). Scoring 10M records
    builds ~100M candidate pairs: without a cap and a place to spill that is RAM or a failure."""
    if memory_limit:
        con.execute(f"SET memory_limit='{memory_limit}'")
    if spill_to:
        con.execute("SET temp_directory=?", [spill_to])


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def key_expression(key: BlockingKey) -> str:
    """SQL for the raw key value: null when any part is null, empty or excluded."""
    parts = []
    conds = []
    for col in key.columns:
        part = f"nullif(CAST({_q(col)} AS VARCHAR), '')"
        parts.append(part)
        conds.append(f"{part} IS NOT NULL")
        excluded = key.exclude_values.get(col) or []
        if excluded:
            conds.append(f"{part} NOT IN ({', '.join(_lit(str(v)) for v in excluded)})")
    joined = " || '|' || ".join(parts)
    return f"CASE WHEN {' AND '.join(conds)} THEN {joined} END"


def to_arrow(frame: pd.DataFrame) -> pa.Table:
    """A records frame as Arrow with the store's column types (both engines read it)."""
    arrays: dict[str, pa.Array | pa.ChunkedArray] = {}
    for col in frame.columns:
        values = frame[col]
        if isinstance(values.dtype, pd.ArrowDtype):  # read from the store as Arrow: no copy
            arrays[col] = values.array.__arrow_array__()
            continue
        try:
            arrays[col] = pa.Array.from_pandas(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed lists / arrays of tokens
            arrays[col] = pa.array(
                [list(v) if isinstance(v, (list, tuple, np.ndarray)) else None for v in values],
                type=pa.list_(pa.string()))
    return pa.table(arrays)


@dataclass
class KeyStats:
    """What one blocking key yields on this data (our bounded blocking analysis)."""

    name: str
    records_keyed: int
    blocks: int
    blocks_over_cap: int
    records_over_cap: int
    pairs: int
    pairs_without_cap: int


def sample_ids_sql(relation: str, size: int, seed: int) -> str:
    """The unique_ids of a random sample of `size` records of `relation`: those whose MD5 of
    `<seed>:<unique_id>` is lowest. The same sample for a seed whatever the threads or the row
    order, and the same SQL runs on DuckDB and Spark (md5 and concat mean the same on both)."""
    return (f"SELECT unique_id FROM {relation} "
            f"ORDER BY md5(concat('{int(seed)}:', CAST(unique_id AS VARCHAR))) LIMIT {int(size)}")


def block_sizes_sql(relation: str, key: BlockingKey) -> str:
    """Each value of `key` on `relation` with the records that share it (v, c)."""
    expr = key_expression(key)
    return f"SELECT {expr} AS v, count(*) AS c FROM {relation} WHERE ({expr}) IS NOT NULL GROUP BY 1"


def key_stats_sql(sizes: str, cap: int | None, also: str = "") -> str:
    """One row over a key's block sizes (v, c) in the order of KeyStats' counts after `name`
    (then `also`, more aggregates over the same rows)."""
    ok = f"c <= {cap}" if cap else "true"
    return (f"SELECT coalesce(sum(c) FILTER (WHERE {ok}), 0), count(*) FILTER (WHERE {ok}), "
            f"count(*) FILTER (WHERE NOT ({ok})), coalesce(sum(c) FILTER (WHERE NOT ({ok})), 0), "
            f"coalesce(sum(c * (c - 1) // 2) FILTER (WHERE {ok}), 0), "
            f"coalesce(sum(c * (c - 1) // 2), 0){', ' + also if also else ''} FROM {sizes}")


def key_statistics(con: duckdb.DuckDBPyConnection, relation: str, keys: list[BlockingKey]
                   ) -> tuple[list[KeyStats], dict[str, list[str]]]:
    """What each key yields on `relation`, and the values over its cap: computed on every record
    when training reads a sample, so the sample's keys are capped as resolve caps them (a value
    shared by 50 records is over a cap of 20 even if only 10 of them were drawn)."""
    stats, over = [], {}
    for k in keys:
        cap = int(k.max_block_size) if k.max_block_size else None
        values = f"list(v) FILTER (WHERE c > {cap})" if cap else "NULL"  # one pass: counts and over-cap values
        row = con.execute(key_stats_sql(f"({block_sizes_sql(relation, k)})", cap, values)).fetchall()[0]
        stats.append(KeyStats(k.name, *(int(v) for v in row[:6])))
        if cap and row[2]:
            over[k.name] = list(row[6])
    return stats, over


def prepare_input(
    con: duckdb.DuckDBPyConnection,
    records: pd.DataFrame | str,
    columns: set[str],
    keys: list[BlockingKey],
    over_cap: dict[str, list[str]] | None = None,
) -> tuple[str, list[KeyStats]]:
    """Create a table with unique_id, the needed columns and one `_bk_*` column per key.

    A key column holds the 64-bit hash of the key's text (null stays null): Splink's blocking
    joins and its "not already blocked by an earlier key" tests compare integers instead of
    strings (~40 % of the blocked pairs' CPU). The hash is only used when it is one-to-one on the
    key's values here (checked on the distinct values); otherwise the key keeps its text. Either
    way the same records share a key value, so the candidate pairs are the same.

    `over_cap` (key name -> values): the values to null, measured on a larger set than `records`
    (key_statistics on every record, when `records` are a training sample); the statistics
    returned are still those of `records`."""
    n = next(_counter)
    src = records if isinstance(records, str) else f"_linking_src_{n}"
    if not isinstance(records, str):
        # hand DuckDB only the columns we read, as Arrow: object columns (raw rows, token
        # lists) are otherwise sniffed value by value
        wanted = [c for c in records.columns if c in columns or c in ("unique_id", "source")]
        con.register(src, to_arrow(records[wanted]))
    have = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()}
    keep = ["unique_id"] + sorted(c for c in columns if c in have and c != "unique_id")
    if "source" in have and "source" not in keep:
        keep.append("source")
    raw = f"_linking_raw_{n}"
    key_sql = [f"{key_expression(k)} AS {_q('_raw' + k.key_column)}" for k in keys]
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {raw} AS SELECT {', '.join(map(_q, keep))}"
        + "".join(f", {s}" for s in key_sql)
        + f" FROM {src}"
    )
    # one GROUP BY per key gives block sizes; values over the cap are nulled by a
    # hash anti-join (much cheaper than a window per key over the wide table)
    capped = []
    stats = []
    registered: list[str] = []
    for k in keys:
        rawcol = _q("_raw" + k.key_column)
        sizes = f"_linking_sizes_{n}_{k.name}"
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_q(sizes)} AS SELECT {rawcol} AS v, count(*) AS c "
                    f"FROM {raw} WHERE {rawcol} IS NOT NULL GROUP BY 1")
        cap = int(k.max_block_size) if k.max_block_size else None
        row = con.execute(key_stats_sql(_q(sizes), cap, f"count(DISTINCT {KEY_HASH}(v)) = count(*)")).fetchall()[0]
        stats.append(KeyStats(k.name, *(int(v) for v in row[:6])))
        value = f"{KEY_HASH}({rawcol})" if row[6] else rawcol  # no two values share a hash: integers
        if over_cap is not None and cap:
            # the larger set's over-cap values hold the sample's own (a block only shrinks in a sample)
            over = f"_linking_over_{n}_{k.name}"
            con.register(over, pa.table({"v": pa.array(over_cap.get(k.name) or [], pa.string())}))
            registered.append(over)
            capped.append(f"CASE WHEN {rawcol} NOT IN (SELECT v FROM {_q(over)}) "
                          f"THEN {value} END AS {_q(k.key_column)}")
        elif cap and row[2]:
            capped.append(f"CASE WHEN {rawcol} NOT IN (SELECT v FROM {_q(sizes)} WHERE c > {cap}) "
                          f"THEN {value} END AS {_q(k.key_column)}")
        else:  # hash(NULL) is not null
            capped.append(f"CASE WHEN {rawcol} IS NOT NULL THEN {value} END AS {_q(k.key_column)}")
    table = f"linking_input_{n}"
    con.execute(
        f"CREATE OR REPLACE TABLE {table} AS SELECT {', '.join(map(_q, keep))}"
        + "".join(f", {c}" for c in capped)
        + f" FROM {raw}"
    )
    for name in registered:
        con.unregister(name)
    for k in keys:
        con.execute(f"DROP TABLE {_q(f'_linking_sizes_{n}_{k.name}')}")
    con.execute(f"DROP TABLE {raw}")
    if not isinstance(records, str):
        con.unregister(src)
    return table, stats
