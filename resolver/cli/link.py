"""Verbs that link source records: train, resolve, evaluate."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Literal, cast

import pandas as pd
import typer

from resolver.cli.app import DomainOption, app, existing_store, state
from resolver.cli.progress import advance, steps
from resolver.errors import InputError

DbOption = Annotated[Path, typer.Option("--db", help="Master store (DuckDB file).")]
EngineName = Literal["duckdb", "spark"]  # resolver.engines.ENGINES (a test keeps them equal)
EngineOption = Annotated[EngineName, typer.Option(
    "--engine", help="Where linking runs: duckdb (in-process, default) or spark (Splink's Spark "
    "backend; RESOLVER_SPARK_MASTER, RESOLVER_SPARK_MEMORY set the session).")]
RulesOption = Annotated[
    Path | None, typer.Option("--rules", help="Folder holding <domain>/*.yaml rule files "
                              "(default: matching_rules/).")
]


def _quiet_splink() -> None:
    for name in ("splink", "splink.internals"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _engine(name: str) -> EngineName:
    """The engine name; typer already refuses others, this guards direct calls."""
    from resolver.engines import ENGINES

    if name not in ENGINES:
        raise InputError(f"unknown engine {name!r}: expected one of {', '.join(ENGINES)}")
    return cast(EngineName, name)


@app.command()
def train(
    db: DbOption,
    domain: DomainOption,
    labels: Annotated[Path | None, typer.Option(
        "--labels", help="CSV of labelled pairs: unique_id_l, unique_id_r, is_match.")] = None,
    decisions: Annotated[bool, typer.Option(
        "--decisions", help="Use the data steward's same / different decisions recorded in the store as "
        "labelled pairs too (with --labels, the file wins on a pair in both).")] = False,
    rules_root: RulesOption = None,
    models_dir: Annotated[Path | None, typer.Option(
        "--models-dir", help="Where to write the model JSON (default: matching_rules/<domain>/models/).")] = None,
    engine: EngineOption = "duckdb",
) -> None:
    """Fit the linking model (u by random sampling, m by EM) and save it as a new model version,
    with the rule files' hash, clustering thresholds, constraints and survivorship recorded in it."""
    from resolver.engine import Resolver
    from resolver.linking.report import short_lines
    from resolver.rules import DomainRules
    from resolver.store import open_store

    _quiet_splink()
    engine = _engine(engine)
    rules = DomainRules.load(domain, rules_root)
    if labels is not None and not labels.exists():
        raise InputError(f"labels file not found: {labels}")
    store = open_store(existing_store(db))
    try:
        resolver = Resolver(store, domain, rules, engine)
        with steps(3, f"train {domain}") as bar:
            model = resolver.train(labels, decisions=decisions, out_dir=models_dir or rules.path / "models",
                                   step=lambda name: advance(bar, name))
            advance(bar, "publishing model version into the store")
            resolver.publish(model)
    finally:
        store.close()
    typer.echo(f"model version {model.version} trained on {model.metadata['training_records']} source records, "
               f"published in "
               f"{db} (a copy: {model.path})")
    if decisions:
        typer.echo(f"labels: {model.metadata.get('labelled_from_decisions', 0)} recorded decisions (same and "
                   f"different) of {model.metadata.get('labelled_pairs', 0)} labelled pairs in all; only matching "
                   "pairs inform m")
    for line in short_lines(model):
        typer.echo(line)
    recorded = model.clustering
    typer.echo(f"clustering.yaml and survivorship.yaml recorded with this version: `resolve` links at match "
               f"probability >= {recorded['match_probability_threshold']} under "
               f"{len(recorded.get('constraints') or [])} hard constraints (a later edit of the rule files "
               "takes effect at the next train)")
    typer.echo(f"every level: resolver model show --db {db} --domain {domain}")


