"""Train a linking model: u by random sampling, m by EM over several blocking rules.

Training adapts to the data instead of refusing it: every comparison level ends up either
trained or with a documented fallback (resolver.linking.fallback), and the model records
which, with m, u, match weight and the pairs EM saw at that level. A training rule whose EM
does not converge, or that finds no pairs, is left out with a warning. Only when no rule
trained anything (and no labelled pairs were given) is the model refused: DegenerateModelError,
so a training run with nothing to learn from never replaces a good model.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd
from splink import Linker
from splink.blocking_rule_library import CustomRule
from splink.internals.em_training_session import EMTrainingSession
from splink.internals.exceptions import EMTrainingException
from splink.internals.expectation_maximisation import _max_change_in_parameters_comparison_levels

from resolver.engines import Engine, get_engine
from resolver.linking.compile import build_settings, splink_log_level
from resolver.linking.fallback import LevelEstimates, apply_levels, decide_levels
from resolver.linking.model import (
    DegenerateModelError,
    LinkModel,
    fingerprint_records,
    new_version,
    save_model,
)
from resolver.linking.rules import BlockingKey, RuleSet
from resolver.linking.sample import TrainingSample

if TYPE_CHECKING:
    from pyspark.sql import DataFrame as SparkDataFrame

log = logging.getLogger(__name__)


def em_blocking_sql(key: BlockingKey) -> str:
    """Bounded key plus the real columns, so Splink knows which comparisons EM must not fit."""
    parts = [f'l."{key.key_column}" = r."{key.key_column}"']
    parts += [f'l."{c}" = r."{c}"' for c in key.columns]
    return " AND ".join(parts)


@contextmanager
def _quiet_splink() -> Iterator[None]:
    """Splink's warnings about untrained levels and sample sizes, off while training: the
    model's level report says the same thing, per level. Left on when Splink logs at INFO
    (`--debug`)."""
    if logging.getLogger("splink").getEffectiveLevel() <= logging.INFO:
        yield
        return
    names = ["splink"] + [n for n in logging.root.manager.loggerDict if n.startswith("splink.")]
    before = {n: logging.getLogger(n).level for n in names}
    for n in names:
        if n == "splink" or before[n]:  # children without a level of their own follow "splink"
            logging.getLogger(n).setLevel(logging.ERROR)
    try:
        yield
    finally:
        for n, level in before.items():
            logging.getLogger(n).setLevel(level)


@contextmanager
def _keep_comparison_vectors() -> Iterator[list[Any]]:
    """The pairs EM trains on, as Splink computes them, to count the pairs at each level.

    Splink does not return them; catching them here avoids blocking and comparing a second time.
    """
    grabbed: list[Any] = []
    original = EMTrainingSession._comparison_vectors

    def keep(self: EMTrainingSession) -> Any:
        frame = original(self)
        grabbed.append(frame)
        return frame

    EMTrainingSession._comparison_vectors = keep  # type: ignore[method-assign]
    try:
        yield grabbed
    finally:
        EMTrainingSession._comparison_vectors = original  # type: ignore[method-assign]


def _level_counts(linker: Linker, vectors: Any, session: EMTrainingSession) -> dict[tuple[str, int], int]:
    """(comparison, comparison vector value) -> pairs among EM's training pairs."""
    parts = [f"SELECT '{cc.output_column_name}' AS comparison, {cc._gamma_column_name} AS cvv, "
             f"count(*) AS n FROM {vectors.physical_name} GROUP BY {cc._gamma_column_name}"
             for cc in session.core_model_settings.comparisons]
    if not parts:
        return {}
    rows = linker.misc.query_sql(" UNION ALL ".join(parts), output_type="pandas")
    return {(str(r.comparison), int(r.cvv)): int(r.n) for r in rows.itertuples()}


def _run_em(linker: Linker, rules: RuleSet) -> tuple[list[dict[str, Any]], set[str], dict[tuple[str, int], int],
                                                     list[str]]:
    """EM once per training rule: the log, descriptions of discarded runs, level counts, warnings."""
    tr = rules.training
    max_iter = int(tr.get("em_max_iterations", 25))
    em_log: list[dict[str, Any]] = []
    discarded: set[str] = set()
    counts: dict[tuple[str, int], int] = {}
    warnings: list[str] = []
    for key in rules.em_rules:
        with _keep_comparison_vectors() as grabbed:
            try:
                session = linker.training.estimate_parameters_using_expectation_maximisation(
                    CustomRule(em_blocking_sql(key), sql_dialect="duckdb"),
                    max_pairs=float(tr["em_max_pairs"]) if tr.get("em_max_pairs") else None,
                )
            except EMTrainingException:
                em_log.append({"rule": key.name, "iterations": 0, "last_change": None, "used": False})
                warnings.append(f"training rule '{key.name}' found no pairs of records: left out")
                continue
        history = session._core_model_settings_history
        iterations = len(history) - 1
        change = _max_change_in_parameters_comparison_levels(history)["max_abs_change_value"]
        used = not (iterations >= max_iter and change >= float(tr.get("em_convergence", 0.0001)))
        em_log.append({"rule": key.name, "iterations": iterations, "last_change": change, "used": used})
        if not used:
            discarded.add(f"EM, blocked on: {session._blocking_rule_for_training.blocking_rule_sql}")
            warnings.append(f"EM on training rule '{key.name}' did not converge in {iterations} "
                            f"iterations (last change {change:.3g}): its estimates are left out")
        elif grabbed:
            for k, n in _level_counts(linker, grabbed[-1], session).items():
                counts[k] = counts.get(k, 0) + n
    return em_log, discarded, counts, warnings


