"""The one store interface. DuckDB file is the embedded default; every write is one transaction."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from resolver.domains import domain_names, is_domain, load_domains
from resolver.errors import NotFoundError
from resolver.laps import Laps
from resolver.paths import rules_dir
from resolver.readers import Rejection
from resolver.store import (
    bulk_link,
    commits,
    described,
    docs,
    ingest_runs,
    master_ids_sql,
    models,
    neighbourhood,
    points,
    review,
)
from resolver.store import relations as relation_tables
from resolver.store import write_plan as small_plans
from resolver.store.commits import Change
from resolver.store.golden import (
    NewRows,
    Survivorship,
    build_golden,
    load_survivorship,
    parse_survivorship,
)
from resolver.store.id_sets import member_of
from resolver.store.master_ids import assign_master_ids, prefix
from resolver.store.points import in_scope
from resolver.store.reads import Reader, safe_name
from resolver.store.schema import migrate

# neighbourhood(touched unique_ids, blocking keys, unique_ids found by the caller or None) → records
Neighbourhood = Callable[[list[str], list[Any], set[str] | None], pd.DataFrame]


@dataclass
class IngestCounts:
    """What one ingest did: rows read, new, updated, unchanged, quarantined (rows, not problems);
    for a file, `account` says where each of its lines went (resolver.ingest.Prepared.account)."""

    read: int = 0
    loaded: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    account: dict[str, Any] | None = None


@dataclass
class ResolutionSummary:
    """What one resolution changed in the master."""

    entities: int
    changed: int
    events: dict[str, int]
    relations: dict[str, int] = field(default_factory=dict)  # evidence rows per relation rebuilt


@dataclass
class _Plan:
    """A resolution ready to write: what `save_resolution` read and computed before its transaction."""

    domain: str
    model_version: str
    incremental: bool
    survivorship: Survivorship
    meta_key: str
    next_number: int
    rows: int
    has_pairs: bool
    changed: set[str]
    refreshed: set[str]
    entity_of: dict[str, str | None]  # records moved or touched → their entity (incremental only)
    events: pd.DataFrame
    frames: dict[str, pd.DataFrame]
    records: str | None = None  # a temp table holding every member's record (resolver.store.neighbourhood)
    members: dict[str, str] | None = None  # unique_id → entity of every row planned (small plans only)
    # small plans: the members and entities that have no row yet (inserted without OR IGNORE)
    inserted: tuple[list[str], list[str]] | None = None
    laps: Laps | None = None  # seconds per step of a full resolution's save
    stored_next: int | None = None  # small plans: the meta row's next number as read (None: no row)


def _members_of(plan: _Plan) -> dict[str, str]:
    """unique_id → entity of every row of a (large) plan: its `new_members`. (Reading them back
    from the membership after the commit cost ~0.7 s for 190k records at 1M.)"""
    new = plan.frames["new_members"]
    return dict(zip(new["unique_id"].tolist(), new["entity_id"].tolist(), strict=True))


def _ingest_views(domain: str, frame: pd.DataFrame, rejections: list[Rejection], file: str,
                  source: str | None) -> dict[str, pd.DataFrame]:
    """The frames an ingest registers for its transaction: the records and the quarantined rows.
    Records that carry a `file` column keep it (a group commit holds several calls' records)."""
    rejected = pd.DataFrame([{
        "domain": domain, "source": source, "file": r.file, "row_number": r.row_number,
        "field": r.field, "reason": r.reason, "raw": r.raw} for r in rejections],
        columns=["domain", "source", "file", "row_number", "field", "reason", "raw"])
    records = frame if "file" in frame.columns else frame.assign(file=file)
    return {"incoming_frame": records, "rejected": rejected}


def _arrow(frame: pd.DataFrame) -> pd.DataFrame | pa.Table:
    """A small frame to register, as an Arrow table (DuckDB's registration of a pandas frame
    inspects it column by column: ~2-9 ms for a plan's frame of one record, Arrow's ~1-2 ms with
    the conversion; pandas' NaN is null either way, tests/lookup/test_write_paths.py); as it is
    when Arrow cannot type a column (mixed values)."""
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return frame


def _few_views(views: dict[str, pd.DataFrame], rejections: list[Rejection]) -> dict[str, pd.DataFrame | pa.Table]:
    """`_ingest_views` of a write of a few records: the records as an Arrow table (`_arrow`;
    a frame of ~50 columns took ~11 ms to register through pandas, ~10 ms more to scan),
    and no quarantine view when nothing is rejected (nothing reads it)."""
    out: dict[str, pd.DataFrame | pa.Table] = {"incoming_frame": _arrow(views["incoming_frame"])}
    if rejections:
        out["rejected"] = views["rejected"]
    return out


def _plan_views(plan: _Plan) -> dict[str, pd.DataFrame | pa.Table]:
    """The frames an incremental plan registers for its writes. A small plan's (`plan.members`)
    go as Arrow tables, and its empty ones not at all: `_write_plan` sends no statement over an
    empty frame of an incremental plan (registering one through pandas cost ~5-7 ms), but for
    `new_pairs` when the pairs table is missing: its columns make the table (as pandas types
    them: Arrow would type an empty text column as null)."""
    if plan.members is None:
        return dict(plan.frames)
    return {name: _arrow(frame) if len(frame) else frame for name, frame in plan.frames.items()
            if len(frame) or name == "new_pairs"}


@lru_cache(maxsize=8)
def _numeric(rules_env: str | None) -> frozenset[str]:
    """Columns of `number` fields in any domain of the rules folder (read once per folder:
    scoring asks for every column of every match query)."""
    return frozenset().union(*(s.float_columns() for s in load_domains(rules_dir()).values()))


# Up to this many rows, "insert the rows not there yet" asks the primary key's index
# (INSERT OR IGNORE: ~5 ms for a few rows at 1M records, where an anti-join scanned the table
# in 50–100 ms); above it, one anti-join is faster (105 ms against 414 ms for 500k rows).
SMALL_WRITE = 10_000
# An incremental write of more than POINTS_UP_TO placed records hands its listeners the
# neighbourhood's copy of their rows (`Change.rows`); False: they read the records table (A/B).
ROWS_FROM_HOOD = True
# A group commit's records, members and entities known to have no row yet go in by a plain
# INSERT at any size: INSERT OR IGNORE checks every row against the table's indexes (2,000
# records at 1M: ~23 ms of CPU against ~8; the members' ~9,700 rows for ~2,000 missing). False:
# OR IGNORE as before (A/B).
PLAIN_INSERTS = True


def _insert_new(con: duckdb.DuckDBPyConnection, table: str, key: str, select: str, params: list[object],
                rows: int) -> None:
    """Insert the rows of `select` (no WHERE of its own) whose `key`, `table`'s primary key,
    is not in `table` yet; `rows` is about how many it yields (see SMALL_WRITE)."""
    if rows <= SMALL_WRITE:
        con.execute(f"INSERT OR IGNORE INTO {table} {select}", params)
    else:
        con.execute(f"INSERT INTO {table} {select} WHERE {key} NOT IN (SELECT {key} FROM {table})", params)


def _add_columns(con: duckdb.DuckDBPyConnection, table: str, have: described.Columns,
                 wanted: described.Columns) -> described.Columns:
    """Add to `table` (whose columns are `have`) the columns of `wanted` it lacks; its columns after."""
    known = {name for name, _ in have}
    added = [(name, ctype) for name, ctype in wanted if name not in known]
    for name, ctype in added:
        con.execute(f'ALTER TABLE {table} ADD COLUMN "{name}" {ctype}')
    return [*have, *added]


def _text_ids(clusters: pd.DataFrame) -> bool:
    """Whether cluster IDs are text (what clustering makes): the SQL path orders them as text."""
    return bool(len(clusters)) and pd.api.types.is_string_dtype(clusters["cluster_id"]) \
        and pd.api.types.is_string_dtype(clusters["unique_id"])


def column_type(name: str) -> str:
    """The store's type for a record column, fixed by name so every file agrees (docs/columns.md)."""
    if name.endswith("_valid"):
        return "BOOLEAN"
    if name in _numeric(os.environ.get("RESOLVER_RULES")):
        return "DOUBLE"
    if name == "row_number":
        return "BIGINT"
    if name.endswith("_tokens"):
        return "VARCHAR[]"
    return "VARCHAR"


def records_table(domain: str) -> str:
    """The table of `domain`'s source records: any domain with a schema in the rules folder."""
    if not is_domain(domain):
        raise NotFoundError(f"unknown domain '{domain}' (known: {', '.join(domain_names())})")
    return f"records_{domain}"


class Store:
    """A master store in one DuckDB file."""

    def __init__(self, path: str | Path, read_only: bool = False):
        self.path = str(path)
        self._con = duckdb.connect(self.path, read_only=read_only, config=_memory_config())
        self._lock = threading.Lock()
        self._key = commits.key(self.path)
        self._changes: dict[str, Change] = {}  # what the open transaction changed, per domain
        self._survivorship: dict[tuple[str, str], Survivorship] = {}
        if not read_only:
            docs.register_pack(self._con)  # before any transaction: see its docstring
            migrate(self._con, Path(self.path).resolve().parent)

    def close(self) -> None:
        self._con.close()

    def reader(self) -> Reader:
        """Named read queries (resolver.store.reads) on a cursor of their own: one per thread or
        request (a DuckDB connection is not thread-safe). Close it, or use it in a `with`."""
        return Reader(self.cursor())

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A raw cursor: for resolver.store itself, and for the modules whose SQL has not moved
        here yet (the allow-list in tests/store/test_store_boundary.py). Others use `reader()`."""
        with self._lock:
            return self._con.cursor()

    def add_indexes(self, columns: list[tuple[str, str]]) -> list[str]:
        """Create an index on each (table, column) not indexed yet; returns their names. Point
        look-ups need them (resolver.lookup.queries.ensure_indexes says which)."""
        names = []
        cur = self.cursor()
        try:
            for table, column in columns:
                name = f"lookup_{safe_name(table)}_{safe_name(column)}"
                cur.execute(f'CREATE INDEX IF NOT EXISTS {name} ON {table} ("{column}")')
                names.append(name)
        finally:
            cur.close()
        return names

    @contextmanager
    def transaction(self, **frames: pd.DataFrame | pa.Table) -> Iterator[duckdb.DuckDBPyConnection]:
        """All or nothing: a failure (or a kill) leaves the store as it was.

        `frames` are registered as views for the transaction's SQL; registration sits outside
        the transaction because an aborted transaction refuses even to unregister them.
        """
        for name, frame in frames.items():
            self._con.register(name, frame)
        try:
            self._con.execute("BEGIN TRANSACTION")
            self._changes = {}
            try:
                yield self._con
                # the listeners (a server's views) build from the transaction before it commits
                changes = list(self._changes.values())
                applies = commits.prepare(self._key, changes, Reader(self._con, owned=False))
                for table in sorted({c.rows for c in changes if c.rows}):  # read by the listeners
                    self._con.execute(f"DROP TABLE IF EXISTS {table}")
                self._con.execute(f"DROP TABLE IF EXISTS {docs.FRESH}")  # temp tables outlive the transaction
            except BaseException:
                self._changes = {}
                self._con.execute("ROLLBACK")
                raise
            self._changes = {}
            commits.commit(self._key, self._con, applies)
        finally:
            for name in frames:
                self._con.unregister(name)

    def _note(self, change: Change) -> None:
        """Record what the open transaction changed, for the file's listeners (resolver.store.commits)."""
        if change.domain in self._changes:
            self._changes[change.domain].add(change)
        else:
            self._changes[change.domain] = change

    def set_checkpoint_threshold(self, size: str) -> None:
        """DuckDB checkpoints at the commit that takes its log past `size` (e.g. "256MiB"; a
        setting of the database, so of every connection of this process)."""
        if not size.replace("MiB", "").replace("GiB", "").isdigit():
            raise ValueError(f"checkpoint threshold '{size}': a number of MiB or GiB")
        self._con.execute(f"SET checkpoint_threshold = '{size}'")

    @contextmanager
    def without_vacuum(self) -> Iterator[None]:
        """Checkpoints inside the block merge no row groups (DuckDB's `max_vacuum_tasks` 0, a
        setting of the database). A checkpoint otherwise also rewrites the partly filled row groups
        earlier writes left, when the new rows let them fit in fewer: the first 100k-record
        incremental ingest into the 1M master rewrote ~330k existing records at its COMMIT (11.6
        CPU s against 5.7 without; docs/store.md). Those merges are left to later checkpoints."""
        self._con.execute("SET max_vacuum_tasks = 0")
        try:
            yield
        finally:
            self._con.execute("RESET max_vacuum_tasks")

    def checkpoint(self, vacuum: bool = True) -> None:
        """Write the log into the database file now (DuckDB's CHECKPOINT; refused with a
        TransactionException while another connection's write is open). `vacuum=False`: merge no
        row groups this time (`without_vacuum`; the caller holds the writers off, the setting
        being the database's), the deleted rows' merges left to a later checkpoint."""
        cur = self.cursor()
        try:
            if vacuum:
                cur.execute("CHECKPOINT")
            else:
                cur.execute("SET max_vacuum_tasks = 0")
                try:
                    cur.execute("CHECKPOINT")
                finally:
                    cur.execute("RESET max_vacuum_tasks")
        finally:
            cur.close()

    def has_table(self, name: str) -> bool:
        rows = self._con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name]).fetchall()
        return bool(rows[0][0])

    # -- source records -------------------------------------------------------------------

    def ingest_frame(self, domain: str, frame: pd.DataFrame, rejections: list[Rejection],
                     file: str, source: str | None = None, account: dict[str, Any] | None = None) -> IngestCounts:
        """Upsert standardized records and quarantine rejected rows, in one transaction; `account`
        (where every line of the file went) is stored in `ingest_runs` in the same transaction."""
        with self.transaction(**_ingest_views(domain, frame, rejections, file, source)) as con:
            counts, _ = self._ingest_in(con, domain, frame, rejections, account)
        return counts

    def ingest_frames(self, domain: str, frames: Iterable[pd.DataFrame], file: str, source: str | None,
                      finish: Callable[[], tuple[list[Rejection], dict[str, Any] | None]]) -> IngestCounts:
        """`ingest_frame` for a file standardized in chunks (resolver.ingest): every chunk's records,
        then the rejected rows and the account that `finish()` gives once the chunks are read, all in
        ONE transaction; only one chunk is in memory at a time."""
        total = IngestCounts()
        last: pd.DataFrame | None = None
        try:
            with self.transaction() as con:
                for frame in frames:
                    for name, view in _ingest_views(domain, frame, [], file, source).items():
                        con.register(name, view)  # the previous chunk's view is replaced
                    counts, _ = self._ingest_in(con, domain, frame, [], None)
                    for name in ("read", "loaded", "updated", "unchanged"):
                        setattr(total, name, getattr(total, name) + getattr(counts, name))
                    last = frame.iloc[:0]
                rejections, account = finish()
                empty = last if last is not None else pd.DataFrame({"unique_id": pd.Series(dtype="object")})
                for name, view in _ingest_views(domain, empty, rejections, file, source).items():
                    con.register(name, view)
                counts, _ = self._ingest_in(con, domain, empty, rejections, account, earlier=total)
        finally:
            for name in ("incoming_frame", "rejected"):
                self._con.unregister(name)  # after the transaction: an aborted one refuses to unregister
        total.read += counts.read
        total.quarantined = counts.quarantined
        total.account = counts.account
        return total

    def ingest_and_resolve(self, domain: str, frame: pd.DataFrame, rejections: list[Rejection], file: str,
                           source: str, clusters: pd.DataFrame | None, model_version: str,
                           touched: list[str]) -> IngestCounts:
        """`ingest_frame` and an incremental `save_resolution` of `clusters` in ONE transaction: a
        kill between the two can leave no source record without its entity (POST /records)."""
        plan = None if clusters is None else \
            self._plan_resolution(domain, clusters, None, model_version, True, touched)
        views = _ingest_views(domain, frame, rejections, file, source) | (plan.frames if plan else {})
        with self.transaction(**views) as con:
            counts, _ = self._ingest_in(con, domain, frame, rejections, None)
            if plan is not None:
                self._write_resolution(con, plan)
        return counts

    def touched_ids(self, domain: str, records: pd.DataFrame) -> list[str]:
        """unique_ids of `records` (unique_id, record_hash) that are new or whose values changed."""
        table = records_table(domain)
        if not self.has_table(table):
            return list(records["unique_id"])
        if len(records) <= points.POINTS_UP_TO:  # a few: point reads, no transaction of its own
            ids = [str(u) for u in records["unique_id"].tolist()]
            cur = self.cursor()
            try:
                stored = dict(cur.execute(f"SELECT unique_id, record_hash FROM {table} "
                                          f"WHERE {points.literal_in('unique_id', ids)}").fetchall())
            finally:
                cur.close()
            # as the SQL below: new, or both hashes known and different
            return [u for u, h in zip(ids, records["record_hash"].tolist(), strict=True)
                    if u not in stored or (stored[u] is not None and h is not None and stored[u] != h)]
        with self.transaction(incoming_hashes=records[["unique_id", "record_hash"]]) as con:
            return neighbourhood.touched_ids(con, table)

    def search_neighbours(self, domain: str, touched: list[str], keys: list[Any]) -> set[str]:
        """The records sharing a blocking key value (of `keys`, within its cap) with one of
        `touched`, as the incremental path's store search finds them (resolver.store.neighbourhood)."""
        with self.transaction(touched_ids=pd.DataFrame({"unique_id": touched}, dtype="object")) as con:
            neighbourhood.search(con, records_table(domain), keys)
            found = {r[0] for r in con.execute("SELECT unique_id FROM hood").fetchall()}
            con.execute("DROP TABLE hood")
        return found

    def ingest_and_link(self, domain: str, frame: pd.DataFrame, rejections: list[Rejection], file: str,
                        source: str, account: dict[str, Any] | None, model_version: str,
                        link: Callable[[Any], tuple[pd.DataFrame, pd.DataFrame, list[str]] | None],
                        earlier: IngestCounts | None = None, *, bulk: bool = False,
                        placed: dict[str, str] | None = None,
                        before_commit: Callable[[], None] | None = None) -> IngestCounts:
        """Ingest, then `link(neighbourhood)`, then save that incremental resolution: all in ONE
        transaction (`resolver ingest --incremental`). `link` reads the new records through
        `neighbourhood(touched, blocking_keys, found)` (resolver.store.neighbourhood.read, inside
        the same transaction), or with `bulk` through a resolver.store.bulk_link.BulkNeighbourhood,
        and returns clusters, pairs and touched ids, or None. `earlier`: what the file's earlier
        chunks stored, counted in its `account`. The documents of entities whose records changed
        are written by the resolution (it refreshes every touched record's entity), not by the
        ingest as well. `placed`, when given, receives unique_id → entity of every record the
        resolution placed (its plan's members: the membership holds them after the commit), saving
        a read after it. `before_commit` is called once the writes are done, just before the
        COMMIT (`placed` is filled by then); it must not use the store."""
        registered: list[str] = []
        table = records_table(domain)
        views = _ingest_views(domain, frame, rejections, file, source)
        if len(frame) <= points.POINTS_UP_TO:
            views = _few_views(views, rejections)
        try:
            with self.transaction(**views) as con:
                columns: described.Columns = []
                with points.known(con, {("incoming", "unique_id"): [str(u) for u in frame["unique_id"].tolist()]}):
                    counts, _ = self._ingest_in(con, domain, frame, rejections, account, earlier, refresh_docs=False,
                                                columns=columns)
                hood = bulk_link.BulkNeighbourhood(con, table) if bulk else partial(neighbourhood.read, con, domain, table)
                # the neighbourhood's and the documents' copies of the records have the table's columns
                with described.known(con, {table: columns, neighbourhood.RECORDS: columns, docs.RECORDS: columns}):
                    linked = link(hood)
                    plan = None
                    if linked is not None:
                        clusters, pairs, touched = linked
                        plan = self._plan_resolution(domain, clusters, pairs, model_version, True, touched)
                        plan.records = neighbourhood.RECORDS
                        for name, view in _plan_views(plan).items():
                            con.register(name, view)
                            registered.append(name)
                        self._write_resolution(con, plan)
                        if placed is not None:
                            placed.update(plan.members if plan.members is not None else _members_of(plan))
                        if not bulk and ROWS_FROM_HOOD and len(plan.entity_of) > points.POINTS_UP_TO:
                            # every record it placed is in the neighbourhood's copy: the listeners read
                            # them there (a read of the records table took ~60-90 ms for 2,000 at 1M);
                            # the transaction drops it after them
                            self._note(Change(domain, records={}, rows=neighbourhood.RECORDS))
                if not self._changes.get(domain, Change(domain)).rows:
                    con.execute(f"DROP TABLE IF EXISTS {neighbourhood.RECORDS}")
                if isinstance(hood, bulk_link.BulkNeighbourhood):
                    hood.close()
                if before_commit is not None:
                    before_commit()
        finally:
            for name in registered:  # after the transaction: an aborted one refuses to unregister
                self._con.unregister(name)
        return counts

    def _ingest_in(self, con: duckdb.DuckDBPyConnection, domain: str, frame: pd.DataFrame,
                   rejections: list[Rejection], account: dict[str, Any] | None,
                   earlier: IngestCounts | None = None, refresh_docs: bool = True,
                   columns: described.Columns | None = None) -> tuple[IngestCounts, list[str]]:
        """The writes of `ingest_frame`, inside the caller's transaction (views from `_ingest_views`);
        without `refresh_docs` the caller rewrites the documents of the replaced records' entities.
        `columns`, when given, receives the records table's columns (name, type) as the write leaves them."""
        table = records_table(domain)
        quarantined = len({(r.file, r.row_number) for r in rejections})
        counts = IngestCounts(read=len(frame) + quarantined, quarantined=quarantined)
        # the columns of `incoming_frame` (_ingest_views adds `file` when the frame has none)
        names = [*frame.columns, *([] if "file" in frame.columns else ["file"])]
        casts = ", ".join(f'TRY_CAST("{n}" AS {column_type(n)}) AS "{n}"' for n in names)
        if not refresh_docs and self._ingest_few(con, domain, frame, names, casts, counts, columns):
            self._account(con, domain, counts, rejections, account, earlier)
            return counts, []
        # cast once: the statements below read it six times, and each read of a view over the
        # frame scanned and cast every column again (~5-30 ms each, even for one record)
        con.execute(f"CREATE OR REPLACE TEMP TABLE incoming AS SELECT {casts} FROM incoming_frame")
        self._ensure_columns(con, table)
        # the records new or replaced, for the file's listeners (too many to list: the whole domain's)
        # The stored hashes of the incoming records, read once (by primary key for a few records,
        # resolver.store.points; each join of the records table cost ~5-20 ms at 1M records).
        con.execute(f"CREATE OR REPLACE TEMP TABLE incoming_known AS SELECT unique_id, record_hash FROM {table} "
                    f"WHERE {in_scope(con, 'unique_id', 'incoming', 'unique_id')}")
        stored: dict[str, str | None] | None = {} if len(frame) <= SMALL_WRITE else None
        if stored is not None and commits.listening(self._key):
            stored = dict.fromkeys(r[0] for r in con.execute(
                "SELECT i.unique_id FROM incoming i LEFT JOIN incoming_known t USING (unique_id) "
                "WHERE i.record_hash IS DISTINCT FROM t.record_hash").fetchall())
        counts.unchanged, counts.updated, known = con.execute(
            "SELECT count(*) FILTER (WHERE i.record_hash = t.record_hash), "
            "count(*) FILTER (WHERE i.record_hash <> t.record_hash), count(*) "
            "FROM incoming i JOIN incoming_known t USING (unique_id)").fetchall()[0]
        con.execute(
            "CREATE OR REPLACE TEMP TABLE replaced_ids AS SELECT i.unique_id FROM incoming i "
            "JOIN incoming_known t USING (unique_id) WHERE i.record_hash <> t.record_hash")
        con.execute("DROP TABLE incoming_known")
        if counts.updated:  # (two statements of ~2 ms that change nothing otherwise)
            replaced = in_scope(con, "unique_id", "replaced_ids", "unique_id")
            con.execute(
                f"INSERT INTO record_history SELECT unique_id, ?, record_hash, raw, file, ingested_at, now() "
                f"FROM {table} WHERE {replaced}", [domain])
            con.execute(f"DELETE FROM {table} WHERE {replaced}")
        select = "BY NAME SELECT i.*, now() AS ingested_at FROM incoming i"
        if PLAIN_INSERTS and known == counts.updated and len(frame) <= SMALL_WRITE and frame["unique_id"].is_unique:
            con.execute(f"INSERT INTO {table} {select}")  # none stored but the replaced, deleted above
        else:
            _insert_new(con, table, "unique_id", select, [], len(frame))
        counts.loaded = len(frame) - counts.unchanged - counts.updated
        rewritten: list[str] = []
        if counts.updated and refresh_docs:  # members shown in their entities' documents changed
            con.execute("CREATE OR REPLACE TEMP TABLE doc_scope AS SELECT DISTINCT entity_id FROM membership "
                        "WHERE unique_id IN (SELECT unique_id FROM replaced_ids)")
            docs.refresh(con, domain, "doc_scope")
            rewritten = [r[0] for r in con.execute("SELECT entity_id FROM doc_scope").fetchall()]
            con.execute("DROP TABLE doc_scope")
        con.execute("DROP TABLE replaced_ids")
        self._note(Change(domain, docs=set(rewritten), records=stored))
        con.execute("DROP TABLE incoming")
        self._account(con, domain, counts, rejections, account, earlier)
        if columns is not None:
            columns += described.columns(con, table)
        return counts, rewritten

    def _ingest_few(self, con: duckdb.DuckDBPyConnection, domain: str, frame: pd.DataFrame, names: list[str],
                    casts: str, counts: IngestCounts, columns: described.Columns | None) -> bool:
        """`_ingest_in`'s records for a write of a few (POST /records), when the records table
        exists and their IDs are distinct: the stored hashes read once by ID and compared here,
        the records inserted straight from the frame, cast as `incoming` casts them (the temp
        table `incoming` and the five statements over it cost ~25 ms of a one-record write).
        False (nothing done) otherwise: the caller takes the general path."""
        table = records_table(domain)
        ids = [str(u) for u in frame["unique_id"].tolist()]
        hashes = frame["record_hash"].tolist() if "record_hash" in frame.columns else []
        if (len(ids) > points.POINTS_UP_TO or len(set(ids)) != len(ids) or len(hashes) != len(ids)
                or not all(isinstance(h, str) for h in hashes) or not self.has_table(table)):
            return False
        # (`incoming`'s type of a column, in the general path, is its cast's)
        have = _add_columns(con, table, described.columns(con, table), [(n, column_type(n)) for n in names])
        stored = dict(con.execute(f"SELECT unique_id, record_hash FROM {table} "
                                  f"WHERE {points.literal_in('unique_id', ids)}").fetchall())
        # as the SQL of the general path: unchanged and updated when both hashes are known
        counts.unchanged = sum(1 for u, h in zip(ids, hashes, strict=True) if stored.get(u) == h)
        replaced = [u for u, h in zip(ids, hashes, strict=True) if stored.get(u) not in (None, h)]
        counts.updated = len(replaced)
        replaced_set = set(replaced)
        if replaced:
            con.execute(f"INSERT INTO record_history SELECT unique_id, ?, record_hash, raw, file, ingested_at, now() "
                        f"FROM {table} WHERE {points.literal_in('unique_id', replaced)}", [domain])
            con.execute(f"DELETE FROM {table} WHERE {points.literal_in('unique_id', replaced)}")
        # the new and the replaced (deleted above) records, by a plain INSERT: OR IGNORE checked
        # every row against the table's eleven indexes (~15 ms for one record, against ~8 ms)
        insert = [u for u in ids if u not in stored or u in replaced_set]
        if insert:
            only = "" if len(insert) == len(ids) else f" WHERE {points.literal_in('unique_id', insert)}"
            con.execute(f"INSERT INTO {table} BY NAME SELECT {casts}, now() AS ingested_at FROM incoming_frame{only}")
        counts.loaded = len(frame) - counts.unchanged - counts.updated
        # for the file's listeners: the records whose hash is not the stored one (or that are new)
        listened = dict.fromkeys(u for u, h in zip(ids, hashes, strict=True) if u not in stored or stored[u] != h) \
            if commits.listening(self._key) else {}
        self._note(Change(domain, docs=set(), records=listened))
        if columns is not None:
            columns += have
        return True

    def _account(self, con: duckdb.DuckDBPyConnection, domain: str, counts: IngestCounts,
                 rejections: list[Rejection], account: dict[str, Any] | None, earlier: IngestCounts | None) -> None:
        """The rest of `_ingest_in`: the quarantined rows and the file's account."""
        # The same file quarantined twice keeps one row per problem.
        if rejections:
            con.execute(
                "INSERT INTO quarantine (domain, source, file, row_number, field, reason, raw, quarantined_at) "
                "SELECT r.domain, r.source, r.file, r.row_number, r.field, r.reason, r.raw, now() "
                "FROM rejected r WHERE NOT EXISTS (SELECT 1 FROM quarantine q WHERE q.file = r.file "
                "AND q.row_number = r.row_number AND q.reason = r.reason AND q.raw = r.raw)")
        if account is not None:
            before = earlier or IngestCounts()
            counts.account = {**account, "new": counts.loaded + before.loaded,
                              "updated": counts.updated + before.updated,
                              "unchanged": counts.unchanged + before.unchanged}
            ingest_runs.record(con, domain, counts.account)

    def _ensure_columns(self, con: duckdb.DuckDBPyConnection, table: str) -> None:
        if not self.has_table(table):
            con.execute(f"CREATE TABLE {table} AS SELECT *, now() AS ingested_at FROM incoming LIMIT 0")
            con.execute(f"ALTER TABLE {table} ADD PRIMARY KEY (unique_id)")
            return
        _add_columns(con, table, described.columns(con, table),
                     [(r[0], r[1]) for r in con.execute("DESCRIBE incoming").fetchall()])

    def load_records(self, domain: str) -> pd.DataFrame:
        """Every current source record of a domain, standardized."""
        table = records_table(domain)
        if not self.has_table(table):
            raise NotFoundError(f"{self.path}: no {domain} records ingested yet")
        return self.cursor().execute(f"SELECT * FROM {table} ORDER BY unique_id").df()

    def ingest_runs(self) -> pd.DataFrame:
        """Every file ingested: where each of its lines went (resolver.store.ingest_runs)."""
        return ingest_runs.read(self.cursor())

    def quarantine(self, domain: str | None = None) -> pd.DataFrame:
        sql = "SELECT * FROM quarantine" + (" WHERE domain = ?" if domain else "") + " ORDER BY quarantine_id"
        return self.cursor().execute(sql, [domain] if domain else []).df()

    # -- model versions -------------------------------------------------------------------

    def register_model(self, domain: str, version: str, model_json: str, fingerprint: str = "",
                       path: str | None = None) -> None:
        """Publish a model version: its JSON is kept in the store (`path`, where it was also
        saved as a file, is for information only)."""
        if not model_json.lstrip().startswith("{"):
            raise ValueError("register_model keeps the model JSON itself, not a path to it")
        with self.transaction() as con:
            con.execute("INSERT OR REPLACE INTO model_versions (version, domain, path, fingerprint, created_at, "
                        "model_json) VALUES (?, ?, ?, ?, now(), ?)",
                        [version, domain, path, fingerprint, model_json])
            self._note(Change(domain, model=(version, model_json)))

    def latest_model(self, domain: str) -> tuple[str, str] | None:
        """(version, path it was saved to or "") of the domain's latest model; the model itself
        comes from `model_json`."""
        rows = self.cursor().execute(
            "SELECT version, path FROM model_versions WHERE domain = ? ORDER BY created_at DESC, version DESC "
            "LIMIT 1", [domain]).fetchall()
        return (rows[0][0], rows[0][1] or "") if rows else None

    def model_json(self, domain: str, version: str | None = None) -> tuple[str, str]:
        """(version, JSON) of the latest model version of `domain`, or of `version`."""
        return models.model_json(self.cursor(), self.path, domain, version)

    def recorded_survivorship(self, domain: str, version: str) -> Survivorship | None:
        """The survivorship rules published with model `version`, or None when that version
        recorded none (trained before survivorship travelled with the model) or is not registered."""
        key = (domain, version)
        if key not in self._survivorship:
            rows = self.cursor().execute("SELECT model_json FROM model_versions WHERE domain = ? AND version = ?",
                                         [domain, version]).fetchall() if self._has_model_json() else []
            raw = None
            if rows and rows[0][0]:
                raw = (json.loads(rows[0][0]).get("resolver") or {}).get("survivorship")
            if raw is None:
                return None
            self._survivorship[key] = parse_survivorship(raw, f"{self.path}: {domain} model version {version}")
        return self._survivorship[key]

    def _has_model_json(self) -> bool:
        return bool(self.cursor().execute(
            "SELECT count(*) FROM information_schema.columns WHERE table_name = 'model_versions' "
            "AND column_name = 'model_json'").fetchall()[0][0])

    def model_versions(self, domain: str) -> list[str]:
        """Every published model version of `domain`, oldest first."""
        rows = self.cursor().execute("SELECT version FROM model_versions WHERE domain = ? "
                                     "ORDER BY created_at, version", [domain]).fetchall()
        return [r[0] for r in rows]

    # -- resolution ---------------------------------------------------------------------------

    def membership(self, domain: str) -> pd.DataFrame:
        return self.cursor().execute(
            "SELECT unique_id, entity_id FROM membership WHERE domain = ? ORDER BY unique_id", [domain]).df()

    def save_resolution(self, domain: str, clusters: pd.DataFrame, pairs: pd.DataFrame | None,
                        model_version: str, incremental: bool = False,
                        touched: list[str] | None = None,
                        survivorship: Survivorship | None = None,
                        relations: list[relation_tables.RelationSql] | None = None,
                        laps: Laps | None = None) -> ResolutionSummary:
        """Give clusters stable master IDs, rebuild golden records, record history: one transaction.

        A full resolution's `clusters` cover every source record of the domain and its `pairs`
        replace the scored pairs (pairs without a `model_version` column get `model_version`). With `incremental`, `clusters` cover only whole entities
        around new records (the rest of the master stays as it is), `pairs` are added, and only
        entities whose membership changed, or that hold a `touched` record (its values changed),
        get their golden records rebuilt. `survivorship` defaults to the rules published with
        `model_version` (so the version alone determines the result); for a version that recorded
        none, the current survivorship.yaml of the rules folder. `relations`: the relations
        across domains to rebuild in the same transaction (every table of a domain pair holding
        `domain`, resolver.store.relations), so they name the master IDs just saved. `laps`: a full
        resolution's save books its steps' seconds there (resolver.laps.SAVE_STEPS).
        """
        if not incremental and touched is None and _text_ids(clusters):
            return self._save_full(domain, clusters, pairs, model_version, survivorship, relations, laps)
        plan = self._plan_resolution(domain, clusters, pairs, model_version, incremental, touched,
                                     survivorship)
        rebuilt: dict[str, int] = {}
        with self.transaction(**plan.frames) as con:
            self._write_resolution(con, plan)
            if relations:
                rebuilt = relation_tables.rebuild(con, domain, relations)
        counts = {str(k): int(v) for k, v in plan.events["event"].value_counts().items()}
        # Active entities are exactly those with members (retired ones have none): 0.7 ms,
        # where counting distinct entity IDs over the membership took ~57 ms at 1M records.
        total = self._con.execute("SELECT count(*) FROM entities WHERE domain = ? AND active",
                                 [domain]).fetchall()[0][0]
        return ResolutionSummary(entities=int(total), changed=len(plan.changed), events=counts, relations=rebuilt)

    def _save_full(self, domain: str, clusters: pd.DataFrame, pairs: pd.DataFrame | None, model_version: str,
                   survivorship: Survivorship | None,
                   relations: list[relation_tables.RelationSql] | None,
                   laps: Laps | None = None) -> ResolutionSummary:
        """`save_resolution` of a full resolution: master IDs, events and the changed entities are
        worked out in SQL inside the transaction (resolver.store.master_ids_sql), not in pandas."""
        if survivorship is None:
            survivorship = self.recorded_survivorship(domain, model_version) or load_survivorship(domain)
        key = f"next_id_{domain}"
        row = self._con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchall()
        ids = pa.table({"unique_id": pa.array(clusters["unique_id"]).cast(pa.string()),
                        "cluster_id": pa.array(clusters["cluster_id"]).cast(pa.string()),
                        "pos": pa.array(np.arange(len(clusters), dtype=np.int64))})
        frames: dict[str, Any] = {"new_clusters": ids}
        if pairs is not None:
            frames["new_pairs"] = pairs
        rebuilt: dict[str, int] = {}
        with self.transaction(**frames) as con:
            number, changed = master_ids_sql.assign_in_store(con, domain, "new_clusters",
                                                             int(row[0][0]) if row else 1, prefix(domain))
            counts = dict(con.execute("SELECT event, count(*) FROM new_events GROUP BY event").fetchall())
            laps = laps or Laps()
            laps.lap("master IDs")
            plan = _Plan(domain, model_version, False, survivorship, key, number, len(clusters), pairs is not None,
                         set(), set(), {}, pd.DataFrame(), {}, laps=laps)
            self._write_resolution(con, plan)
            if relations:
                rebuilt = relation_tables.rebuild(con, domain, relations)
            master_ids_sql.drop(con)
            laps.lap("relations")
        laps.lap("commit")
        total = self._con.execute("SELECT count(*) FROM entities WHERE domain = ? AND active",
                                 [domain]).fetchall()[0][0]
        return ResolutionSummary(entities=int(total), changed=changed,
                                 events={str(k): int(v) for k, v in counts.items()}, relations=rebuilt)

    def _plan_resolution(self, domain: str, clusters: pd.DataFrame, pairs: pd.DataFrame | None,
                         model_version: str, incremental: bool, touched: list[str] | None,
                         survivorship: Survivorship | None = None) -> _Plan:
        """The reads of `save_resolution`: master IDs assigned, what changed, the frames to write."""
        if survivorship is None:
            survivorship = self.recorded_survivorship(domain, model_version) or load_survivorship(domain)
        key = f"next_id_{domain}"
        if incremental and len(clusters) <= small_plans.SMALL_PLAN:  # a write's few entities: no pandas
            row = self._con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchall()
            stored_next = int(row[0][0]) if row else None
            cur = self.cursor()
            try:
                small = small_plans.plan_small(cur, domain, clusters, touched, 1 if stored_next is None else stored_next)
            finally:
                cur.close()
            if pairs is not None:
                small.frames["new_pairs"] = pairs
            return _Plan(domain, model_version, incremental, survivorship, key, small.next_number, small.rows,
                         pairs is not None, small.changed, small.refreshed, small.entity_of, small.events,
                         small.frames, members=small.members, inserted=(small.inserted, small.created),
                         stored_next=stored_next)
        if incremental:  # only the entities in scope: reading the whole domain cost ~0.5 s at 1M records
            previous = self._in_scope(
                "SELECT m.unique_id, m.entity_id FROM membership m JOIN scope USING (unique_id) "
                "WHERE m.domain = ? ORDER BY m.unique_id", clusters[["unique_id"]], [domain])
            entities = self._in_scope(
                "SELECT e.entity_id, e.created_at FROM entities e JOIN scope USING (entity_id) WHERE e.active",
                previous[["entity_id"]].drop_duplicates(), [])
        else:
            previous = self.membership(domain)
            entities = self.cursor().execute(
                "SELECT entity_id, created_at FROM entities WHERE domain = ? AND active", [domain]).df()
        row = self._con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchall()
        result = assign_master_ids(domain, clusters, previous, entities, int(row[0][0]) if row else 1)
        new = result.membership
        both = previous.merge(new, on="unique_id", how="outer", suffixes=("_old", "_new"))
        moved = both[both["entity_id_old"] != both["entity_id_new"]]
        # (lists and member_of: iterating or isin over Arrow-backed text cost ~1 s per 100k IDs)
        changed = set(moved["entity_id_old"].dropna().tolist()) | set(moved["entity_id_new"].dropna().tolist())
        refreshed = changed | set(new.loc[member_of(new["unique_id"], touched or []), "entity_id"].tolist())
        placed = new[member_of(new["unique_id"], set(moved["unique_id"].tolist()) | set(touched or []))] \
            if incremental else new[:0]
        entity_of: dict[str, str | None] = dict(zip(placed["unique_id"].tolist(), placed["entity_id"].tolist(),
                                                    strict=True))
        events = pd.DataFrame(result.events, columns=["event", "entity_id", "related_ids", "reason"])
        frames = {"new_members": new, "new_events": events,
                  # incremental: members whose entity changed, entities in scope left without one
                  "moved_members": moved.loc[moved["entity_id_old"].notna() & moved["entity_id_new"].notna(), ["unique_id"]],
                  "retired_ids": pd.DataFrame({"entity_id": sorted(set(previous["entity_id"].tolist())
                                                                   - set(new["entity_id"].tolist()))},
                                              dtype="object"),
                  "changed_ids": pd.DataFrame({"entity_id": sorted(refreshed)}, dtype="object")}
        if pairs is not None:
            frames["new_pairs"] = pairs
        return _Plan(domain, model_version, incremental, survivorship, key, result.next_number, len(new),
                     pairs is not None, changed, refreshed, entity_of, events, frames)

    def _write_resolution(self, con: duckdb.DuckDBPyConnection, plan: _Plan) -> None:
        """The writes of `save_resolution`, inside the caller's transaction (views `plan.frames`)."""
        if not plan.incremental:
            self._write_plan(con, plan)
            return
        frames = plan.frames  # the scopes' IDs are known here: no statement asks DuckDB for them
        with points.known(con, {("moved_members", "unique_id"): frames["moved_members"]["unique_id"].tolist(),
                                ("changed_ids", "entity_id"): frames["changed_ids"]["entity_id"].tolist(),
                                ("retired_ids", "entity_id"): frames["retired_ids"]["entity_id"].tolist()}):
            self._write_plan(con, plan)

    def _write_plan(self, con: duckdb.DuckDBPyConnection, plan: _Plan) -> None:
        domain, model_version, incremental = plan.domain, plan.model_version, plan.incremental
        # Only rows whose entity changed are rewritten: unchanged members keep `since`.
        # incremental: statements that would change nothing are not sent (~1 ms each for one record)
        empty = {name for name, frame in plan.frames.items() if incremental and not len(frame)}
        if incremental:  # the moved members and retired entities, as the plan found them: by ID
            if "moved_members" not in empty:
                con.execute(f"DELETE FROM membership WHERE {in_scope(con, 'unique_id', 'moved_members', 'unique_id')}")
        else:
            con.execute(
                "DELETE FROM membership WHERE domain = ? AND unique_id NOT IN (SELECT m.unique_id "
                "FROM membership m JOIN new_members n USING (unique_id) WHERE m.entity_id = n.entity_id)", [domain])
        _fault_point("save_resolution")
        members = "SELECT unique_id, ?, entity_id, now(), ? FROM new_members"
        entities = ("SELECT entity_id, ?, n, now(), now(), ?, true FROM "
                    "(SELECT entity_id, count(*) AS n FROM new_members GROUP BY entity_id)")
        for n, (table, sql, key) in enumerate((("membership", members, "unique_id"),
                                               ("entities", entities, "entity_id"))):
            missing = plan.inserted[n] if plan.inserted is not None else None
            if missing is not None and len(missing) <= points.POINTS_UP_TO:
                # a small plan knows which rows are missing: a plain INSERT of those (OR IGNORE
                # checked every row against the indexes, ~5 ms for one record's at 1M records)
                if missing:
                    con.execute(f"INSERT INTO {table} {sql} WHERE {points.literal_in(key, missing)}",
                                [domain, model_version])
            elif missing is not None and PLAIN_INSERTS:  # the plan's own list, as a parameter (no view
                if missing:  # to unregister from an aborted transaction)
                    con.execute(f"INSERT INTO {table} {sql} WHERE {key} IN (SELECT unnest(?::VARCHAR[]))",
                                [domain, model_version, missing])
            else:
                _insert_new(con, table, key, sql, [domain, model_version], plan.rows)
        con.execute(
            "UPDATE entities SET size = s.n, updated_at = now(), model_version = ?, active = true "
            "FROM (SELECT entity_id, count(*) AS n FROM new_members GROUP BY entity_id) s "
            "WHERE entities.entity_id = s.entity_id "
            f"AND {in_scope(con, 'entities.entity_id', 'changed_ids')}", [model_version])
        if incremental:
            if "retired_ids" not in empty:
                con.execute("UPDATE entities SET active = false, size = 0, updated_at = now() "
                            f"WHERE {in_scope(con, 'entity_id', 'retired_ids')}")
        else:
            con.execute(
                "UPDATE entities SET active = false, size = 0, updated_at = now() WHERE domain = ? "
                "AND active AND entity_id NOT IN (SELECT entity_id FROM new_members)", [domain])
        if "new_events" not in empty:
            con.execute(
                "INSERT INTO entity_history (event_at, domain, event, entity_id, related_ids, reason, model_version) "
                "SELECT now(), ?, event, entity_id, related_ids, reason, ? FROM new_events",
                [domain, model_version])
        if plan.has_pairs and incremental and self.has_table(f"pairs_{domain}"):
            if "new_pairs" not in empty:
                con.execute(f"INSERT INTO pairs_{domain} BY NAME SELECT * FROM new_pairs")
        elif plan.has_pairs:
            # pairs without a model_version column are this resolution's: the column is added here,
            # not as a Python string per pair (~0.5 GB at 10M records)
            named = "model_version" in {r[0] for r in con.execute("DESCRIBE new_pairs").fetchall()}
            con.execute(f"CREATE OR REPLACE TABLE pairs_{domain} AS SELECT *"
                        + ("" if named else ", ?::VARCHAR AS model_version") + " FROM new_pairs",
                        [] if named else [model_version])
        if plan.stored_next != plan.next_number:  # (a record joining an entity numbers none: ~2-5 ms saved)
            con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [plan.meta_key, str(plan.next_number)])
        if incremental:
            # with a neighbourhood (plan.records) every member of a changed entity is in the plan:
            # its members are read from there, not from the membership table (a scan)
            picked: NewRows = []  # a few entities' rows, from Python (no temp tables), or none
            # the SQL's new rows are written by the documents' refresh (it knows which differ: `golden_pending`)
            build_golden(con, domain, plan.survivorship, only="changed_ids", records=plan.records,
                         members="new_members" if plan.records else None, picked=picked, defer=True)
            made = docs.refresh(con, domain, "changed_ids", records=plan.records,
                                golden=picked or ("golden_new", "conflicts_new"), keep=commits.listening(self._key),
                                golden_pending=not picked)
            if not picked:
                con.execute("DROP TABLE golden_new")
                con.execute("DROP TABLE conflicts_new")
            self._note(Change(domain, docs=set(plan.refreshed), records=dict(plan.entity_of), written=made))
        else:
            if plan.laps:
                plan.laps.lap("membership, history, pairs")
            rebuild_golden_and_changed_docs(con, domain, partial(build_golden, con, domain, plan.survivorship),
                                            plan.laps)
            self._note(Change(domain, docs=None, records=None))

    def _in_scope(self, sql: str, scope: pd.DataFrame, params: list[object]) -> pd.DataFrame:
        """`sql` run with `scope` registered as the view `scope` (a cursor of its own)."""
        cur = self.cursor()
        try:
            cur.register("scope", scope)
            return cur.execute(sql, params).df()
        finally:
            cur.close()

    def golden(self, domain: str, entity_ids: list[str] | None = None) -> pd.DataFrame:
        """Golden values with lineage, long form: entity_id, field, value, source, source_record_id, rule."""
        sql = "SELECT entity_id, field, value, source, source_record_id, rule FROM golden_values WHERE domain = ?"
        params: list[object] = [domain]
        if entity_ids is not None:
            sql += " AND entity_id IN (SELECT unnest(?))"
            params.append(entity_ids)
        return self.cursor().execute(sql + " ORDER BY entity_id, field", params).df()

    def pairs(self, domain: str) -> pd.DataFrame | None:
        """The scored pairs of the domain's last resolution, or None when none were kept."""
        if not self.has_table(f"pairs_{safe_name(domain)}"):
            return None
        return self.cursor().execute(f"SELECT * FROM pairs_{domain}").df()

    def record_decision(self, domain: str, row: dict[str, Any]) -> dict[str, Any]:
        """Store a data steward's decision on a pair of source records (resolver.store.review.record),
        in a transaction of its own cursor; returns the stored row."""
        cur = self.cursor()
        try:
            return review.record(cur, domain, row)
        finally:
            cur.close()

    def decisions(self, domain: str, *, every: bool = False) -> pd.DataFrame:
        """The decision that counts on each decided pair of `domain` (every decision with `every`)."""
        with self.reader() as reader:
            return reader.decisions(domain, every=every)

    def drop_legacy_access_rows(self) -> None:
        """Empty the API keys and audit rows of a store made before the access store existed, once
        they are copied there (resolver.access.access_store)."""
        with self.transaction() as con:
            con.execute("DELETE FROM api_keys")
            con.execute("DELETE FROM audit_log")

    def history(self, domain: str) -> pd.DataFrame:
        return self.cursor().execute(
            "SELECT * FROM entity_history WHERE domain = ? ORDER BY event_id", [domain]).df()


