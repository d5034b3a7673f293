"""Distinct-value machinery under records.py: each field's parser runs once per distinct value.

Columns stay as codes into their distinct results until something reads them per row, so
the per-row work is one take, done in Arrow when the frame is assembled.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import BrokenExecutor, Future, ProcessPoolExecutor
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa

from resolver.standardize.fields import is_placeholder, text_of

# Below this many distinct values a second process costs more than it saves.
_PARALLEL_MIN_ITEMS = 20_000
# Share of a field's distinct values sent to the worker: the main process also reads the
# frame, tokenizes names, unpickles the results and assembles the output (measured at 1M
# rows: main 24 s vs worker 18 s CPU at 0.7).
WORKER_SHARE = 0.8
# From this many rows a coded string column is built from its distinct values with Arrow's
# take; below it, from the rows' values taken in NumPy (no fixed cost).
_ARROW_TAKE_FROM = 1000
# Up to this many values a column is factorized in Python.
_SMALL = 64


def _apply(func: Callable[[Any], Any], items: list[Any]) -> list[Any]:
    return _plain([func(x) for x in items])


def _apply_batch(func: Callable[[list[Any]], list[Any]], items: list[Any]) -> list[Any]:
    return _plain(func(items))


def _plain(results: list[Any]) -> list[Any]:
    """NamedTuples as plain tuples: unpickling calls no Python constructor, ~3x cheaper."""
    return [tuple(r) if isinstance(r, tuple) else r for r in results]


class Column(NamedTuple):
    """A field as codes into its distinct values (-1 = missing)."""

    codes: np.ndarray
    items: list[str | None]


class Coded(NamedTuple):
    """An output column as codes into per-distinct results (-1 = missing)."""

    codes: np.ndarray
    results: Sequence[Any]


class Columns(dict):  # type: ignore[type-arg]
    """Output columns; a coded column becomes a per-row array when first read."""

    def __getitem__(self, key: str) -> Any:
        value = dict.__getitem__(self, key)
        if type(value) is Coded:
            value = take(value.results, value.codes)
            dict.__setitem__(self, key, value)
        return value

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self else default

    def stored(self, key: str) -> Any:
        """The column as stored: a Coded not yet read per row, or an array."""
        return dict.get(self, key)


class _Pending(NamedTuple):
    future: Future[list[Any]]
    cut: int
    label: str


class Frame:
    """Output columns and per-row flags, filled one field at a time over distinct values."""

    def __init__(self, df: pd.DataFrame, value_maps: dict[str, dict[str, str]],
                 pool: ProcessPoolExecutor | None = None, share: float = WORKER_SHARE):
        self.df = df
        self.n = len(df)
        # Column positions, and a small all-object frame's cells as one 2-D array: pandas'
        # column lookup and Series per column cost ~0.1 ms each, ~15 of them per call.
        self._position = {name: i for i, name in enumerate(df.columns.tolist())}
        self._matrix = df.to_numpy() if self.n < _ARROW_TAKE_FROM and len(self._position) == \
            df.shape[1] and all(isinstance(d, np.dtype) and d.kind == "O" for d in df.dtypes.tolist()) \
            else None
        self.value_maps = value_maps
        self.pool = pool
        self.share = share
        self.out: Columns = Columns()
        self.flags: list[tuple[np.ndarray, str]] = []
        self._raw: dict[str, Column | None] = {}
        self._pending: dict[int, _Pending] = {}

    def _split(self, items: list[Any]) -> int | None:
        if self.pool is None or len(items) < _PARALLEL_MIN_ITEMS:
            return None
        return len(items) - int(len(items) * self.share)

    def adopt(self, early: Frame) -> None:
        """Take over `early`'s distinct values and the worker's shares queued for them: a frame
        of the same rows, in the same order, whose fields hold the same values."""
        self._raw = early._raw
        self._pending = early._pending
        early._raw, early._pending = {}, {}

    def cancel(self) -> None:
        """Drop the worker's shares not taken yet (those it has not started are never run)."""
        for pending in self._pending.values():
            pending.future.cancel()
        self._pending = {}

    def _submit(self, func: Callable[[Any], Any], items: list[Any], batch: bool) -> Future[Any]:
        assert self.pool is not None
        return self.pool.submit(_apply_batch if batch else _apply, func, items)

    def map(self, func: Callable[[Any], Any], items: list[Any], batch: bool = False,
            pending: _Pending | None = None) -> list[Any]:
        """``func`` over items (or over the list when ``batch``); a share goes to the worker."""
        cut = pending.cut if pending is not None else self._split(items)
        if cut is None:
            return func(items) if batch else [func(x) for x in items]
        try:
            future = pending.future if pending is not None else \
                self._submit(func, items[cut:], batch)
        except BrokenExecutor:
            self.pool = None
            return func(items) if batch else [func(x) for x in items]
        first = func(items[:cut]) if batch else [func(x) for x in items[:cut]]
        try:
            return first + future.result()
        except BrokenExecutor:  # a worker that died must not lose the run: finish here
            self.pool = None
            rest = items[cut:]
            return first + (func(rest) if batch else [func(x) for x in rest])

    def prefetch(self, field: str, func: Callable[[Any], Any] | None = None,
                 batch: Callable[[list[Any]], list[Any]] | None = None) -> None:
        """Hand the worker its share of a field now, so it works while this process reads on."""
        column = self.raw(field)
        if column is None or self.pool is None or id(column) in self._pending:
            return
        present = [v for v in column.items if v is not None]
        cut = self._split(present)
        if cut is None:
            return
        work = batch if batch is not None else func
        assert work is not None
        try:
            future = self._submit(work, present[cut:], batch is not None)
        except BrokenExecutor:
            self.pool = None
            return
        self._pending[id(column)] = _Pending(future, cut, _label(work))

    def raw(self, field: str) -> Column | None:
        """Distinct values of a field (value map applied, blanks as None); None if absent."""
        if field not in self._raw:
            self._raw[field] = self._read(field)
        return self._raw[field]

    def _read(self, field: str) -> Column | None:
        if field not in self._position:
            return None
        if self._matrix is not None:
            codes, uniques = factorize(self.cells(field))
        elif isinstance(dtype := self.df[field].dtype, pd.StringDtype) and dtype.storage == "pyarrow":
            # Arrow factorizes without making a Python string per row.
            codes, uniques = pd.factorize(self.df[field].array)
        else:
            codes, uniques = factorize(self.cells(field))
        found: list[Any] = list(uniques) if isinstance(uniques, np.ndarray) else uniques.tolist()
        codes = np.asarray(codes, dtype=np.intp)
        items = _raw_values(found, self.value_maps.get(field))
        blank = [i for i, v in enumerate(items) if v is None]
        if blank:  # blanks become missing rows, so functions only ever see real text
            lookup = np.arange(len(items) + 1)
            lookup[blank] = -1
            lookup[-1] = -1  # code -1 (missing) stays -1
            codes = lookup[codes]
        return Column(codes, items)

    def has(self, field: str) -> bool:
        return field in self._position

    def cells(self, field: str) -> np.ndarray:
        """A column's raw cells as an object array (astype(object); read only)."""
        if self._matrix is not None:
            return self._matrix[:, self._position[field]]
        return cells(self.df[field])

    def as_given(self, field: str) -> np.ndarray:
        """A column's to_numpy() (read only)."""
        if self._matrix is not None:
            return self._matrix[:, self._position[field]]
        return self.df[field].to_numpy()

    def values(self, column: Column | None) -> np.ndarray:
        """Per-row values of a column (None where missing)."""
        if column is None:
            return np.full(self.n, None, dtype=object)
        return take(column.items, column.codes)

    def distinct(self, values: Column | np.ndarray | None, func: Callable[[Any], Any],
                 batch: Callable[[list[Any]], list[Any]] | None = None) -> tuple[np.ndarray, list]:
        """Apply ``func`` (or ``batch`` over the list) once per distinct non-null value."""
        if values is None:
            return np.full(self.n, -1, dtype=np.intp), []
        pending = None
        if isinstance(values, Column):
            codes, items = values.codes, values.items
            keep = [i for i, v in enumerate(items) if v is not None]
            present = [items[i] for i in keep]
            pending = self._pending.pop(id(values), None)
            if pending is not None and pending.label != _label(batch or func):
                pending.future.cancel()
                pending = None
        else:
            codes, uniques = factorize(values)
            present = list(uniques)
            keep = None
        done = self.map(batch, present, batch=True, pending=pending) if batch else \
            self.map(func, present, pending=pending)
        if keep is None or len(keep) == len(items):
            return codes, done
        results: list[Any] = [None] * len(items)
        for i, r in zip(keep, done, strict=True):
            results[i] = r
        return codes, results

    def put(self, name: str, codes: np.ndarray, results: Sequence[Any]) -> None:
        self.out[name] = Coded(codes, results)

    def mask(self, name: str, test: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """Per-row ``test`` (vectorized) of an output column, on distinct results while coded."""
        stored = self.out.stored(name)
        if type(stored) is Coded:
            return coded_mask(stored, test)
        return np.asarray(test(stored), dtype=bool)

    def flag(self, mask: np.ndarray, code: str) -> None:
        if mask.any():
            self.flags.append((mask, code))


def _label(func: Callable[..., Any]) -> str:
    inner = getattr(func, "func", func)  # functools.partial
    return getattr(inner, "__qualname__", repr(inner))


def _raw_values(found: Sequence[Any], mapping: dict[str, str] | None) -> list[str | None]:
    """Each distinct raw value as fields.raw_value reads it (stripped, mapped, placeholders
    such as '', '*', '无' None), in bulk: the steps run as list passes, not a call per value."""
    items: list[str | None]
    if all(type(v) is str for v in found):
        items = [v.strip() for v in found]
    else:
        items = [text_of(v) for v in found]
    if mapping:
        items = [mapping.get(v, v) if v is not None else None for v in items]
    # (only a short value can be one: the length first, not a call per value, ~0.1 s of 100k rows)
    for i in [i for i, v in enumerate(items) if v is not None and len(v) <= 4 and is_placeholder(v)]:
        items[i] = None
    return items


def cells(series: pd.Series) -> np.ndarray:
    """A column's cells as an object array: astype(object), without its copy when they are
    objects already (nothing here writes to it)."""
    return series.to_numpy() if series.dtype == object else series.astype(object).to_numpy()


def factorize(values: np.ndarray) -> tuple[np.ndarray, Any]:
    """pd.factorize of an object array; a few str/None values in a dict (pandas' hash table
    has ~50 µs of fixed cost, a one-record frame reads ~15 columns)."""
    if len(values) > _SMALL or not all(v is None or type(v) is str for v in values):
        return pd.factorize(values)
    index: dict[str, int] = {}
    codes = np.fromiter((-1 if v is None else index.setdefault(v, len(index)) for v in values),
                        dtype=np.intp, count=len(values))
    uniques = np.empty(len(index), dtype=object)
    uniques[:] = list(index)
    return codes, uniques


def take(results: Sequence[Any], codes: np.ndarray) -> np.ndarray:
    """Per-row array from per-distinct results; code -1 (missing) gives None."""
    table = np.empty(len(results) + 1, dtype=object)
    table[: len(results)] = results
    table[len(results)] = None
    return table[codes]


def rows(column: Coded) -> np.ndarray:
    """Per-row array of a coded column."""
    return take(column.results, column.codes)


def coded_mask(column: Coded, test: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Per-row ``test`` (vectorized over an object array) computed on the distinct results."""
    table = np.empty(len(column.results) + 1, dtype=object)
    table[: len(column.results)] = column.results
    table[-1] = None  # missing rows
    return np.asarray(test(table), dtype=bool)[column.codes]


def string_array(values: Any) -> Any:
    """A pandas string array of a column; a coded one is built from its distinct results."""
    arrow = pd.StringDtype().storage == "pyarrow"
    if type(values) is Coded:
        # Arrow's take has ~0.1 ms of fixed cost: a small frame's rows are taken in NumPy
        if arrow and len(values.codes) >= _ARROW_TAKE_FROM:
            try:
                distinct = pa.array(values.results, type=pa.large_string(), from_pandas=True)
            except (pa.ArrowInvalid, pa.ArrowTypeError):  # something other than str/None
                pass
            else:
                codes = values.codes
                return pd.arrays.ArrowStringArray(distinct.take(pa.array(codes, mask=codes < 0)))
        values = take(values.results, values.codes)
    if arrow:
        try:  # what pd.array(dtype="string") does for str/None, without its per-value check
            return pd.arrays.ArrowStringArray(
                pa.array(values, type=pa.large_string(), from_pandas=True))
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            pass
    return pd.array(values, dtype="string")