def _level_estimates(linker: Linker, discarded: set[str], counts: dict[tuple[str, int], int]
                     ) -> dict[tuple[str, int], LevelEstimates]:
    """Usable m and u estimates per (comparison, level position) from Splink's training record."""
    out = {}
    for cc in linker._settings_obj.comparisons:
        name = cc.output_column_name
        counted = any(k[0] == name for k in counts)
        for pos, cl in enumerate(cc.comparison_levels):
            if cl.is_null_level:
                continue
            m = [float(r["probability"]) for r in cl._trained_m_probabilities
                 if isinstance(r["probability"], float) and r["description"] not in discarded]
            u = [float(r["probability"]) for r in cl._trained_u_probabilities
                 if isinstance(r["probability"], float)]
            pairs = counts.get((name, cl.comparison_vector_value), 0) if counted else None
            out[(name, pos)] = LevelEstimates(m, u, pairs)
    return out


def _count_and_fingerprint(records: pd.DataFrame | SparkDataFrame) -> tuple[int, str]:
    if isinstance(records, pd.DataFrame):
        return len(records), fingerprint_records(records)
    from resolver.engines.spark_train import count_and_fingerprint

    return count_and_fingerprint(records)  # counted where the records are, a row per partition back


def train_model(
    records: pd.DataFrame | SparkDataFrame,
    rules: RuleSet,
    labels: pd.DataFrame | None = None,
    *,
    out_dir: str | Path | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
    publish: bool = True,
    engine: str | Engine = "duckdb",
    sample: TrainingSample | None = None,
) -> LinkModel:
    """Fit m and u on `records`; save `<out_dir>/<version>.json` when publish is true. `records` is
    a pandas frame, or on the Spark engine a Spark DataFrame (resolver.engines.spark_train: the
    records stay in Spark).

    `sample`: `records` are a random sample of a larger set (resolver.linking.sample), whose
    blocking-key caps and statistics it carries; the model records the sample."""
    rules.check_columns(set(records.columns))
    eng = get_engine(engine)
    con = con or eng.connect()
    keys = rules.blocking + rules.em_rules
    if sample is None:
        table, stats = eng.prepare_input(con, records, rules.columns_used(), keys)
    else:
        table, _ = eng.prepare_input(con, records, rules.columns_used(), keys, over_cap=sample.over_cap)
        stats = sample.stats  # what the keys yield on every record, as resolve will see them
    linker = Linker(eng.database_api(con).register(table), eng.settings(build_settings(rules)),
                    log_level=splink_log_level())
    tr = rules.training
    with _quiet_splink():
        prior = tr.get("prior")
        if prior:
            # the share of matching pairs falls as 1/N, so it is measured, not fixed
            by_name = {k.name: k for k in rules.blocking}
            linker.training.estimate_probability_two_random_records_match(
                [CustomRule(em_blocking_sql(by_name[n]), sql_dialect="duckdb")
                 for n in prior["deterministic_rules"]],
                recall=float(prior["recall"]),
            )
        linker.training.estimate_u_using_random_sampling(
            max_pairs=float(tr["u_max_pairs"]), seed=tr.get("seed")
        )
        em_log, discarded, counts, warnings = _run_em(linker, rules)
        if labels is not None and len(labels):
            lab = labels[["unique_id_l", "unique_id_r", "is_match"]].copy()
            lab["is_match"] = lab["is_match"].astype(bool)
            eng.load_frame(con, "_linking_labels", lab[lab["is_match"]])
            linker.training.estimate_m_from_pairwise_labels("_linking_labels")

    has_labels = labels is not None and len(labels) > 0
    if not has_labels and not any(e["used"] for e in em_log):
        raise DegenerateModelError("refusing to publish a model trained on nothing:\n  - "
                                   + "\n  - ".join(warnings or ["no training rule in training.yaml"]))
    settings = eng.portable_settings(linker.misc.save_model_to_json(), build_settings(rules))
    n, fingerprint = _count_and_fingerprint(records)  # u sampling drew its pairs from these, sample or not
    u_bound = 1.0 / max(1.0, min(float(tr["u_max_pairs"]), n * (n - 1) / 2))
    levels, fallbacks = decide_levels(rules, _level_estimates(linker, discarded, counts), u_bound)
    apply_levels(settings, levels)
    for w in warnings + fallbacks:
        log.info("%s: %s", rules.domain, w)
    version = new_version(rules.domain, fingerprint, rules.rules_hash)
    meta = {
        "version": version,
        "domain": rules.domain,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "training_fingerprint": fingerprint,
        "training_records": n,
        "labelled_pairs": 0 if labels is None else len(labels),
        "rules_hash": rules.rules_hash,
        "engine": eng.name,
        "blocking_keys": [asdict(k) for k in rules.blocking],
        "columns": sorted(rules.columns_used()),
        "clustering": rules.clustering,
        "em": em_log,
        "levels": [lv.as_dict() for lv in levels],
        "warnings": warnings + fallbacks,
        "blocking_stats": [asdict(s) for s in stats],
    }
    if sample is not None:
        meta["training_sample"] = sample.metadata()
    # a sample's prepared input is not the records resolve links: never reused for them
    prepared = (con, table, id(records), stats) if sample is None else None
    model = LinkModel(rules.domain, version, settings, meta, prepared=prepared)
    if publish:
        save_model(model, out_dir or rules.path / "models")
    return model