def rebuild_golden_and_changed_docs(con: duckdb.DuckDBPyConnection, domain: str,
                                    rebuild: Callable[[], object], laps: Laps | None = None) -> None:
    """A full resolution's golden records, and the documents of the entities it changed.

    Every golden value is rebuilt, but most entities keep theirs, their members and their row:
    only the golden rows that differ are written (resolver.store.golden.replace_domain), and only
    the documents of entities in `changed_ids`, of those whose golden values or conflicts came
    out different, and of any without a document are rewritten. Rewriting all of them took
    ~100 s at 1M records. `rebuild` writes the domain's golden values and conflicts and leaves
    the entities whose rows differ in the temp table `golden_differ` (survivorship here, a Spark
    snapshot's Parquet in resolver.store.snapshot). Call inside the resolution's transaction."""
    rebuild()
    if laps:
        laps.lap("golden values")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE doc_scope AS SELECT entity_id FROM changed_ids UNION "
        "SELECT entity_id FROM golden_differ "
        f"UNION SELECT entity_id FROM entities WHERE domain = $d AND entity_id NOT IN "
        f"(SELECT entity_id FROM {docs.TABLE} WHERE domain = $d)", {"d": domain})
    # nobody reads a full resolution's documents back from the transaction (its Change names none)
    docs.refresh(con, domain, "doc_scope", keep=False, narrow=False, limit=store_memory_limit())
    for table in ("golden_differ", "doc_scope"):
        con.execute(f"DROP TABLE {table}")
    if laps:
        laps.lap("documents")


