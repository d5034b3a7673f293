"""Score one query record against candidate source records with a published Splink model.

Splink itself reads the model JSON once (at server start), resolving defaults exactly as
it does in `linker.inference.predict`; we keep its per-level parameters (m, u, Bayes
factor, term-frequency settings) and its own `sql_condition`s, compiled to Python closures
(resolver.lookup.levels; ~0.1 ms per request where DuckDB planning the same SQL took 4–8 ms).
A model whose SQL the compiler does not know is scored by one parameterised DuckDB query
over the query × candidates instead. The match weight is summed in Python: prior +
Σ log2(Bayes factor) + term-frequency adjustments, the same arithmetic as Splink's predict
(tests check parity on real pairs, both ways). A Splink Linker per request would cost
hundreds of milliseconds.
"""

from __future__ import annotations

import atexit
import logging
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
from splink import DuckDBAPI, Linker

from resolver.linking.compile import splink_log_level
from resolver.linking.model import LinkModel
from resolver.lookup.levels import Expr, Unsupported, compile_condition
from resolver.store.store import column_type


@dataclass(frozen=True)
class Level:
    label: str
    sql: str
    log2_bf: float
    tf_column: str | None
    tf_weight: float
    tf_min_u: float
    log2_u_exact: float | None


@dataclass(frozen=True)
class Comparison:
    name: str
    null_sql: str | None
    levels: tuple[Level, ...]


@dataclass(frozen=True)
class CompiledModel:
    """A model ready to score: comparisons, prior and the columns it reads."""

    version: str
    domain: str
    prior_weight: float
    comparisons: tuple[Comparison, ...]
    columns: tuple[str, ...]
    threshold: float
    # Per comparison: (NULL condition, one condition per level) as Python (resolver.lookup.levels),
    # or None when some level uses SQL the compiler does not know: then scoring runs the SQL.
    python: tuple[tuple[Expr | None, tuple[Expr, ...]], ...] | None = field(default=None, compare=False)
    review_threshold: float = 0.0  # the model's predict_threshold: pairs kept for clerical review

    @property
    def tf_columns(self) -> set[str]:
        return {lv.tf_column for c in self.comparisons for lv in c.levels if lv.tf_column}


def _level_weight(level: Any) -> float:
    """Splink's own match weight of a level: log2(m/u) with m and u clamped below at 1e-300.

    An m or u of 0 (a level EM never saw among matches, or random pairs never reach) thus
    weighs about ±997, exactly as in Splink's predict; a cap of our own would disagree.
    """
    weight = level._match_weight
    return 0.0 if weight is None else float(weight)


def compile_model(model: LinkModel) -> CompiledModel:
    """Let Splink load the model (defaults and all) and keep what scoring needs."""
    columns = sorted(model.columns | {"unique_id"})
    con = duckdb.connect()
    keys = [k.key_column for k in model.blocking_keys]
    types = ", ".join([f'NULL::{column_type(c)} AS "{c}"' for c in columns if c != "unique_id"]
                      + [f'NULL::VARCHAR AS "{k}"' for k in keys])
    con.execute(f"CREATE TABLE model_columns AS SELECT 'x' AS unique_id, {types}")
    # Splink's default log_level (INFO) would set the `splink` logger for the whole process: a
    # server then logged every incremental write's predict. The CLI's --debug decides (cli.app).
    # Its settings validation only logs columns missing from the table, and the table is made of
    # the model's own columns: ~0.45 CPU s a model (a server start compiles each domain's).
    linker = Linker(DuckDBAPI(connection=con).register("model_columns"), model.splink_settings(),
                    log_level=splink_log_level(), validate_settings=False)
    settings = linker._settings_obj
    comparisons = []
    for comp in settings.comparisons:
        null_sql = None
        levels = []
        for lv in comp.comparison_levels:
            if lv.is_null_level:
                null_sql = lv.sql_condition
                continue
            tf_col = lv._tf_adjustment_input_column_name if lv._has_tf_adjustments else None
            u_exact = lv._u_probability_corresponding_to_exact_match(comp.comparison_levels) if tf_col else None
            levels.append(Level(str(lv.label_for_charts), lv.sql_condition, _level_weight(lv),
                                tf_col, float(lv._tf_adjustment_weight or 0.0),
                                float(lv._tf_minimum_u_value or 0.0),
                                math.log2(u_exact) if u_exact else None))
        comparisons.append(Comparison(comp.output_column_name, null_sql, tuple(levels)))
    p = settings._probability_two_random_records_match
    con.close()
    clustering = model.metadata.get("clustering", {})
    threshold = float(clustering.get("match_probability_threshold", 0.9))
    return CompiledModel(model.version, model.domain, math.log2(p / (1 - p)), tuple(comparisons),
                         tuple(c for c in columns if c != "unique_id"), threshold, _in_python(comparisons),
                         float(clustering.get("predict_threshold", threshold)))


