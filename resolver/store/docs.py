"""Serving documents: one JSON text per entity (entity row, golden values with lineage, member
source records, conflicts), kept by the store in `serving_docs` beside the tables it is built
from. A look-up by master ID is then one indexed point read of one column: reading the
same facts from their own tables took a dozen point reads of wide rows (~12 ms at 1M
records; DuckDB decompresses a vector per column per read) against ~0.5 ms for the document.

Documents hold unmasked values; masking happens when they are shown (resolver.lookup.entity).
A member is its records row as the answers read it (format 2): columns holding null are left
out, so are `record_hash` and `row_number` (no answer reads them), and `file` is the file's
name without the loading machine's folders. Readers take a missing key as null; documents of
format 1 (every column, full path) read the same.
The store rewrites the documents of every entity a write touches, inside the write's own
transaction (`refresh`), so they never disagree with the tables.

Stored packed (schema v6, `pack`): LZ4 (raw block) after the text's length, 2.8× smaller than
the text, ~6 µs a document to pack and ~3 µs to unpack. Uncompressed text made the 1M store file
4 GB and the server's documents in memory 4.6 GB; DuckDB's own string compression cost 16 CPU s
per 100k documents at each checkpoint, zlib level 1 45 µs a document for 3.5×.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from itertools import chain
from typing import Any

import duckdb
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
from duckdb.func import ARROW

from resolver.store import described, doc_json
from resolver.store.golden import NewRows, OldRows, new_tables, write_new
from resolver.store.points import few_ids, in_scope, literal_in

TABLE = "serving_docs"
# The documents a scoped refresh wrote, kept to the end of its transaction (Store.transaction
# drops it): the server's listener reads them back from here, not from the whole table (one
# scan of it was ~0.4 s for the ~3k documents of a 2,000-record write at 1M records).
FRESH = "docs_written"
# The temp copy of a scoped refresh's members' records (the records table's columns).
RECORDS = "doc_records"
# The packed text (`pack`), which DuckDB does not try to compress again: its own analysis of the
# text at each checkpoint was the 16 CPU s per 100k documents.
COLUMNS = "entity_id VARCHAR PRIMARY KEY, domain VARCHAR, doc BLOB USING COMPRESSION uncompressed"
CREATE = f"CREATE TABLE IF NOT EXISTS {TABLE} ({COLUMNS})"
# Bytes of DuckDB's memory limit per member one share of a whole-domain build gathers (see
# `refresh`). Measured at 5.8M members: a member's JSON is ~1.3 KB, and a share's statement held
# ~1.7 KB per member in hash tables DuckDB cannot spill (string_agg of the members, the golden
# values' lists), beside the temp tables and indexes of the save: 2 KB failed under 2 GB.
BYTES_PER_MEMBER = 6144
# The same for the sorted build (`_insert_sorted`, the default), whose sorts spill: what DuckDB needs
# for a member of a share (its members' text sorted, ~1.4 KB at 1M records, and the save's state beside
# it). Under 200 MB at 1M records (the 10M run's ratio of members to memory) 7 shares passed (2.4 KB
# a member); lowered to 112-120 MiB, 9-10 shares (2.2 KB) did not. 1 share at 1M under the 2 GB
# default, 7 at 10M (session 39's 4 KB cut 2 and 12, the SQL's rule above 2 and 18; docs/scale.md,
# session 40).
SORTED_BYTES_PER_MEMBER = 2304
# What Python holds of a whole-domain share beside DuckDB (`_streamed_chunks`: its golden values'
# text and packed documents, ~0.6 + 0.7 KB a member at 1M records): DuckDB's limit is lowered by it
# for the share where the share needs less than the limit (`_room`).
SORTED_PYTHON_BYTES_PER_MEMBER = 1280
_UNITS = {"KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40, "KB": 10**3, "MB": 10**6, "GB": 10**9,
          "TB": 10**12, "bytes": 1}
# The SQL function that packs document text (registered for the database by `register_pack`).
PACK = "resolver_pack_doc"
_CODEC = pa.Codec("lz4_raw")
# A scoped refresh of more than a few documents updates them in place (`refresh`; off: deleted and inserted).
IN_PLACE = True
# A write's documents of a few entities are built in Python (`_refresh_few`; off: by the SQL).
IN_PYTHON = True
# A whole-domain build's shares are cut into documents in Arrow from sorted rows (`_insert_sorted`; off: by the SQL).
SORTED = True
# ... and so are a write's documents of more than a few entities (`_fresh_sorted`; off: by the SQL).
SORTED_SCOPED = True
# A write's documents of more than a few entities read its neighbourhood's records as they are
# (off: copied to `RECORDS` first), and are handed to its listeners from Python (off: read back from `FRESH`).
NARROW_HOOD = True
HANDED = True
# ... and write to golden_values and conflicts only the new rows of entities whose golden values
# or conflicts differ from their stored document's (`refresh`'s `golden_pending`; off: every entity's diffed).
GOLDEN_BY_DOCS = True
# ... and hand golden.write_new the old rows of the entities that differ, as the documents list them
# (off: their rows fetched whole from the tables).
GOLDEN_ROWS_FROM_DOCS = True
# ... and take the JSON of the members the write did not rewrite from their stored documents
# (`_member_texts`; off: every member's written by the SQL).
REUSE_MEMBERS = True
# A whole-domain sorted build's members' read tests the scope too (off: the share's heads alone do).
SCOPE_IN_MEMBERS = False
# ... lowers DuckDB's memory limit by what Python holds for a share (`_lowered`; off: leaves it).
LOWER = True


def pack(text: str | bytes) -> bytes:
    """A document as stored: its UTF-8 length (4 bytes, little-endian), then the LZ4 block."""
    data = text.encode() if isinstance(text, str) else text
    return len(data).to_bytes(4, "little") + _CODEC.compress(data, asbytes=True)


def unpack(blob: bytes | memoryview) -> bytes:
    """The UTF-8 JSON text of a stored document (orjson parses the bytes as they are)."""
    view = memoryview(blob)
    size = int.from_bytes(view[:4], "little")
    return bytes(_CODEC.decompress(view[4:], decompressed_size=size, asbytes=True))


def _pack_column(texts: pa.Array) -> pa.Array:
    return _pack_all(texts.cast(pa.binary()).to_pylist())


def _pack_all(texts: list[bytes]) -> pa.Array:
    compress = _CODEC.compress
    return pa.array([len(b).to_bytes(4, "little") + compress(b, asbytes=True) for b in texts], pa.binary())


def register_pack(con: duckdb.DuckDBPyConnection) -> None:
    """Make `PACK(text)` callable in the SQL of every connection to this database. Call it outside
    any transaction (the store does when it opens): one registered in a transaction that rolls
    back is gone from DuckDB's catalog, yet the connection refuses to register it again."""
    found = con.execute("SELECT count(*) FROM duckdb_functions() WHERE function_name = ?", [PACK]).fetchall()
    if not found[0][0]:
        con.create_function(PACK, _pack_column, ["varchar"], "blob", type=ARROW)