# The store's DuckDB memory limit unless RESOLVER_STORE_MEMORY says otherwise: the smaller of
# this and a quarter of the machine's memory. DuckDB's own default (80 % of the machine) let a
# full resolution's save grow to 13 GB at 1.16M records; under the limit it spills to DB.tmp/.
# 1.16M records, whole resolve: 2 GB peaked at 3.44 GB (save 70 CPU s), 3 GB at 4.52 (54 s).
DEFAULT_STORE_MEMORY = 2 * 2**30


def store_memory_limit() -> str | None:
    """DuckDB's memory limit for the store's connection: RESOLVER_STORE_MEMORY (e.g. `4GB`;
    `duckdb` for DuckDB's own default of 80 % of RAM), else min(2 GB, 25 % of RAM)."""
    limit = os.environ.get("RESOLVER_STORE_MEMORY", "").strip()
    if limit.lower() == "duckdb":
        return None
    if limit:
        return limit
    return f"{min(DEFAULT_STORE_MEMORY, _machine_memory() // 4) // 2**20}MB"


# The linking session's limit (Splink's scoring and training in their own in-memory DuckDB): it
# was a fixed 6 GB. Not the store's 2 GB: some of Splink's statements cannot spill (blocked pairs
# failed under 122 MB on the sample), and at 1.16M records a 2 GB cap saved only ~0.3 GB of peak.
DEFAULT_LINK_MEMORY = 6 * 2**30