def _in_python(comparisons: list[Comparison]) -> tuple[tuple[Expr | None, tuple[Expr, ...]], ...] | None:
    def level(sql: str) -> Expr:
        return (lambda left, right: True) if sql.strip().upper() == "ELSE" else compile_condition(sql)
    try:
        return tuple((compile_condition(c.null_sql) if c.null_sql else None, tuple(level(lv.sql) for lv in c.levels))
                     for c in comparisons)
    except Unsupported as exc:
        logging.getLogger(__name__).info("scoring in SQL: %s", exc)
        return None


def levels_reached(model: CompiledModel, query: dict[str, Any], candidate: dict[str, Any]) -> list[int]:
    """The comparison level each comparison reaches (-1: a value is missing), in Python."""
    assert model.python is not None
    out = []
    for null, levels in model.python:
        if null is not None and null(query, candidate) is True:
            out.append(-1)
            continue
        out.append(next((i for i, cond in enumerate(levels) if cond(query, candidate) is True), len(levels) - 1))
    return out


def gamma_sql(comp: Comparison) -> str:
    """SQL of the level a comparison reaches (-1: a value is missing), over `<column>_l`/`_r`."""
    whens = []
    if comp.null_sql:
        whens.append(f"WHEN {comp.null_sql} THEN -1")
    for i, lv in enumerate(comp.levels):
        if lv.sql.strip().upper() == "ELSE":
            whens.append(f"ELSE {i}")
        else:
            whens.append(f"WHEN {lv.sql} THEN {i}")
    if not any(w.startswith("ELSE") for w in whens):
        whens.append(f"ELSE {len(comp.levels) - 1}")
    return f'CASE {" ".join(whens)} END AS "gamma_{comp.name}"'


def scoring_sql(model: CompiledModel, n_candidates: int) -> str:
    """SQL over (query) × (candidates), both given as parameters: no table is read."""
    left = ", ".join(f'?::{column_type(c)} AS "{c}_l"' for c in model.columns)
    one = ", ".join(["?::VARCHAR", *(f"?::{column_type(c)}" for c in model.columns)])
    names = ", ".join(["unique_id", *(f'"{c}_r"' for c in model.columns)])
    rows = ", ".join(f"({one})" for _ in range(n_candidates))
    gammas = ", ".join(gamma_sql(c) for c in model.comparisons)
    return (f"WITH l AS (SELECT {left}), r AS (SELECT * FROM (VALUES {rows}) AS v({names})) "
            f"SELECT r.unique_id, {gammas} FROM l, r")


_local = threading.local()
_opened: list[duckdb.DuckDBPyConnection] = []
_opened_lock = threading.Lock()


def _scratch() -> duckdb.DuckDBPyConnection:
    """This thread's in-memory DuckDB for scoring in SQL (the SQL reads no table): without the
    optimizer (nothing to optimise over a few parameter rows) it costs ~4 ms, not ~6; one thread
    (its own database: a few rows need no worker threads)."""
    return scratch("score", threads=1, optimizer=False)


