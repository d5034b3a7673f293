"""Score an incremental write's neighbourhood with the compiled model (resolver.lookup.scoring)
instead of a Splink Linker: Splink's predict costs ~0.3 s of set-up per call (settings, term
frequency tables, SQL generation), most of a one-record write.

`neighbourhood_pairs` gives what `resolver.linking.predict.predict_pairs` gives for the
neighbourhood, restricted to pairs with a touched record (the only ones the incremental path
keeps): the same blocking (each key's value, nulled where its block in the neighbourhood is
over the key's cap, as `resolver.engines.inputs.prepare_input` does), each pair under the
first blocking rule that finds it (`match_key`), the same term frequencies (counted over the
neighbourhood; a pair is adjusted by the larger of its two), the same weights and threshold.
tests/lookup/test_pairs.py checks pairs and match probabilities against Splink's predict.

`None` when the model cannot be scored this way (a level's SQL the compiler does not know, or
a key column holding other than text): the caller then runs Splink's predict.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from resolver.errors import ConfigError
from resolver.linking.model import LinkModel
from resolver.lookup.scoring import (
    CompiledModel,
    compile_model,
    gamma_sql,
    levels_reached,
    match_probability,
    match_weights,
    scratch,
)

# Up to this many pairs each is scored in Python (a one-record write: a DuckDB query's set-up
# would cost more); above, the levels run as SQL in one query.
PYTHON_UP_TO = 200
# The keys, blocks, pairs and term frequencies of text columns in Arrow/numpy (False: row by row
# in Python, ~0.3 s of a 2,000-record write; kept for an A/B and for columns not text)
VECTORIZED = True
LOOPS_UP_TO = 100  # a neighbourhood of this many rows goes row by row: Arrow's set-up cost a
# one-record write ~3 ms more than the loops
# `_scored_in_sql` on this thread's own in-memory DuckDB, kept open, over the whole neighbourhood
# (False: a new database per write, ~20 ms of CPU to open, and the rows in a pair taken first)
REUSED = True


def _plain(column: pd.Series) -> list[Any]:
    """Column values as the compiled levels read them: None for every kind of missing."""
    out: list[Any] = column.tolist()  # ~4x faster than iterating an Arrow-backed column
    for n, v in enumerate(out):
        if isinstance(v, str) or v is None:
            continue
        if v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v):
            out[n] = None
        elif isinstance(v, np.ndarray):
            out[n] = v.tolist()
        elif isinstance(v, np.generic):
            out[n] = v.item()
    return out


def _key_values(columns: list[list[Any]], excluded: list[set[str]]) -> list[str | None] | None:
    """Each record's raw key (`resolver.engines.inputs.key_expression`): the parts joined by '|',
    None when one is missing, empty or excluded; None for the whole key when a part is not text
    (its SQL cast to VARCHAR is not reproduced here)."""
    out: list[str | None] = []
    for parts in zip(*columns, strict=True):
        value: str | None = ""
        for n, part in enumerate(parts):
            if part is None:
                value = None
                break
            if not isinstance(part, str):
                return None
            if part == "" or part in excluded[n]:
                value = None
                break
            value = part if n == 0 else f"{value}|{part}"
        out.append(value)
    return out


def _capped(values: list[str | None], cap: int | None) -> list[str | None]:
    """Values whose block (records sharing it) is over `cap` become None: they block nothing."""
    if not cap:
        return values
    counts = Counter(v for v in values if v is not None)
    return [v if v is not None and counts[v] <= cap else None for v in values]


def _term_frequencies(values: list[Any], used: Sequence[int]) -> list[float | None]:
    """The share of the non-missing `values` held by the value at each of positions `used`
    (Splink's tf table, counted over every value)."""
    keys = [None if v is None else (tuple(v) if isinstance(v, list) else v) for v in values]
    counts = Counter(k for k in keys if k is not None)
    total = sum(counts.values())
    return [None if keys[p] is None else counts[keys[p]] / total for p in used]


def neighbourhood_pairs(hood: pd.DataFrame, touched: Iterable[str], model: LinkModel, compiled: CompiledModel,
                        threshold: float | None = None) -> pd.DataFrame | None:
    """Pairs (unique_id_l, unique_id_r, match_probability, match_weight, match_key, mw_<comparison>…)
    of `hood` with at least one `touched` record, at or above `threshold` (default: the model's
    predict_threshold), as Splink's predict over `hood` gives them; None when the compiled model
    cannot score them (see the module's docstring)."""
    missing = sorted(c for c in model.columns if c not in hood.columns)
    if missing:
        raise ConfigError(str(model.path or model.version),
                          [f"model reads column '{c}' that the records lack" for c in missing])
    if compiled.python is None:
        return None
    if threshold is None:
        threshold = float(model.metadata["clustering"]["predict_threshold"])
    if VECTORIZED and len(hood) > LOOPS_UP_TO:
        vectorized = _pairs_vectorized(hood, touched, model)
        if vectorized is not None:
            ids, left, right, rules = vectorized
            if len(left) > PYTHON_UP_TO:
                return _scored_in_sql(hood, ids, left, right, rules, compiled, threshold)
            pairs = [((i, j), r) for i, j, r in zip(left.tolist(), right.tolist(), rules.tolist(), strict=True)]
            return _scored(hood, ids, pairs, compiled, threshold)
    ids = [str(u) for u in hood["unique_id"]]
    keys: list[list[str | None]] = []
    plain = {c: _plain(hood[c]) for c in {c for key in model.blocking_keys for c in key.columns}}
    for key in model.blocking_keys:
        excluded = [{str(v) for v in key.exclude_values.get(c) or []} for c in key.columns]
        raw = _key_values([plain[c] for c in key.columns], excluded)
        if raw is None:
            return None
        keys.append(_capped(raw, key.max_block_size))
    mine = set(touched)
    at = [i for i, u in enumerate(ids) if u in mine]
    found: dict[tuple[int, int], int] = {}  # (left, right) positions → first blocking rule
    for rule, values in enumerate(keys):
        blocks: dict[str, list[int]] = {}
        for i, v in enumerate(values):
            if v is not None:
                blocks.setdefault(v, []).append(i)
        for i in at:
            v = values[i]
            if v is None:
                continue
            for j in blocks[v]:
                if j != i:
                    found.setdefault((i, j) if ids[i] < ids[j] else (j, i), rule)
    pairs = sorted(found.items(), key=lambda p: (ids[p[0][0]], ids[p[0][1]]))
    if len(pairs) > PYTHON_UP_TO:
        return _scored_in_sql(hood, ids, np.fromiter((i for (i, _), _ in pairs), np.int64, len(pairs)),
                              np.fromiter((j for (_, j), _ in pairs), np.int64, len(pairs)),
                              np.fromiter((r for _, r in pairs), np.int64, len(pairs)), compiled, threshold)
    return _scored(hood, ids, pairs, compiled, threshold)


def text_column(column: pd.Series) -> pa.Array | None:
    """`column` as Arrow large_string, every kind of missing null (as `_plain` reads it); None when it
    holds other than text."""
    try:
        values = pa.array(column, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if pa.types.is_null(values.type) or pa.types.is_string(values.type):
        return values.cast(pa.large_string())  # one type, for the kernels that join them
    if pa.types.is_large_string(values.type):
        return values
    return None


def _codes(values: pa.Array) -> np.ndarray:
    """Each value's number among the distinct ones (-1: null)."""
    indices = values.dictionary_encode().indices
    return np.asarray(pc.fill_null(indices, -1).to_numpy(zero_copy_only=False), dtype=np.int64)


def key_texts(columns: list[pa.Array], excluded: list[set[str]], separator: str) -> pa.Array:
    """Each row's key text from its key's text columns (large_string): the parts joined by
    `separator`, null where a part is missing, empty or in its column's `excluded` values."""
    ok = None
    for values, skip in zip(columns, excluded, strict=True):
        part = pc.and_(pc.is_valid(values), pc.fill_null(pc.not_equal(values, ""), False))
        if skip:
            part = pc.and_(part, pc.invert(pc.is_in(values, value_set=pa.array(sorted(skip), values.type))))
        ok = part if ok is None else pc.and_(ok, part)
    joined = (columns[0] if len(columns) == 1
              else pc.binary_join_element_wise(*columns, pa.scalar(separator, pa.large_string())))
    return pc.if_else(ok, joined, pa.scalar(None, joined.type))


def _key_codes(columns: list[pa.Array], excluded: list[set[str]], cap: int | None) -> np.ndarray:
    """`_capped(_key_values(...))` of text columns as numbers: records with equal numbers (>= 0)
    share a key value; -1 where the key is missing, empty, excluded or its block over `cap`."""
    codes = _codes(key_texts(columns, excluded, "|"))
    if cap:
        counts = np.bincount(codes[codes >= 0], minlength=int(codes.max()) + 1 if len(codes) else 0)
        codes = np.where((codes >= 0) & (counts[np.maximum(codes, 0)] <= cap), codes, -1) if len(counts) else codes
    return codes


def _pairs_vectorized(hood: pd.DataFrame, touched: Iterable[str], model: LinkModel
                      ) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray] | None:
    """(ids, left, right, rule) of the pairs `neighbourhood_pairs` finds, sorted by the pair's IDs,
    from the keys' numbers rather than their text row by row; None when a key column is not text
    or the IDs are not distinct (the row-by-row path then decides)."""
    ids = [str(u) for u in hood["unique_id"].tolist()]
    n = len(ids)
    if n and len(set(ids)) != n:
        return None
    text: dict[str, pa.Array] = {}
    for c in {c for key in model.blocking_keys for c in key.columns}:
        values = text_column(hood[c])
        if values is None:
            return None
        text[c] = values
    rank = np.empty(n, np.int64)
    rank[np.argsort(np.array(ids, dtype=str), kind="stable")] = np.arange(n)
    mine = set(touched)
    mask = np.fromiter((u in mine for u in ids), bool, n)
    found_keys, found_rules = [], []
    for rule, key in enumerate(model.blocking_keys):
        excluded = [{str(v) for v in key.exclude_values.get(c) or []} for c in key.columns]
        codes = _key_codes([text[c] for c in key.columns], excluded, key.max_block_size)
        at = np.flatnonzero(mask & (codes >= 0))
        if not len(at):
            continue
        order = np.argsort(codes, kind="stable")
        ordered = codes[order]
        starts = np.searchsorted(ordered, codes[at], "left")
        sizes = np.searchsorted(ordered, codes[at], "right") - starts
        left = np.repeat(at, sizes)
        offsets = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        right = order[np.repeat(starts, sizes) + offsets]
        apart = left != right
        left, right = left[apart], right[apart]
        first = rank[left] < rank[right]
        low, high = np.where(first, left, right), np.where(first, right, left)
        found_keys.append(low * max(n, 1) + high)
        found_rules.append(np.full(len(low), rule, np.int64))
    if not found_keys:
        empty = np.empty(0, np.int64)
        return ids, empty, empty, empty
    pair_keys, at_first = np.unique(np.concatenate(found_keys), return_index=True)  # first rule to find a pair
    rules = np.concatenate(found_rules)[at_first]
    low, high = pair_keys // max(n, 1), pair_keys % max(n, 1)
    order = np.lexsort((rank[high], rank[low]))
    return ids, low[order], high[order], rules[order]


def _shares(column: pd.Series) -> np.ndarray | None:
    """`_term_frequencies` of every row of a text column (NaN for missing), by numbers not rows;
    None when it holds other than text."""
    values = text_column(column)
    if values is None:
        return None
    codes = _codes(values)
    present = codes >= 0
    total = int(present.sum())
    share = np.full(len(codes), np.nan)
    if total:
        counts = np.bincount(codes[present])
        share[present] = counts[codes[present]] / total
    return share


def _least_weight(threshold: float) -> float | None:
    """The match weight of a match probability threshold (None: keep every pair)."""
    return None if threshold <= 0 else math.log2(threshold / (1 - threshold)) if threshold < 1 else math.inf


def _scored(hood: pd.DataFrame, ids: list[str], pairs: list[tuple[tuple[int, int], int]], compiled: CompiledModel,
            threshold: float) -> pd.DataFrame:
    """Score `pairs` ((left, right) positions in `hood`, rule) and keep those at or above `threshold`."""
    names = [c.name for c in compiled.comparisons]
    used = sorted({i for (i, j), _ in pairs} | {j for (i, j), _ in pairs})
    at = {p: n for n, p in enumerate(used)}
    part = hood.iloc[used]
    columns = {c: _plain(part[c]) for c in compiled.columns}
    rows = [dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)] \
        if columns else [{} for _ in used]
    # term frequencies count over the whole neighbourhood, as Splink's tf tables do
    tf = {c: _term_frequencies(_plain(hood[c]), used) for c in compiled.tf_columns if c in columns}
    least = _least_weight(threshold)
    out: list[tuple[Any, ...]] = []
    for (i, j), rule in pairs:
        a, b = at[i], at[j]
        gammas = levels_reached(compiled, rows[a], rows[b])
        freqs = {c: max(x for x in (f[a], f[b]) if x is not None) for c, f in tf.items()
                 if f[a] is not None or f[b] is not None}
        total, weights = match_weights(compiled, gammas, freqs)
        if least is not None and total < least:
            continue
        out.append((ids[i], ids[j], match_probability(total), total, str(rule),
                    *(0.0 if w is None else w for w in weights)))
    return pd.DataFrame(out, columns=["unique_id_l", "unique_id_r", "match_probability", "match_weight",
                                      "match_key", *(f"mw_{n}" for n in names)])