def _iso(expr: str, with_zone: bool) -> str:
    """A timestamp as ISO 8601 text, as Python's isoformat writes it (UTC when it has a zone)."""
    if with_zone:
        return f"strftime(timezone('UTC', {expr}), '%Y-%m-%dT%H:%M:%S.%f') || '+00:00'"
    return f"strftime({expr}, '%Y-%m-%dT%H:%M:%S.%f')"


# Columns of a records table no answer reads (resolver.lookup.entity shows neither).
_LEFT_OUT = ("record_hash", "row_number")



def _record_select(con: duckdb.DuckDBPyConnection, table: str) -> tuple[str, list[str]]:
    """SELECT of the records table as documents hold it: timestamps as ISO text, NaN as null,
    `file` as the file's name, the columns of `_LEFT_OUT` left out; and the names of its columns
    (the table's but those left out, in its order: REPLACE keeps a column's place)."""
    replaced, dropped, kept = [], [], []
    for name, ctype in described.columns(con, table):
        quoted = f'"{name}"'
        if name in _LEFT_OUT:
            dropped.append(quoted)
            continue
        kept.append(name)
        if name == "file":
            replaced.append(f"regexp_extract({quoted}, '[^/\\\\]*$') AS {quoted}")
        elif ctype.startswith("TIMESTAMP"):
            replaced.append(f"{_iso(quoted, 'TIME ZONE' in ctype)} AS {quoted}")
        elif ctype == "DOUBLE":  # pandas' missing number arrives as NaN, which JSON has no word for
            replaced.append(f'CASE WHEN isnan("{name}") THEN NULL ELSE "{name}" END AS "{name}"')
    star = "*" + (f" EXCLUDE ({', '.join(dropped)})" if dropped else "")
    star += f" REPLACE ({', '.join(replaced)})" if replaced else ""
    return f"SELECT {star} FROM {table}", kept


def _share(column: str, part: tuple[int, int]) -> str:
    """The condition that keeps share i of n of the rows (by `column`'s hash); none for one share
    (alone, an in_scope condition lets DuckDB use the index)."""
    return f" AND hash({column}) % {int(part[1])} = {int(part[0])}" if part[1] > 1 else ""


def _member_json(con: duckdb.DuckDBPyConnection, domain: str, table: str, membership: str,
                 scope: str | None, part: tuple[int, int] = (0, 1)) -> str:
    """SELECT entity_id, m: each member's JSON text (its row with `since`, null keys left out),
    of the entities of share `part` (see `_docs_sql`).
    Kept as text and spliced into the document as text: casting it to JSON parses it again,
    and that parser's buffers do not spill (out of memory under 64 MB on the sample)."""
    only = (f"AND {in_scope(con, 'mb.entity_id', scope)}" if scope else "") + _share("mb.entity_id", part)
    select, columns = _record_select(con, table)
    return (f"SELECT mb.entity_id, {_member_row(columns)} AS m FROM {membership} mb JOIN ({select}) r "
            f"USING (unique_id) WHERE mb.domain = '{domain}' {only}")


def _member_row(columns: list[str]) -> str:
    """SQL: a member's JSON text from `r` (a row of `_record_select`) and `mb` (its membership row)."""
    # One JSON object per row, each column as DuckDB's to_json writes it (the same text as
    # to_json of the row), `since` last; concat_ws skips the null ones. Stripping `"x":null`
    # from to_json(row) with a regular expression cost 3× the CPU.
    pairs = [f"""'"{c}":' || to_json(r."{c}")""" for c in columns]
    pairs.append(f"""'"since":' || to_json({_iso('mb.since', False)})""")
    return f"'{{' || concat_ws(',', {', '.join(pairs)}) || '}}'"


def _docs_sql(con: duckdb.DuckDBPyConnection, domain: str, scope: str | None,
              members: str | None, golden: tuple[str, str] = ("golden_values", "conflicts"),
              part: tuple[int, int] = (0, 1)) -> str:
    """SELECT entity_id, domain, doc for the domain's entities (those in table `scope` if given).
    `members` names a table of (entity_id, m) from `_member_json` (None: the domain has no
    records table), `golden` the tables of golden values and conflicts read; `part` (i, n): only
    the entities whose ID hashes to i of n."""
    def only(column: str) -> str:
        return (f"AND {in_scope(con, column, scope)}" if scope else "") + _share(column, part)

    # Members and golden values in a fixed order: without one the aggregates kept the order
    # DuckDB's threads and the rows' physical order gave them, and the same facts were stored as
    # different text. Members sorted by their text, which begins with their source and source
    # record ID (the records table's first columns; answers list members in that order too).
    # list_sort after the aggregate: 2-6 % more CPU for a whole domain's documents at 1M
    # records; an ORDER BY inside string_agg and list cost ~40 % (docs/store.md).
    m = (f"SELECT entity_id, array_to_string(list_sort(list(m)), ',') AS members FROM {members} WHERE true {only('entity_id')} "
         "GROUP BY entity_id" if members
         else "SELECT NULL::VARCHAR AS entity_id, NULL::VARCHAR AS members LIMIT 0")
    return f"""
        WITH m AS ({m}),
        -- golden values by field, value, source, record, rule (a struct sorts by its fields in order)
        g AS (SELECT entity_id, list_sort(list({{'field': field, 'value': value, 'source': source,
                     'source_record_id': source_record_id, 'rule': rule}})) AS golden
              FROM {golden[0]} WHERE domain = '{domain}' {only('entity_id')} GROUP BY entity_id),
        -- conflicts in a fixed order: the table's order follows a hash aggregate's, and the rows'
        -- physical order, which a full resolution's SQL master IDs do not keep
        c AS (SELECT entity_id, list({{'field': field, 'value': value, 'source': source,
                     'source_record_id': source_record_id}} ORDER BY field, value, source, source_record_id) AS conflicts
              FROM {golden[1]} WHERE domain = '{domain}' {only('entity_id')} GROUP BY entity_id)
        SELECT e.entity_id, e.domain, {PACK}(left(to_json({{
            'entity_id': e.entity_id, 'size': e.size, 'created_at': {_iso('e.created_at', False)},
            'updated_at': {_iso('e.updated_at', False)}, 'model_version': e.model_version, 'active': e.active,
            'golden': coalesce(g.golden, []), 'conflicts': coalesce(c.conflicts, [])}})::VARCHAR, -1)
            || ',"members":[' || coalesce(m.members, '') || ']}}') AS doc
        FROM entities e LEFT JOIN m USING (entity_id) LEFT JOIN g USING (entity_id) LEFT JOIN c USING (entity_id)
        WHERE {in_scope(con, 'e.entity_id', scope) if scope else f"e.domain = '{domain}'"}{_share('e.entity_id', part)}"""