def linking_memory_limit() -> str | None:
    """DuckDB's memory limit for the linking session of a store's resolver: RESOLVER_LINK_MEMORY
    (`duckdb`: DuckDB's own 80 %), else min(6 GB, 25 % of RAM). A resolve lets that session go
    before it saves, so this and the store's limit do not stack."""
    limit = os.environ.get("RESOLVER_LINK_MEMORY", "").strip()
    if limit.lower() == "duckdb":
        return None
    return limit or f"{min(DEFAULT_LINK_MEMORY, _machine_memory() // 4) // 2**20}MB"


def _machine_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows): assume 8 GB
        return 4 * DEFAULT_STORE_MEMORY


def _memory_config() -> dict[str, str | bool | int | float | list[str]]:
    limit = store_memory_limit()
    return {"memory_limit": limit} if limit else {}


def _fault_point(name: str) -> None:
    """Fault injection for the crash-safety test: pause here, mid-transaction, when asked to."""
    if os.environ.get("RESOLVER_FAULT_PAUSE") == name:
        print(f"paused at {name}", file=sys.stderr, flush=True)
        time.sleep(600)


def open_store(path: str | Path, read_only: bool = False) -> Store:
    """Open (and create or migrate) the master store at `path`. Read-only is dropped for a store
    this process holds read-write (a job in the server, resolver.store.held): DuckDB refuses
    both in one process."""
    from resolver.store.held import held

    return Store(path, read_only=read_only and not held(path))
