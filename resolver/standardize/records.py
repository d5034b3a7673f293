"""Frame level: one call standardizes every canonical field of a source's records.

The domain's schema (resolver.domains) says which fields there are and what type each one
is; resolver.standardize.plan orders them and picks each one's parser, and the type's
function in resolver.standardize.frame_types fills its columns and flags.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

from resolver.domains import DomainSchema, domain_names, load_schema
from resolver.errors import ConfigError
from resolver.paths import rules_dir
from resolver.standardize.frame import Coded, Frame, rows, string_array
from resolver.standardize.frame_types import TYPES, Job
from resolver.standardize.phone import area_code_of
from resolver.standardize.plan import Plan, plan_of
from resolver.standardize.tokens import NameTokenizer, build_trade_name_dictionary
from resolver.standardize.typed import boolean_array, float_array, int_array

__all__ = ["Ahead", "build_trade_name_dictionary", "schema_of", "standardize_ahead", "standardize_records",
           "NameTokenizer"]

# Fields whose parsing the second process takes a share of (the others have few distinct values).
_PREFETCH = frozenset({"enterprise_name", "person_name", "name", "identifier", "address", "phone",
                       "date"})
_PLANS: dict[tuple[int, str], tuple[DomainSchema, Plan]] = {}
_SCHEMAS: dict[tuple[str, str], tuple[str, int, DomainSchema, float]] = {}
_RECHECK_SECONDS = 1.0  # an edited schema file is seen within this long
# Frames of at least this many rows use the second process by default. 100k tax records, 2
# cores at load ~1.5: 13.5-14.5 s alone, 10.3-11.0 s with it (this process 8.9-9.6 CPU s, the
# worker 6.4-6.6); at load ~2 in session 32 it did not pay, hence 200k until session 34.
PARALLEL_FROM_ROWS = 50_000
# The worker's share of a field's distinct values when it starts before the mapping
# (`standardize_ahead`): it has the mapping's time too, this process the rest of the work.
AHEAD_SHARE = 0.9


def schema_of(domain: str | DomainSchema) -> DomainSchema:
    """A domain's schema, by name (a ValueError naming the domains there are) or as given."""
    if isinstance(domain, DomainSchema):
        return domain
    # load_schema resolves and checks the path on every call (~50 µs); the match path
    # standardizes one record per request, so a name is looked up in memory, its file's
    # stamp checked at most once a second.
    key = (os.environ.get("RESOLVER_RULES", ""), domain)
    hit = _SCHEMAS.get(key)
    now = time.monotonic()
    if hit is not None:
        path, stamp, schema, checked = hit
        if now - checked < _RECHECK_SECONDS:
            return schema
        if _stamp(path) == stamp:
            _SCHEMAS[key] = (path, stamp, schema, now)
            return schema
    path = str(rules_dir() / domain / "schema.yaml")
    stamp = _stamp(path)
    try:
        schema = load_schema(domain)
    except ConfigError:
        if domain in domain_names():  # a broken schema file: its own error says what is wrong
            raise
        known = ", ".join(domain_names()) or "none"
        raise ValueError(f"unknown domain {domain!r}: the domains with a schema are {known}") from None
    _SCHEMAS[key] = (path, stamp, schema, now)
    return schema