@app.command()
def resolve(
    db: DbOption,
    domain: DomainOption,
    rules_root: RulesOption = None,
    engine: EngineOption = "duckdb",
    model_version: Annotated[str | None, typer.Option(
        "--model-version", help="Resolve with this published model version (default: the newest).")] = None,
) -> None:
    """Link source records with the newest model version (or --model-version), cluster under the
    thresholds and hard constraints recorded with it, give entities stable master IDs and rebuild
    golden records with the survivorship rules recorded with it: the model version alone decides.
    --rules only matters for a version trained before survivorship was recorded (its
    survivorship.yaml is used then, and the summary says so) and for the note on edits since."""
    from resolver.engine import Resolver
    from resolver.store import open_store

    # Splink warns at length about parameters left at defaults; `resolver model show` reports
    # them per level, and --debug brings Splink's log back.
    if not state["debug"]:
        for name in ("splink", "splink.internals"):
            logging.getLogger(name).setLevel(logging.ERROR)
    engine = _engine(engine)
    store = open_store(existing_store(db))
    try:
        resolver = Resolver(store, domain, engine=engine, rules_root=rules_root)
        with steps(4, f"resolve {domain}") as bar:
            resolution = resolver.resolve(model_version, step=lambda name: advance(bar, name))
    finally:
        store.close()
    for line in resolution.lines():
        typer.echo(line)


@app.command()
def evaluate(
    db: DbOption,
    domain: DomainOption,
    truth: Annotated[Path | None, typer.Option(
        "--truth", help="CSV with source, source_record_id, entity_id [, domain]. Without it: the pairs "
        "decided in the review queue.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the full report (JSON).")] = None,
    model_only: Annotated[bool, typer.Option(
        "--model-only", help="Without --truth: score the model's own clustering, linked again without the "
        "decisions (as long as a resolve), instead of the stored resolution, which honours them.")] = False,
) -> None:
    """Pairwise and B-cubed precision/recall/F1 of the current resolution against truth; without
    --truth, pairwise precision/recall on the pairs decided same or different in the review queue."""
    from resolver.engine import Resolver
    from resolver.store import open_store

    if truth is None:
        _evaluate_decisions(db, domain, out, model_only)
        return
    if model_only:
        raise InputError("--model-only scores against the recorded decisions: leave out --truth")
    if not truth.exists():
        raise InputError(f"truth file not found: {truth}")
    truth_frame = pd.read_csv(truth, dtype=str)
    if "domain" in truth_frame:
        truth_frame = truth_frame[truth_frame["domain"] == domain]
    store = open_store(existing_store(db), read_only=True)
    try:
        result = Resolver(store, domain).evaluate(truth_frame)
    finally:
        store.close()
    pw, b3 = result["pairwise"], result["bcubed"]
    typer.echo(f"{domain}: {result['source_records']} source records evaluated")
    typer.echo(f"pairwise  P {pw['precision']:.4f}  R {pw['recall']:.4f}  F1 {pw['f1']:.4f}")
    typer.echo(f"B-cubed   P {b3['precision']:.4f}  R {b3['recall']:.4f}  F1 {b3['f1']:.4f}")
    for row in result["per_source_pair"]:
        typer.echo(f"  {row['sources']:<32} P {row['precision']:.4f}  R {row['recall']:.4f}  "
                   f"F1 {row['f1']:.4f}  ({int(row['true_pairs'])} true pairs)")
    if out is not None:
        out.write_text(json.dumps(result, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
        typer.echo(f"full report with worst errors: {out}")


def _evaluate_decisions(db: Path, domain: str, out: Path | None, model_only: bool) -> None:
    """`evaluate` without a truth file: against the review queue's decisions."""
    from resolver.engine import Resolver
    from resolver.store import open_store

    _quiet_splink()
    store = open_store(existing_store(db), read_only=True)
    try:
        resolver = Resolver(store, domain)
        clusters = resolver.link(decisions=False) if model_only else None
        result = resolver.evaluate_decisions(clusters=clusters)
    finally:
        store.close()
    counts, pw = result["decisions"], result["pairwise"]
    what = "the model's own clustering (without the decisions)" if model_only else "the current resolution"
    typer.echo(f"{domain}: {what} against {counts['scored']} recorded decisions ({counts['same']} same, "
               f"{counts['different']} different; {counts['unsure']} unsure and {counts['not_in_records']} "
               "naming records no longer held left out)")
    typer.echo(f"pairwise  P {pw['precision']:.4f}  R {pw['recall']:.4f}  F1 {pw['f1']:.4f}  "
               f"({pw['false_merges']} false merges, {pw['missed_links']} missed links)")
    if not model_only:
        typer.echo("note: resolve honours the decisions, so the pairs decided before the last resolve agree "
                   "unless a hard constraint refused a same; --model-only measures the model itself")
    if out is not None:
        out.write_text(json.dumps(result, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
        typer.echo(f"full report: {out}")