def _scored_in_sql(hood: pd.DataFrame, ids: list[str], left: np.ndarray, right: np.ndarray, rules: np.ndarray,
                   compiled: CompiledModel, threshold: float) -> pd.DataFrame:
    """`_scored` for many pairs: the levels reached by the model's own SQL in DuckDB (one
    vectorised query, as Splink runs them; ~50-300 µs a pair in Python), the weights in numpy."""
    from resolver.engines.inputs import to_arrow

    if REUSED:  # every row (nearly all are in a pair): no take of the rows used (~15-25 ms for 9,000)
        part = hood[list(compiled.columns)].assign(_pos=np.arange(len(hood)))
    else:
        used = np.unique(np.concatenate([left, right])).tolist()
        part = hood.iloc[used][list(compiled.columns)].assign(_pos=used)
    side = ", ".join(f'{{s}}."{c}" AS "{c}_{{s}}"' for c in compiled.columns)
    con = _pairs_db() if REUSED else duckdb.connect()
    try:
        if not REUSED:
            con.execute("SET threads = 2")
        con.register("side", to_arrow(part.reset_index(drop=True)))
        con.register("pair", pd.DataFrame({"n": np.arange(len(left)), "i": left, "j": right}))
        gammas = con.execute(
            f"WITH x AS (SELECT p.n, {side.format(s='l')}, {side.format(s='r')} FROM pair p "
            "JOIN side l ON l._pos = p.i JOIN side r ON r._pos = p.j) "
            f"SELECT {', '.join(gamma_sql(c) for c in compiled.comparisons)} FROM x ORDER BY n").fetchnumpy()
    finally:
        if REUSED:
            con.unregister("side")
            con.unregister("pair")
        else:
            con.close()
    tf = {}
    for column in compiled.tf_columns:
        share = _shares(hood[column]) if VECTORIZED else None
        if share is None:
            share = np.array([np.nan if f is None else f
                              for f in _term_frequencies(_plain(hood[column]), range(len(hood)))])
        tf[column] = np.fmax(share[left], share[right])  # the larger of the two; NaN only when both are
    keep, total, probability, weights = weigh(compiled, gammas, tf, threshold)
    id_array = np.asarray(ids, dtype=object)
    return pd.DataFrame({"unique_id_l": id_array[left[keep]], "unique_id_r": id_array[right[keep]],
                         "match_probability": probability[keep], "match_weight": total[keep],
                         "match_key": [str(rule) for rule in rules[keep].tolist()],
                         **{name: w[keep] for name, w in weights.items()}})


