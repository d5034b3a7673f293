"""Score candidate pairs of source records with a trained model."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import duckdb
import pandas as pd
from splink import Linker

from resolver.engines import Engine, get_engine
from resolver.engines.inputs import KeyStats
from resolver.errors import ConfigError
from resolver.laps import Laps
from resolver.linking.compile import splink_log_level
from resolver.linking.model import LinkModel


def _linker(con: duckdb.DuckDBPyConnection, table: str, model: LinkModel,
            engine: str | Engine = "duckdb") -> Linker:
    eng = get_engine(engine)
    # Splink's settings validation parses every level's SQL to log unknown columns (~0.2 s, most
    # of an incremental call); the model's columns were checked at train and by predict_pairs.
    return Linker(eng.database_api(con).register(table), eng.settings(model.splink_settings()),
                  log_level=splink_log_level(), validate_settings=False)


def predict_pairs(
    records: pd.DataFrame,
    model: LinkModel,
    *,
    threshold: float | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
    stats_out: list[dict[str, Any]] | None = None,
    engine: str | Engine = "duckdb",
    laps: Laps | None = None,
) -> pd.DataFrame:
    """Pairs (unique_id_l, unique_id_r, match_probability, match_weight, mw_<comparison>…).

    Only pairs at or above `threshold` (default: the model's predict_threshold) are kept.
    `mw_<comparison>` is each comparison's match weight, the per-field explanation. `laps` gets
    the seconds of the blocking keys (the input table) and of the prediction (pairs, comparisons,
    match probabilities, the kept pairs read back).
    """
    missing = sorted(c for c in model.columns if c not in records.columns)
    if missing:
        raise ConfigError(str(model.path or model.version),
                          [f"model reads column '{c}' that the records lack" for c in missing])
    eng = get_engine(engine)
    con = con or eng.connect()
    if threshold is None:
        threshold = float(model.metadata["clustering"]["predict_threshold"])
    prep = model.prepared
    if prep is not None and prep[0] is con and prep[2] == id(records):
        table, stats = prep[1], prep[3][: len(model.blocking_keys)]  # same records, same keys
    else:
        table, stats = eng.prepare_input(con, records, model.columns, model.blocking_keys)
    if laps is not None:
        laps.lap("blocking keys")
    if stats_out is not None:
        stats_out.extend(asdict(s) for s in stats)
    linker = _linker(con, table, model, eng)
    sdf = linker.inference.predict(threshold_match_probability=threshold)
    comps = [c["output_column_name"] for c in model.settings["comparisons"]]
    have = set(eng.columns(con, sdf.physical_name))
    # Splink reports each comparison's match weight as mw_<c>, its tf adjustment apart
    mw = [
        f'"mw_{c}" + coalesce("mw_tf_adj_{c}", 0) AS "mw_{c}"' if f"mw_tf_adj_{c}" in have
        else f'"mw_{c}"'
        for c in comps if f"mw_{c}" in have
    ]
    cols = ["unique_id_l", "unique_id_r", "match_probability", "match_weight", "match_key"]
    # In a fixed order: the clustering takes pairs of equal match probability in the order given,
    # and the session's order (no insertion order kept, several threads, spilling under its memory
    # limit) is not the same from one run to the next.
    sql = f"SELECT {', '.join(cols + mw)} FROM {sdf.physical_name} ORDER BY unique_id_l, unique_id_r"
    pairs = eng.query(con, sql)
    sdf.drop_table_from_database_and_remove_from_cache()
    if laps is not None:
        laps.lap("prediction")
    return pairs


def block_stats_frame(stats: list[KeyStats] | list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame([s if isinstance(s, dict) else asdict(s) for s in stats])