def _shares(con: duckdb.DuckDBPyConnection, domain: str, membership: str, scope: str | None) -> int:
    """How many statements a build of the domain's documents (those of `scope`) is cut into."""
    return max(1, -(-_member_count(con, domain, membership, scope) // members_per_statement(con)))


def _member_count(con: duckdb.DuckDBPyConnection, domain: str, membership: str, scope: str | None) -> int:
    """How many members the domain's entities (those of `scope`) have."""
    only = f"AND {in_scope(con, 'entity_id', scope)}" if scope else ""
    return int(con.execute(f"SELECT count(*) FROM {membership} WHERE domain = ? {only}", [domain]).fetchall()[0][0])


def _room(con: duckdb.DuckDBPyConnection, domain: str, membership: str, scope: str | None, parts: int,
          limit: str | None) -> tuple[int, int] | None:
    """(the limit's bytes, DuckDB's limit while one of `parts` shares is built: the limit less what
    Python holds for it, but not less than the share needs) for `_lowered`; None without a plain
    `limit` (the connection's own as set: DuckDB shows its setting rounded)."""
    total = _limit_bytes(limit) if limit else None
    if total is None:
        return None
    share = -(-_member_count(con, domain, membership, scope) // parts)
    return total, min(total, max(total - share * SORTED_PYTHON_BYTES_PER_MEMBER, share * SORTED_BYTES_PER_MEMBER))


def members_per_statement(con: duckdb.DuckDBPyConnection) -> int:
    """How many members' JSON one statement (one share) may gather under the connection's memory limit."""
    number, unit = str(con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]).split()
    per = SORTED_BYTES_PER_MEMBER if SORTED else BYTES_PER_MEMBER
    return max(10_000, int(float(number) * _UNITS.get(unit, 2**30)) // per)


def refresh(con: duckdb.DuckDBPyConnection, domain: str, scope: str | None = None, *,
            records: str | None = None, golden: tuple[str, str] | NewRows | None = None, keep: bool = True,
            narrow: bool = True, golden_pending: bool = False, limit: str | None = None) -> dict[str, Found | None] | None:
    """Rewrite the documents of the domain's entities (only those listed in table `scope` if given).

    Call inside the transaction that changed them. `domain`, `scope` and the table names are
    the store's own (never caller text): they are spliced into the SQL. A scoped refresh reads
    the scope's members first and then only their records: joining the whole records table
    cost ~0.2 s a write at 1M records whatever the scope. `records` may name a table holding
    every member's record (the incremental path's neighbourhood) and `golden` the tables of
    the scope's new golden values and conflicts (resolver.store.golden.build_golden), read
    instead of the store's whole tables, or those rows themselves (`NewRows`, as build_golden's
    `picked` gives them). Without `keep` a scoped refresh writes its documents
    straight to the table and not also to `FRESH` (nobody listens to the file: for 100k
    entities the copy was ~600 MB of text written twice). Without `narrow` a scoped refresh
    joins the whole records table instead of copying the scope's records first (a full
    resolution's scope is most of the domain).

    With `golden_pending` the new golden rows (the tables `golden`, from build_golden's `defer`)
    are not yet in golden_values and conflicts: refresh writes them (golden.write_new), and
    where it builds many documents from sorted rows only those of the entities whose golden
    values or conflicts differ from their old document's (`GOLDEN_BY_DOCS`): a group commit of
    2,000 records changes those of ~60 of its ~2,000 entities, and finding the old rows of all of
    them was a scan of golden_values' 4.3M rows at 1M records (~0.3 CPU s).

    `limit` is the connection's memory limit as it was set (e.g. `2048MB`): a whole-domain build
    lowers it by what Python holds for a share while it builds the share (`_lowered`), and sets it back.

    Returns the scope's documents (None where an entity has none) when it built them in Python
    (`_refresh_few`, `_fresh_sorted`), for the write's listeners; None otherwise (they are in `FRESH`).
    """
    if IN_PYTHON and keep and scope and records and golden:
        few = _refresh_few(con, domain, scope, records, golden)
        if few is not None:
            if golden_pending:
                write_new(con, scope)
            return few
    if isinstance(golden, list):  # the SQL below reads them from tables
        new_tables(con, *golden)
        try:
            return refresh(con, domain, scope, records=records, golden=("golden_new", "conflicts_new"), keep=keep,
                           narrow=narrow)
        finally:
            con.execute("DROP TABLE golden_new")
            con.execute("DROP TABLE conflicts_new")
    con.execute(CREATE)
    con.execute(f"DROP TABLE IF EXISTS {FRESH}")  # only the last refresh's are kept, the others are in TABLE
    # Many documents are rewritten in place: a deleted row costs DuckDB a fetch of it at the
    # COMMIT to take it out of the entity_id index (~0.05-0.1 s for 2,000 documents at 1M
    # records); an update of the document column leaves the index alone.
    in_place = bool(IN_PLACE and keep and scope and few_ids(con, scope) is None)
    if not in_place:
        con.execute(f"DELETE FROM {TABLE} WHERE " + (in_scope(con, 'entity_id', scope) if scope else "domain = ?"),
                    [] if scope else [domain])
    table = records or f"records_{domain}"
    tables = golden or ("golden_values", "conflicts")
    has_records = described.knows(con, table) or bool(con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [table]).fetchall()[0][0])
    by_docs = bool(golden_pending and GOLDEN_BY_DOCS and SORTED_SCOPED and keep and scope and has_records)
    if golden_pending and not by_docs:
        write_new(con, scope or "")
    members = None
    narrow = bool(narrow and has_records)
    # A write's own neighbourhood (`records`) is joined as it is: copying its members' rows first
    # cost ~0.5 s for 100k entities (an ingest's bulk refresh) and ~45 ms for a group commit's
    # 9k members, and saved nothing. (Off, `NARROW_HOOD`: a scoped refresh that keeps its documents copies.)
    copy = not (records and (NARROW_HOOD or not keep))
    if narrow and scope:
        con.execute(f"CREATE OR REPLACE TEMP TABLE doc_members AS SELECT * FROM membership "
                    f"WHERE {in_scope(con, 'entity_id', scope)}")
        if copy:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {RECORDS} AS SELECT * FROM {table} "
                        "WHERE unique_id IN (SELECT unique_id FROM doc_members)")
    source = ((RECORDS if copy else table), "doc_members") if narrow and scope else (table, "membership")
    # A scoped write keeping its documents (a server listens) is a few entities: one share.
    # Otherwise one share per `members_per_statement` members, by entity ID hash: their JSON
    # text gathered per entity by string_agg is state DuckDB cannot spill (out of memory under
    # the 2 GB default at 5.8M members in one statement, and still in shares of 1M); built
    # sorted (`_insert_sorted`), the sorts spill and a share is sized by the text Python holds.
    parts = 1 if keep and scope else _shares(con, domain, source[1], scope)
    # the whole-domain sorted build's lowered limit, the same for every share
    room = _room(con, domain, source[1], scope, parts, limit) if SORTED and not (keep and scope) else None
    made = None
    for i in range(parts):
        if SORTED_SCOPED and keep and scope and has_records:
            # a write's many entities (a group commit, 2,000): the per-entity list_sort
            # aggregates were ~60 % of its documents' SQL
            made = _fresh_sorted(con, domain, scope, _member_json(con, domain, *source, scope), tables, in_place,
                                 by_docs, source if REUSE_MEMBERS and records else None)
            continue
        if SORTED and not (keep and scope):
            # The scope reaches the members through the share's heads (`_sorted_chunks`): tested
            # here too, it was a hash join built on the members' whole record rows, which ran out
            # of memory in shares of ~100k members under 300 MB (docs/scale.md, session 39).
            _insert_sorted(con, domain, scope, _member_json(con, domain, *source, scope if SCOPE_IN_MEMBERS else None,
                                                            (i, parts)) if has_records else None, tables, (i, parts),
                           room)
            continue
        if has_records:
            # The members' JSON first, then one list per entity: DuckDB runs the join and the
            # aggregate of one statement side by side and could not spill that pair (out of
            # memory under 128 MB on the committed sample); each statement alone spills. Per
            # share: all of it at once was a 7.5 GB temp table at 5.8M members, rescanned per share.
            con.execute(f"CREATE OR REPLACE TEMP TABLE doc_member_json AS "
                        f"{_member_json(con, domain, *source, scope, (i, parts))}")
            members = "doc_member_json"
        if keep and scope:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {FRESH} AS {_docs_sql(con, domain, scope, members, tables)}")
            _write_fresh(con, in_place)
        else:
            con.execute(f"INSERT INTO {TABLE} {_docs_sql(con, domain, scope, members, tables, (i, parts))}")
    for temp in ("doc_member_json", "doc_records", "doc_members"):
        con.execute(f"DROP TABLE IF EXISTS {temp}")
    return made


Runs = tuple[pa.Array, np.ndarray]  # texts sorted by their entity's number, and where each entity's begin


def _runs(con: duckdb.DuckDBPyConnection, sql: str, n: int) -> Runs:
    """The texts `t` of `sql`'s rows, sorted by the number `n` of their entity (0..n-1), and
    where each entity's run of them begins (n + 1 positions: entity k's are starts[k]:starts[k+1])."""
    got = con.sql(sql).to_arrow_table()
    chunks = got.column("t").chunks
    texts = (chunks[0] if len(chunks) == 1 else
             pa.concat_arrays([c.cast(pa.large_string()) for c in chunks]) if chunks else pa.array([], pa.string()))
    return texts, np.searchsorted(got.column("n").to_numpy(), np.arange(n + 1))


def _joined(runs: Runs, a: int, b: int) -> pa.Array:
    """Per entity a..b-1, its texts of `runs` joined by commas."""
    texts, starts = runs
    at = starts[a:b + 1]
    lists = pa.LargeListArray.from_arrays(pa.array(at - at[0], pa.int64()), texts.slice(at[0], at[-1] - at[0]))
    return pc.binary_join(lists, pa.scalar(",", texts.type)).cast(pa.large_string())


# Documents joined and packed this many at a time: all of a share's text at once held its
# members' text twice more (4.7 GB peak RSS at 1M records against 2.3 GB for the SQL).
CHUNK = 8192


def _fresh_sorted(con: duckdb.DuckDBPyConnection, domain: str, scope: str, members: str,
                  golden: tuple[str, str], in_place: bool, golden_pending: bool = False,
                  reuse: tuple[str, str] | None = None) -> dict[str, Found | None] | None:
    """A scoped refresh's documents built as `_insert_sorted` builds them, kept in `FRESH` and
    written to the table (`_write_fresh`); returned for the write's listeners (with `HANDED`:
    reading them back from `FRESH` and unpacking them was ~15-25 ms for 2,000 documents).
    With `golden_pending`, the new golden rows are written first (`_write_golden_by_docs`).
    With `reuse` (the write's records table and the scope's membership rows), the members a
    write did not rewrite are taken from the stored documents (`_member_texts`), not written again."""
    texts: list[bytes] | None = [] if HANDED else None
    sections: list[list[Any]] | None = [[], [], []] if golden_pending else None
    old = _old_docs(con, scope) if golden_pending or reuse else {}
    given = _member_texts(con, domain, *reuse, old) if reuse else None
    built = _built_sorted(con, domain, scope, members if given is None else given, golden, (0, 1), texts, sections)
    if sections is not None:
        _write_golden_by_docs(con, scope, sections, old)
    con.register("doc_fresh_arrow", built)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {FRESH} AS SELECT * FROM doc_fresh_arrow")
    finally:
        con.unregister("doc_fresh_arrow")
    _write_fresh(con, in_place)
    if texts is None:
        return None
    return dict(zip(built.column("entity_id").to_pylist(),
                    zip(built.column("domain").to_pylist(), texts, strict=True), strict=True))


def _old_docs(con: duckdb.DuckDBPyConnection, scope: str) -> dict[str, bytes]:
    """The scope's stored documents (their text), read before the refresh rewrites them."""
    return {e: unpack(d) for e, d in con.execute(
        f"SELECT entity_id, doc FROM {TABLE} WHERE {in_scope(con, 'entity_id', scope)}").fetchall()}


def _member_texts(con: duckdb.DuckDBPyConnection, domain: str, table: str, membership: str,
                  old: dict[str, bytes]) -> dict[str, bytes] | None:
    """Entity ID → its members' JSON (of `membership`, the scope's rows) as `_member_json`
    writes it, sorted and joined by commas (entities with members only),
    where the members the transaction did not write are cut out of the entity's stored document:
    in a group commit of 2,000 records ~7,000 of its ~9,100 members.

    A row written by this transaction is stamped with its start, now() (`since`, `ingested_at`:
    the incremental path, whose neighbourhood `table` is); the others are as the stored document
    shows them, since the documents are rewritten with the tables in every write. An entity's
    unwritten members are all in its document (they were its members before): when the document
    holds as many members, they are those; otherwise each is found by its unique_id, and those
    not found are written by the SQL. None (nothing done) where `table` has no `ingested_at` or
    has a column whose JSON may nest an object (the cut relies on flat members)."""
    columns = described.columns(con, table)
    stamp = dict(columns).get("ingested_at", "")
    if not stamp.startswith("TIMESTAMP") or any(t not in doc_json.TYPES for _, t in columns):
        return None
    select, names = _record_select(con, table)
    now = "now()" if "TIME ZONE" in stamp else "now()::TIMESTAMP"
    # the members as they were (not written by this transaction), and the others' JSON
    unwritten = f"coalesce(mb.since < now()::TIMESTAMP AND s.ingested_at < {now}, false)"
    stamped = (f"(SELECT mb.entity_id, mb.unique_id, mb.since, {unwritten} AS was FROM {membership} mb "
               f"JOIN (SELECT unique_id, ingested_at FROM {table}) s USING (unique_id) WHERE mb.domain = '{domain}')")
    kept: dict[str, list[str]] = {}
    for entity, unique_id in con.execute(f"SELECT entity_id, unique_id FROM {stamped} WHERE was").fetchall():
        kept.setdefault(entity, []).append(unique_id)
    written = con.sql(f"SELECT mb.entity_id, {_member_row(names)} AS m FROM {stamped} mb JOIN ({select} WHERE "
                      f"unique_id IN (SELECT unique_id FROM {stamped} WHERE NOT was)) r USING (unique_id) "
                      "WHERE NOT mb.was").to_arrow_table()
    members: dict[str, list[bytes]] = {}
    for entity, text in zip(written.column("entity_id").to_pylist(),
                            written.column("m").cast(pa.large_binary()).to_pylist(), strict=True):
        members.setdefault(entity, []).append(text)
    missing: list[str] = []
    for entity, ids in kept.items():
        pieces = _member_pieces(old.get(entity))
        if len(pieces) != len(ids):  # (a member left, or no document): by unique_id
            by_id = _cut_members(old.get(entity))
            pieces = [by_id[u] for u in ids if u in by_id]
            missing += [u for u in ids if u not in by_id]
        members.setdefault(entity, []).extend(pieces)
    if missing:  # (no stored document, or not in it: written as the SQL writes it)
        for entity, text in con.execute(
                f"SELECT mb.entity_id, {_member_row(names)} FROM {membership} mb JOIN ({select}) r USING (unique_id) "
                f"WHERE mb.domain = '{domain}' AND mb.unique_id IN (SELECT unnest(?::VARCHAR[]))", [missing]).fetchall():
            members[entity].append(text.encode())
    return {entity: b",".join(sorted(texts)) for entity, texts in members.items()}


_MEMBERS_AT = b'],"members":['
Joined = dict[str, bytes]  # entity ID → its members' JSON texts, sorted and joined (`_member_texts`)
_UNIQUE_ID = b'"unique_id":"'


def _member_pieces(doc: bytes | None) -> list[bytes]:
    """The members' JSON texts of a stored document. A member is a flat object (no value of
    `doc_json.TYPES` nests one), and inside a JSON string a quote is always escaped: `},{"` is a
    boundary between two members, or the end of a string value holding `},{`, where its quote is
    followed by one of `,:]}` (a key begins with a letter)."""
    at = doc.find(_MEMBERS_AT) if doc else -1
    if doc is None or at < 0 or not doc.endswith(b"]}") or at + len(_MEMBERS_AT) == len(doc) - 2:
        return []
    pieces: list[bytes] = []
    for piece in doc[at + len(_MEMBERS_AT) + 2:-3].split(b'},{"'):
        if pieces and (not piece or piece[0] in b",:]}"):
            pieces[-1] += b'},{"' + piece
        else:
            pieces.append(piece)
    return [b'{"' + p + b"}" for p in pieces]


def _cut_members(doc: bytes | None) -> dict[str, bytes]:
    """unique_id → its member's JSON text in a stored document (`_member_pieces`): inside a JSON
    string a quote is always escaped, so `"unique_id":"` occurs only as that key."""
    found: dict[str, bytes] = {}
    for text in _member_pieces(doc):
        start = text.find(_UNIQUE_ID)
        if start < 0:
            continue
        start += len(_UNIQUE_ID)
        end = text.find(b'"', start)
        while end > 0 and _escaped(text, end):
            end = text.find(b'"', end + 1)
        if end < 0:
            continue
        key = text[start:end]
        found[orjson.loads(b'"' + key + b'"') if b"\\" in key else key.decode()] = text
    return found


def _escaped(text: bytes, at: int) -> bool:
    """Whether the character at `at` follows an odd run of backslashes."""
    n = at
    while n > 0 and text[n - 1] == 0x5C:
        n -= 1
    return (at - n) % 2 == 1


def _sections(doc: bytes) -> tuple[bytes, bytes] | None:
    """A document's golden values and conflicts as their JSON text (what is between the list's
    brackets), or None. The keys are found by their text: inside a JSON string a quote is
    always escaped, so `,"golden":[` and the like occur nowhere else."""
    g = doc.find(b',"golden":[')
    c = doc.find(b'],"conflicts":[', g)
    m = doc.find(b'],"members":[', c)
    return (doc[g + 11:c], doc[c + 15:m]) if g >= 0 and c >= 0 and m >= 0 else None


def _write_golden_by_docs(con: duckdb.DuckDBPyConnection, scope: str, sections: list[list[Any]],
                          old_docs: dict[str, bytes]) -> None:
    """golden.write_new for the entities whose new golden values or conflicts (`sections`:
    entity IDs, their golden values' and conflicts' text as the new documents hold them) differ
    from their stored document's (`old_docs`, read before it is rewritten; an entity without one differs).
    The documents are rewritten with the tables in each write, so equal text is equal rows."""
    ids, golden, conflicts = sections
    old = {e: _sections(d) for e, d in old_docs.items()}
    differ: tuple[list[str], list[str]] = ([], [])
    rows: tuple[OldRows, OldRows] = ({}, {})  # the differing entities' old rows, as their documents list them
    for entity, g, c in zip(ids, golden, conflicts, strict=True):
        was = old.get(entity)
        for n, text in enumerate((g, c)):
            if was is None or was[n] != text:
                differ[n].append(entity)
                if was is not None and GOLDEN_ROWS_FROM_DOCS:
                    rows[n][entity] = [tuple(v.values()) for v in orjson.loads(b"[" + was[n] + b"]")]
    write_new(con, scope, differ, rows)


def _write_fresh(con: duckdb.DuckDBPyConnection, in_place: bool) -> None:
    """The documents in `FRESH` into the table: updated in place (an entity's row is never
    deleted, so every document of the scope is in FRESH), or inserted after `refresh`'s delete."""
    if in_place:
        con.execute(f"UPDATE {TABLE} SET domain = f.domain, doc = f.doc FROM {FRESH} f "
                    f"WHERE {TABLE}.entity_id = f.entity_id")
        con.execute(f"INSERT OR IGNORE INTO {TABLE} SELECT * FROM {FRESH}")
    else:
        con.execute(f"INSERT INTO {TABLE} SELECT * FROM {FRESH}")


def _insert_sorted(con: duckdb.DuckDBPyConnection, domain: str, scope: str | None, members: str | None,
                   golden: tuple[str, str], part: tuple[int, int], room: tuple[int, int] | None = None) -> None:
    """`INSERT INTO TABLE` of a whole-domain share's documents (`_streamed_chunks`), under DuckDB's
    memory limit lowered by what Python holds meanwhile (`room`, from `_room`; see `_lowered`). Inserted
    once the members' stream has ended (a statement on the connection would end it). Not `register`
    and an INSERT: the view it names stays in the catalog to the end of the transaction, and with it
    every share's Arrow table."""
    with _lowered(con, room):
        chunks = _streamed_chunks(con, domain, scope, members, golden, part)
        if chunks:  # none for a share without entities
            con.from_arrow(pa.concat_tables(chunks)).insert_into(TABLE)


def _limit_bytes(limit: str) -> int | None:
    """Bytes of a memory limit as DuckDB reads it (`2048MB`, `4 GiB`, `1.5gb`), None if not plain."""
    found = re.fullmatch(r"\s*([0-9.]+)\s*([A-Za-z]*)\s*", limit)
    units = {u.lower(): v for u, v in {**_UNITS, "B": 1, "": 1}.items()}
    if not found or found.group(2).lower() not in units:
        return None
    return int(float(found.group(1)) * units[found.group(2).lower()])


@contextmanager
def _lowered(con: duckdb.DuckDBPyConnection, room: tuple[int, int] | None) -> Iterator[None]:
    """DuckDB's memory limit set to `room` = (limit, lowered) for the block and back to `limit`
    (bytes) after. DuckDB fills its limit (its buffers stay near it) and Python's text comes on top:
    one share at 1M records took a resolve to 4.27 GB (docs/scale.md, sessions 39-40)."""
    if room is None or not LOWER or room[1] >= room[0]:
        yield
        return
    limit, lowered = room
    con.execute(f"SET memory_limit = '{lowered}B'")
    try:
        yield
    except BaseException:
        # (an aborted transaction refuses the SET: the block's error is the one to see)
        with suppress(duckdb.Error):
            con.execute(f"SET memory_limit = '{limit}B'")
        raise
    con.execute(f"SET memory_limit = '{limit}B'")


# Rows of the members' sorted read Python takes at a time, and documents it packs at a time
# (`_streamed_chunks`): a chunk's text is built whole (8,192 documents: ~0.1 GB at 1M records).
STREAM_ROWS = 8192
STREAM_CHUNK = 2048


def _streamed_chunks(con: duckdb.DuckDBPyConnection, domain: str, scope: str | None, members: str | None,
                     golden: tuple[str, str], part: tuple[int, int]) -> list[pa.Table]:
    """`_sorted_chunks`' packed documents of a whole-domain share, with the members' sorted read
    streamed (`STREAM_ROWS` at a time) and each `STREAM_CHUNK` of documents packed as soon as its members
    have arrived: Python holds the share's golden values' text and packed documents (~1.3 KB a member
    at 1M records), not also its members' text (~1.4 KB a member, held whole by `_sorted_chunks`)."""
    if members is None:
        return list(_sorted_chunks(con, domain, scope, members, golden, part))
    heads, n, g, c = _heads_and_lists(con, domain, scope, golden, part)
    reader = con.sql(f"SELECT h.n, x.m AS t FROM ({members}) x JOIN doc_heads h USING (entity_id) "
                     "ORDER BY h.n, x.m").to_arrow_reader(STREAM_ROWS)
    made: list[pa.Table] = []
    numbers: list[np.ndarray] = []
    texts: list[pa.Array] = []
    a = done = 0
    for batch in chain(reader, [None]):  # None: the stream has ended
        if batch is not None and batch.num_rows:
            numbers.append(batch.column("n").to_numpy())
            texts.append(batch.column("t"))
            # the entities numbered below the last row's have all their members (rows sorted by it)
            done = int(numbers[-1][-1])
        while a < n and (a + STREAM_CHUNK <= done or batch is None):
            b = min(n, a + STREAM_CHUNK)
            number = np.concatenate(numbers) if numbers else np.zeros(0, np.int64)
            text = pa.concat_arrays(texts) if texts else pa.array([], pa.string())
            starts = np.searchsorted(number, np.arange(a, b + 1))
            m = (text.slice(0, starts[-1]), starts - starts[0])
            numbers, texts = [number[starts[-1]:]], [text.slice(starts[-1])]
            doc = _document_text(heads, a, b, _joined(g, a, b), _joined(c, a, b), _joined(m, 0, b - a))
            made.append(pa.table({"entity_id": heads.column("entity_id").slice(a, b - a),
                                  "domain": heads.column("domain").slice(a, b - a),
                                  "doc": _pack_all(doc.cast(pa.binary()).to_pylist())}))
            a = b
    con.execute("DROP TABLE doc_heads")
    return made


def _built_sorted(con: duckdb.DuckDBPyConnection, domain: str, scope: str | None, members: str | Joined | None,
                  golden: tuple[str, str], part: tuple[int, int], texts: list[bytes] | None = None,
                  sections: list[list[Any]] | None = None) -> pa.Table:
    """`_docs_sql(...)`'s rows of share `part` (`_sorted_chunks`) in one table."""
    return pa.concat_tables(list(_sorted_chunks(con, domain, scope, members, golden, part, texts, sections)))


def _heads_and_lists(con: duckdb.DuckDBPyConnection, domain: str, scope: str | None, golden: tuple[str, str],
                     part: tuple[int, int]) -> tuple[pa.Table, int, Runs, Runs]:
    """A sorted build's share: its entities numbered in temp table `doc_heads` (the caller drops it)
    with each document's head text, and the golden values' and conflicts' text as per-entity runs."""
    where = (in_scope(con, "e.entity_id", scope) if scope else f"e.domain = '{domain}'") + _share("e.entity_id", part)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE doc_heads AS SELECT row_number() OVER () - 1 AS n, e.entity_id,
        e.domain, left(to_json({{'entity_id': e.entity_id, 'size': e.size, 'created_at': {_iso('e.created_at', False)},
            'updated_at': {_iso('e.updated_at', False)}, 'model_version': e.model_version,
            'active': e.active}})::VARCHAR, -1) AS head FROM entities e WHERE {where}""")
    heads = con.sql("SELECT entity_id, domain, head FROM doc_heads ORDER BY n").to_arrow_table()
    n = heads.num_rows
    g = _runs(con, f"""SELECT h.n, to_json({{'field': field, 'value': value, 'source': source,
        'source_record_id': source_record_id, 'rule': rule}})::VARCHAR AS t FROM {golden[0]} JOIN doc_heads h
        USING (entity_id) WHERE {golden[0]}.domain = '{domain}' ORDER BY h.n, field, value, source, source_record_id, rule""", n)
    c = _runs(con, f"""SELECT h.n, to_json({{'field': field, 'value': value, 'source': source,
        'source_record_id': source_record_id}})::VARCHAR AS t FROM {golden[1]} JOIN doc_heads h
        USING (entity_id) WHERE {golden[1]}.domain = '{domain}' ORDER BY h.n, field, value, source, source_record_id""", n)
    return heads, n, g, c


def _document_text(heads: pa.Table, a: int, b: int, golden_text: pa.Array, conflict_text: pa.Array,
                   member_text: pa.Array) -> pa.Array:
    """Documents a..b of a share as text: the head, then the lists' joined runs."""
    pieces = [heads.column("head").slice(a, b - a).cast(pa.large_string()), ',"golden":[', golden_text,
              '],"conflicts":[', conflict_text, '],"members":[', member_text, "]}", ""]
    return pc.binary_join_element_wise(*[pa.scalar(p, pa.large_string()) if isinstance(p, str) else p
                                         for p in pieces])


def _sorted_chunks(con: duckdb.DuckDBPyConnection, domain: str, scope: str | None, members: str | Joined | None,
                   golden: tuple[str, str], part: tuple[int, int], texts: list[bytes] | None = None,
                   sections: list[list[Any]] | None = None) -> Iterator[pa.Table]:
    """`_docs_sql(...)`'s rows of share `part`, `CHUNK` at a time (their text also added to `texts`
    if given; their entity IDs, golden values' and conflicts' text to `sections`), the same text,
    built without its aggregates: the share's entities numbered, each list's rows read sorted by
    (number, what the SQL sorts by; nulls last as list_sort's), cut into per-entity runs and joined
    in Arrow. At 1M records the SQL's per-entity list_sort(list(...)) of members and golden values
    cost 17-20× the CPU of a 1/10 subset (docs/scale.md, session 35). The SQL runs when the first
    chunk is asked for."""
    heads, n, g, c = _heads_and_lists(con, domain, scope, golden, part)
    if isinstance(members, dict):  # each entity's members already joined (`_member_texts`): one text a run
        m = (pa.array([members.get(e, b"") for e in heads.column("entity_id").to_pylist()], pa.large_binary())
             .cast(pa.large_string()), np.arange(n + 1))
    else:
        m = _runs(con, f"SELECT h.n, x.m AS t FROM ({members}) x JOIN doc_heads h USING (entity_id) ORDER BY h.n, x.m"
                  if members else "SELECT 0 AS n, '' AS t LIMIT 0", n)
    con.execute("DROP TABLE doc_heads")
    if n == 0:
        yield pa.table({"entity_id": heads.column("entity_id"), "domain": heads.column("domain"),
                        "doc": pa.array([], pa.binary())})
    for a in range(0, n, CHUNK):
        b = min(n, a + CHUNK)
        golden_text, conflict_text = _joined(g, a, b), _joined(c, a, b)
        if sections is not None:
            sections[0] += heads.column("entity_id").slice(a, b - a).to_pylist()
            sections[1] += golden_text.cast(pa.large_binary()).to_pylist()
            sections[2] += conflict_text.cast(pa.large_binary()).to_pylist()
        text = _document_text(heads, a, b, golden_text, conflict_text, _joined(m, a, b))
        data = text.cast(pa.binary()).to_pylist()
        if texts is not None:
            texts += data
        yield pa.table({"entity_id": heads.column("entity_id").slice(a, b - a),
                        "domain": heads.column("domain").slice(a, b - a), "doc": _pack_all(data)})


def _refresh_few(con: duckdb.DuckDBPyConnection, domain: str, scope: str, records: str,
                 golden: tuple[str, str] | NewRows) -> dict[str, Found | None] | None:
    """`refresh` of a write's few entities (`scope`) whose members' records are all in the temp
    table `records` and whose new golden values and conflicts are in the tables `golden`: the
    same text as `_docs_sql`'s, written in Python (resolver.store.doc_json) from four plain
    reads; returns the scope's documents (None where an entity has none), which the write's
    listeners take from here rather than from a temp table (`FRESH`: ~5 ms of statements for
    one entity). None, with nothing written, where it cannot say the same: more than a few
    entities, a column type it does not write, a null that the SQL's sort would place."""
    ids = few_ids(con, scope)
    columns = described.columns(con, records) if ids else []
    if not ids or not columns or any(t not in doc_json.TYPES for _, t in columns):
        return None
    # the members, then their records: one join of the two cost twice the two reads (~13 ms against ~6)
    since = {u: (e, t) for u, e, d, t in con.execute(
        f"SELECT unique_id, entity_id, domain, {_iso('since', False)} FROM membership "
        f"WHERE {in_scope(con, 'entity_id', scope)}").fetchall() if d == domain}
    select, names = _record_select(con, records)
    cur = con.execute(f"{select} WHERE {literal_in('unique_id', sorted(since))}")
    if [d[0] for d in cur.description or []] != names:
        return None
    at = names.index("unique_id")
    members: dict[str, list[str]] = {}
    for row in cur.fetchall():
        entity, when = since[row[at]]
        pairs = [f'"{n}":{doc_json.value(v)}' for n, v in zip(names, row, strict=True) if v is not None]
        if when is not None:
            pairs.append(f'"since":{doc_json.text(when)}')
        members.setdefault(entity, []).append("{" + ",".join(pairs) + "}")
    values: dict[str, list[tuple[str, ...]]] = {}
    conflicts: dict[str, list[tuple[str, ...]]] = {}
    if isinstance(golden, list):  # the rows themselves (GOLDEN_COLUMNS), all of `domain`
        new = [("g", r[0], *r[2:]) for r in golden[0]] + [("c", r[0], *r[2:], None) for r in golden[1]]
    else:
        new = con.execute(
            f"SELECT 'g', entity_id, field, value, source, source_record_id, rule FROM {golden[0]} WHERE domain = $d "
            f"UNION ALL SELECT 'c', entity_id, field, value, source, source_record_id, NULL FROM {golden[1]} "
            "WHERE domain = $d", {"d": domain}).fetchall()
    for kind, entity, *rest in new:
        if any(v is None for v in (rest if kind == "g" else rest[:-1])):
            return None  # (where the SQL's sort puts a null is not worth copying)
        (values if kind == "g" else conflicts).setdefault(entity, []).append(tuple(rest))
    found = con.execute(f"SELECT entity_id, domain, size, {_iso('created_at', False)}, {_iso('updated_at', False)}, "
                        f"model_version, active FROM entities WHERE {in_scope(con, 'entity_id', scope)}").fetchall()
    written: list[tuple[str, str, bytes]] = []
    made: dict[str, Found | None] = dict.fromkeys(ids)
    for entity, entity_domain, size, created, updated, version, active in found:
        head = doc_json.obj([("entity_id", entity), ("size", size), ("created_at", created), ("updated_at", updated),
                             ("model_version", version), ("active", active)])[:-1]
        g = ",".join(doc_json.obj(list(zip(("field", "value", "source", "source_record_id", "rule"), v, strict=True)))
                     for v in sorted(values.get(entity, [])))
        c = ",".join(doc_json.obj(list(zip(("field", "value", "source", "source_record_id"), v[:4], strict=True)))
                     for v in sorted(conflicts.get(entity, [])))
        text = (f'{head},"golden":[{g}],"conflicts":[{c}],"members":['
                + ",".join(sorted(members.get(entity, []))) + "]}")
        written.append((entity, entity_domain, pack(text)))
        made[entity] = (entity_domain, text.encode())  # (what `unpack` gives back)
    con.execute(CREATE)
    # an earlier refresh of this transaction may have left its documents there: not this one's
    con.execute(f"DROP TABLE IF EXISTS {FRESH}")
    con.execute(f"DELETE FROM {TABLE} WHERE {in_scope(con, 'entity_id', scope)}")
    con.execute(f"INSERT INTO {TABLE} SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::BLOB[])",
                [[w[0] for w in written], [w[1] for w in written], [w[2] for w in written]])
    return made


Found = tuple[str, bytes]  # (domain, the document's UTF-8 JSON text)


def read(cur: duckdb.DuckDBPyConnection, entity_id: str) -> Found | None:
    """(domain, JSON document) of one master ID, or None."""
    rows = cur.execute(f"SELECT domain, doc FROM {TABLE} WHERE entity_id = ?", [entity_id]).fetchall()
    return (rows[0][0], unpack(rows[0][1])) if rows else None


# Point reads use the index (~1-5 ms each at 1M); a list uses none, so above this many IDs one
# scan of the table (0.6-1.4 s at 1M for 2.8k documents) is cheaper than the point reads.
POINT_READS_UP_TO = 200


def read_many(cur: duckdb.DuckDBPyConnection, entity_ids: list[str]) -> dict[str, Found | None]:
    """(domain, JSON document) of each master ID, None for those without one."""
    if len(entity_ids) <= POINT_READS_UP_TO:
        return {e: read(cur, e) for e in entity_ids}
    found: dict[str, Found | None] = dict.fromkeys(entity_ids)
    rows = cur.execute(f"SELECT entity_id, domain, doc FROM {TABLE} WHERE entity_id IN (SELECT unnest(?))",
                       [entity_ids]).fetchall()
    found.update((e, (d, unpack(doc))) for e, d, doc in rows)
    return found


def read_written(cur: duckdb.DuckDBPyConnection, entity_ids: list[str]) -> dict[str, Found | None]:
    """`read_many` for the writing transaction (`cur` its connection): the documents its last
    refresh wrote come from that refresh's temp table, the others from the store's table."""
    found: dict[str, Found | None] = {}
    if cur.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = ?", [FRESH]).fetchall()[0][0]:
        rows = cur.execute(f"SELECT entity_id, domain, doc FROM {FRESH} WHERE entity_id IN (SELECT unnest(?))",
                           [entity_ids]).fetchall()
        found = {e: (d, unpack(doc)) for e, d, doc in rows}
    rest = [e for e in entity_ids if e not in found]
    return {**found, **read_many(cur, rest)} if rest else found