def _pairs_db() -> duckdb.DuckDBPyConnection:
    """This thread's in-memory DuckDB for `_scored_in_sql` (two threads; it reads no table)."""
    return scratch("pairs", threads=2)


def weigh(compiled: CompiledModel, gammas: Mapping[str, np.ndarray], tf: Mapping[str, np.ndarray],
          threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Splink's arithmetic over many pairs at once: from each comparison's level (`gamma_<name>`)
    and each term-frequency column's share (the larger of the pair's two, NaN when neither has
    one), (kept at or above `threshold`, match weight, match probability, mw_<comparison> each)."""
    n = len(next(iter(gammas.values()))) if gammas else 0
    total = np.full(n, compiled.prior_weight)
    weights = {}
    for comp in compiled.comparisons:
        gamma = np.asarray(gammas[f"gamma_{comp.name}"], dtype=np.int64)
        weight = np.zeros(n)
        for level, lv in enumerate(comp.levels):
            at = gamma == level
            weight[at] = lv.log2_bf
            if lv.tf_column and lv.tf_weight and lv.log2_u_exact is not None and lv.tf_column in tf:
                freq = tf[lv.tf_column]
                adjust = at & ~np.isnan(freq)
                weight[adjust] += lv.tf_weight * (lv.log2_u_exact - np.log2(np.maximum(freq[adjust], lv.tf_min_u)))
        total = total + weight
        weights[f"mw_{comp.name}"] = weight
    least = _least_weight(threshold)
    keep = np.ones(n, dtype=bool) if least is None else total >= least
    with np.errstate(over="ignore"):
        probability = np.where(total > -1000, 1.0 / (1.0 + np.exp2(-total)), 0.0)
    return keep, total, probability, weights


_compiled: dict[tuple[str, str], CompiledModel] = {}
_compiled_lock = threading.Lock()


def compiled_model(model: LinkModel) -> CompiledModel:
    """`model` compiled for scoring (resolver.lookup.scoring.compile_model, ~0.1 s), kept per
    domain and version: a version's JSON never changes."""
    key = (model.domain, model.version)
    with _compiled_lock:
        found = _compiled.get(key)
    if found is None:
        found = compile_model(model)
        with _compiled_lock:
            if len(_compiled) > 16:
                _compiled.clear()
            _compiled[key] = found
    return found