def _stamp(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return -1


def cached_plan(schema: DomainSchema, default_city: str) -> Plan:
    """The schema's plan, kept while the schema object lives (load_schema caches it)."""
    key = (id(schema), default_city)
    hit = _PLANS.get(key)
    if hit is None or hit[0] is not schema:
        if len(_PLANS) > 64:
            _PLANS.clear()
        hit = _PLANS[key] = (schema, plan_of(schema, default_city, area_code_of(default_city)))
    return hit[1]


def standardize_records(
    df: pd.DataFrame,
    domain: str | DomainSchema,
    value_maps: dict[str, dict[str, str]] | None = None,
    default_city: str = "杭州市",
    trade_names: Iterable[str] = (),
    tokenizer: NameTokenizer | None = None,
    workers: int | None = None,
) -> pd.DataFrame:
    """Canonical and derived columns (docs/columns.md) for records of one domain (its name or
    its schema); never raises on bad values.

    ``trade_names`` adds to the jieba dictionary learned from these names (e.g. one learned
    from the registry); pass a ``tokenizer`` to reuse one across calls. ``workers`` > 1 uses
    a second process for the distinct values of big frames (default: 2 from
    `PARALLEL_FROM_ROWS` rows on a machine of two or more cores).
    """
    plan = cached_plan(schema_of(domain), default_city)
    if workers is None:
        workers = _workers(len(df))
    if workers <= 1:
        return _standardize(Job(Frame(df, value_maps or {}), plan, tokenizer, trade_names))
    with _pool(workers) as pool:
        return _standardize(Job(Frame(df, value_maps or {}, pool), plan, tokenizer, trade_names))


def _workers(rows: int) -> int:
    """Processes for a frame of `rows`: 2 from `PARALLEL_FROM_ROWS` on a machine of two or more cores."""
    return min(2, os.cpu_count() or 1) if rows >= PARALLEL_FROM_ROWS else 1


def _pool(workers: int) -> ProcessPoolExecutor:
    # fork: the worker inherits the loaded tables and needs no importable __main__; it only
    # runs pure-Python parsers, never pandas/pyarrow, so inherited thread state is not touched.
    return ProcessPoolExecutor(max_workers=workers - 1, mp_context=multiprocessing.get_context("fork"))


class Ahead:
    """A file's standardizing begun before its frame is final (`standardize_ahead`): the worker
    parses its share of the fields' distinct values while this process maps the rows."""

    def __init__(self, frame: Frame, plan: Plan, value_maps: dict[str, dict[str, str]]):
        self._frame = frame
        self._plan = plan
        self._value_maps = value_maps

    def standardize(self, df: pd.DataFrame, same_rows: bool) -> pd.DataFrame:
        """`standardize_records` of `df`, whose fields hold the early frame's values. With
        `same_rows` (the early frame's rows, in its order) the worker's early results are used;
        without, they are dropped and `df`'s distinct values parsed afresh: a value of a row
        that is gone must not reach the output (learned trade names come from every value)."""
        early = self._frame
        frame = Frame(df, self._value_maps, early.pool, share=early.share)
        if same_rows and len(df) == early.n:
            frame.adopt(early)
        else:
            early.cancel()
        return _standardize(Job(frame, self._plan, None, ()))


@contextmanager
def standardize_ahead(fields: pd.DataFrame, domain: str | DomainSchema,
                      value_maps: dict[str, dict[str, str]] | None = None,
                      default_city: str = "杭州市") -> Iterator[Ahead | None]:
    """Start standardizing `fields` (a file's canonical fields, before its rows are mapped):
    the second process gets its share of every parsed field now, and the block's
    `Ahead.standardize` gives what `standardize_records` would. None below
    `PARALLEL_FROM_ROWS` rows or on one core: then call `standardize_records`. A 100k-row file
    waited ~1.4 s for its reading and mapping before the worker had anything to do."""
    workers = _workers(len(fields))
    if workers <= 1:
        yield None
        return
    plan = cached_plan(schema_of(domain), default_city)
    with _pool(workers) as pool:
        frame = Frame(fields, value_maps or {}, pool, share=AHEAD_SHARE)
        _prefetch(Job(frame, plan, None, ()))
        try:
            yield Ahead(frame, plan, value_maps or {})
        finally:
            frame.cancel()


def _standardize(job: Job) -> pd.DataFrame:
    _prefetch(job)
    for spec, released in zip(job.plan.order, job.plan.released, strict=True):
        TYPES[spec.type](job, spec)
        for name in released:
            job.release(name)
    return _finish(job)


def _prefetch(job: Job) -> None:
    """Queue the worker's share of every parsed field up front, in the order this process
    will ask for them, so it never waits for us."""
    frame, plan = job.frame, job.plan
    if frame.pool is None:
        return
    queued: set[str] = set()
    for spec in plan.order:
        for name in (spec.name, plan.operator_of.get(spec.name)):  # a tax number reads the ID
            if name is None or name in queued or plan.field(name).type not in _PREFETCH:
                continue
            queued.add(name)
            parser = plan.parsers[name]
            if parser.batch:
                frame.prefetch(name, batch=parser.func)
            else:
                frame.prefetch(name, parser.func)


def _finish(job: Job) -> pd.DataFrame:
    frame, plan = job.frame, job.plan
    source = _as_str(frame, "source") if frame.has("source") else None
    record = _as_str(frame, "source_record_id") if frame.has("source_record_id") else None
    frame.out["source"] = source
    frame.out["source_record_id"] = record
    frame.out["unique_id"] = (source + ":" + record) if source is not None and record is not None \
        else None
    frame.out["row_number"] = frame.as_given("row_number") if frame.has("row_number") else None
    flags = np.full(frame.n, "", dtype=object)
    for mask, code in frame.flags:
        flags = np.where(mask, flags + code + ";", flags)
    frame.out["std_flags"] = np.array([f[:-1] for f in flags], dtype=object) \
        if frame.flags else flags
    bools, floats, lists = plan.bool_columns, plan.float_columns, plan.list_columns
    data: dict[str, Any] = {}
    for col in plan.columns:
        values = frame.out.stored(col)
        if values is None:
            values = np.full(frame.n, None, dtype=object)
        if col not in bools and col not in floats and col not in lists and col != "row_number":
            data[col] = string_array(values)  # an array, not a Series: no index to align (~3 ms of 15 for one record)
            continue
        if type(values) is Coded:
            values = rows(values)
        if col in bools:
            data[col] = boolean_array(values)
        elif col in floats:
            data[col] = float_array(values)
        elif col == "row_number":
            data[col] = int_array(values)
        else:  # a list per row (name tokens)
            data[col] = np.asarray(values, dtype=object)
    # every column is an array: built on a fresh 0..n-1 index, nothing is aligned or copied again
    return pd.DataFrame(data, index=pd.RangeIndex(frame.n))


def _as_str(frame: Frame, field: str) -> np.ndarray:
    """astype(str) as an object array; cells that are all str already are taken as they are."""
    values = frame.as_given(field)
    if values.dtype == object and all(type(v) is str for v in values):
        return values
    return frame.df[field].astype(str).to_numpy(dtype=object)
