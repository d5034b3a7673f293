"""Train a linking model: u by random sampling, m by EM over several blocking rules.

A model is published only when it passes sanity checks: EM converged for every rule,
and every level that should be evidence *for* a match (exact and all_exact levels,
identifier levels) has m > u. Anything else raises DegenerateModelError naming the
comparison and level, so a bad training run never replaces a good model.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from splink import Linker
from splink.blocking_rule_library import CustomRule
from splink.internals.expectation_maximisation import _max_change_in_parameters_comparison_levels

from resolver.engines import Engine, get_engine
from resolver.linking.compile import build_settings
from resolver.linking.model import (
    DegenerateModelError,
    LinkModel,
    fingerprint_records,
    level_parameters,
    new_version,
    save_model,
)
from resolver.linking.rules import BlockingKey, RuleSet

log = logging.getLogger(__name__)
_POSITIVE_KINDS = {"exact", "all_exact"}


def em_blocking_sql(key: BlockingKey) -> str:
    """Bounded key plus the real columns, so Splink knows which comparisons EM must not fit."""
    parts = [f'l."{key.key_column}" = r."{key.key_column}"']
    parts += [f'l."{c}" = r."{c}"' for c in key.columns]
    return " AND ".join(parts)


def check_model(settings: dict[str, Any], rules: RuleSet) -> list[str]:
    """Problems that make a model degenerate (empty list when fine)."""
    problems = []
    params = {(r["comparison"], r["level"]): r for r in level_parameters(settings)}
    for comp in rules.comparisons:
        for i, level in enumerate(comp["levels"]):
            if level["kind"] not in _POSITIVE_KINDS and not level.get("when_valid"):
                continue
            p = params.get((comp["name"], i))
            if p is None:
                continue
            m, u = p["m"], p["u"]
            if not isinstance(m, float) or not isinstance(u, float):
                continue  # level never observed: Splink keeps defaults, reported as warning
            if m <= u:
                problems.append(
                    f"comparison '{comp['name']}' level {i} ({p['label']}): m={m:.4g} <= u={u:.4g}; "
                    "an agreement here should be evidence for a match"
                )
    return problems


def train_model(
    records: pd.DataFrame,
    rules: RuleSet,
    labels: pd.DataFrame | None = None,
    *,
    out_dir: str | Path | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
    publish: bool = True,
    engine: str | Engine = "duckdb",
) -> LinkModel:
    """Fit m and u on `records`; save `<out_dir>/<version>.json` when publish is true."""
    rules.check_columns(set(records.columns))
    eng = get_engine(engine)
    con = con or eng.connect()
    keys = rules.blocking + rules.em_rules
    table, stats = eng.prepare_input(con, records, rules.columns_used(), keys)
    linker = Linker(eng.database_api(con).register(table), eng.settings(build_settings(rules)))
    tr = rules.training
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
    problems: list[str] = []
    em_log = []
    max_iter = int(tr.get("em_max_iterations", 25))
    for key in rules.em_rules:
        session = linker.training.estimate_parameters_using_expectation_maximisation(
            CustomRule(em_blocking_sql(key), sql_dialect="duckdb"),
            max_pairs=float(tr["em_max_pairs"]) if tr.get("em_max_pairs") else None,
        )
        history = session._core_model_settings_history
        iterations = len(history) - 1
        change = _max_change_in_parameters_comparison_levels(history)["max_abs_change_value"]
        em_log.append({"rule": key.name, "iterations": iterations, "last_change": change})
        if iterations >= max_iter and change >= float(tr.get("em_convergence", 0.0001)):
            problems.append(f"EM on training rule '{key.name}' did not converge in "
                            f"{iterations} iterations (last change {change:.3g})")
    if labels is not None and len(labels):
        lab = labels[["unique_id_l", "unique_id_r", "is_match"]].copy()
        lab["is_match"] = lab["is_match"].astype(bool)
        eng.load_frame(con, "_linking_labels", lab[lab["is_match"]])
        linker.training.estimate_m_from_pairwise_labels("_linking_labels")

    settings = eng.portable_settings(linker.misc.save_model_to_json(), build_settings(rules))
    problems += check_model(settings, rules)
    if problems:
        raise DegenerateModelError("refusing to publish a degenerate model:\n  - "
                                   + "\n  - ".join(problems))
    fingerprint = fingerprint_records(records)
    version = new_version(rules.domain, fingerprint, rules.rules_hash)
    meta = {
        "version": version,
        "domain": rules.domain,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "training_fingerprint": fingerprint,
        "training_records": len(records),
        "labelled_pairs": 0 if labels is None else len(labels),
        "rules_hash": rules.rules_hash,
        "engine": eng.name,
        "blocking_keys": [asdict(k) for k in rules.blocking],
        "columns": sorted(rules.columns_used()),
        "clustering": rules.clustering,
        "em": em_log,
        "blocking_stats": [asdict(s) for s in stats],
    }
    model = LinkModel(rules.domain, version, settings, meta, prepared=(con, table, id(records), stats))
    if publish:
        save_model(model, out_dir or rules.path / "models")
    return model