def scratch(name: str, threads: int, optimizer: bool = True) -> duckdb.DuckDBPyConnection:
    """This thread's in-memory DuckDB `name` with `threads` threads, opened once (opening one
    costs ~20 ms of CPU) and closed at exit; its users register their frames and unregister them."""
    cons: dict[str, duckdb.DuckDBPyConnection] | None = getattr(_local, "named", None)
    if cons is None:
        cons = _local.named = {}
    con = cons.get(name)
    if con is None:
        con = cons[name] = duckdb.connect()
        if not optimizer:
            con.execute("PRAGMA disable_optimizer")
        con.execute(f"SET threads = {int(threads)}")
        with _opened_lock:
            _opened.append(con)
    return con


def close_scratch() -> None:
    """Close every thread's scratch database. Runs at exit: a DuckDB left open in a thread-local
    of a still-running (daemon) thread is torn down with the interpreter and aborts it."""
    with _opened_lock:
        for con in _opened:
            con.close()
        _opened.clear()


atexit.register(close_scratch)


def score(model: CompiledModel, query: dict[str, Any], candidates: list[dict[str, Any]],
          tf: dict[str, float]) -> list[dict[str, Any]]:
    """Match weight, match probability and per-comparison contributions for each candidate.

    `candidates` are source records (unique_id and the model's columns); `tf[column]` is the
    term frequency of the query's value in that column (absent: no adjustment).
    """
    if not candidates:
        return []
    if model.python is not None:
        rows: list[Any] = [(cand["unique_id"], *levels_reached(model, query, cand)) for cand in candidates]
    else:
        params = [query.get(c) for c in model.columns]
        for cand in candidates:
            params += [cand["unique_id"], *(cand.get(c) for c in model.columns)]
        rows = _scratch().execute(scoring_sql(model, len(candidates)), params).fetchall()
    out = []
    for row in rows:
        unique_id, gammas = row[0], row[1:]
        total, weights = match_weights(model, gammas, tf)
        fields = []
        for comp, gamma, weight in zip(model.comparisons, gammas, weights, strict=True):
            if weight is None:
                fields.append({"comparison": comp.name, "level": "missing", "match_weight": 0.0, "gamma": -1,
                               "tf_adjustment": 0.0})
                continue
            lv = comp.levels[gamma]
            # the tf adjustment kept apart for the explanation (resolver.lookup.explain)
            fields.append({"comparison": comp.name, "level": lv.label, "match_weight": round(weight, 4),
                           "gamma": gamma, "tf_adjustment": weight - lv.log2_bf})
        out.append({"unique_id": unique_id, "match_weight": round(total, 4),
                    "match_probability": match_probability(total), "comparisons": fields})
    return out


def match_weights(model: CompiledModel, gammas: Sequence[int | None], tf: dict[str, float]
                  ) -> tuple[float, list[float | None]]:
    """(match weight, each comparison's weight or None where a value is missing) for the levels
    reached (`gammas`, as `levels_reached` gives them), unrounded. `tf[column]` is the term
    frequency to adjust by (Splink takes the larger of the pair's two; absent: no adjustment)."""
    total = model.prior_weight
    weights: list[float | None] = []
    for comp, gamma in zip(model.comparisons, gammas, strict=True):
        if gamma is None or gamma < 0:
            weights.append(None)
            continue
        lv = comp.levels[gamma]
        weight = lv.log2_bf
        if lv.tf_column and lv.tf_weight and lv.log2_u_exact is not None and lv.tf_column in tf:
            weight += lv.tf_weight * (lv.log2_u_exact - math.log2(max(tf[lv.tf_column], lv.tf_min_u)))
        total += weight
        weights.append(weight)
    return total, weights


def match_probability(weight: float) -> float:
    """The match probability of a match weight (Splink's formula)."""
    return 1.0 / (1.0 + 2.0 ** (-weight)) if weight > -1000 else 0.0
