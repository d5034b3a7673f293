"""Verbs that link source records: train, resolve, evaluate."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast

import pandas as pd
import typer

from resolver.cli.app import DomainOption, app, existing_store, state
from resolver.cli.progress import advance, steps
from resolver.errors import InputError, NotFoundError

if TYPE_CHECKING:
    from resolver.store.store import ResolutionSummary

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
    rules_root: RulesOption = None,
    models_dir: Annotated[Path | None, typer.Option(
        "--models-dir", help="Where to write the model JSON (default: matching_rules/<domain>/models/).")] = None,
    engine: EngineOption = "duckdb",
) -> None:
    """Fit the linking model (u by random sampling, m by EM) and save it as a new model version."""
    from resolver.linking.model import publish_model
    from resolver.linking.report import short_lines
    from resolver.linking.rules import load_rules
    from resolver.linking.train import train_model
    from resolver.store import open_store

    _quiet_splink()
    engine = _engine(engine)
    rules = load_rules(domain, rules_root)
    label_frame = None
    if labels is not None:
        if not labels.exists():
            raise InputError(f"labels file not found: {labels}")
        label_frame = pd.read_csv(labels, dtype={"unique_id_l": str, "unique_id_r": str})
    store = open_store(existing_store(db))
    try:
        with steps(3, f"train {domain}") as bar:
            advance(bar, "loading source records")
            records = store.load_records(domain)
            advance(bar, "estimating u and m")
            model = train_model(records, rules, label_frame, out_dir=models_dir, engine=engine)
            advance(bar, "publishing model version into the store")
            publish_model(store, model)
    finally:
        store.close()
    typer.echo(f"model version {model.version} trained on {len(records)} source records, published in "
               f"{db} (a copy: {model.path})")
    for line in short_lines(model):
        typer.echo(line)
    recorded = model.clustering
    typer.echo(f"clustering.yaml recorded with this version: `resolve` links at match probability >= "
               f"{recorded['match_probability_threshold']} under {len(recorded.get('constraints') or [])} "
               "hard constraints (a later edit of clustering.yaml takes effect at the next train)")
    typer.echo(f"every level: resolver model show --db {db} --domain {domain}")


@app.command()
def resolve(
    db: DbOption,
    domain: DomainOption,
    rules_root: RulesOption = None,
    engine: EngineOption = "duckdb",
) -> None:
    """Link source records with the latest model version, cluster under the thresholds and hard
    constraints recorded with it (clustering.yaml as it was at `train`), give entities stable
    master IDs and rebuild golden records with the survivorship rules of --rules."""
    from resolver.linking.cluster import cluster_with_constraints
    from resolver.linking.model import published_model
    from resolver.linking.predict import predict_pairs
    from resolver.linking.rules import load_rules
    from resolver.store import open_store
    from resolver.store.golden import load_survivorship

    # Splink warns at length about parameters left at defaults; `resolver model show` reports
    # them per level, and --debug brings Splink's log back.
    if not state["debug"]:
        for name in ("splink", "splink.internals"):
            logging.getLogger(name).setLevel(logging.ERROR)
    engine = _engine(engine)
    rules = load_rules(domain, rules_root)
    # no --rules: the store's default (matching_rules/, or $RESOLVER_RULES)
    survivorship = None if rules_root is None else load_survivorship(domain, rules.path / "survivorship.yaml")
    store = open_store(existing_store(db))
    try:
        latest = store.latest_model(domain)
        if latest is None:
            raise NotFoundError(f"no {domain} model trained yet: run `resolver train --db {db} "
                                f"--domain {domain}` first")
        model = published_model(store, domain, latest[0])
        with steps(4, f"resolve {domain}") as bar:
            advance(bar, "loading source records")
            records = store.load_records(domain)
            advance(bar, "scoring candidate pairs")
            pairs = predict_pairs(records, model, engine=engine)
            advance(bar, "clustering under constraints")
            clusters, report = cluster_with_constraints(records, pairs, model.clustering)
            advance(bar, "saving master IDs and golden records")
            summary = store.save_resolution(domain, clusters, pairs, model.version,
                                            survivorship=survivorship)
    finally:
        store.close()
    for line in resolution_lines(domain, len(records), len(pairs), report, summary, model.version):
        typer.echo(line)
    changed = clustering_changes(model.clustering, rules.clustering)
    if changed:
        typer.echo(f"  note: {rules.path / 'clustering.yaml'} differs from the one recorded with model version "
                   f"{model.version} ({', '.join(changed)}); this resolution used the recorded one. "
                   f"Run `resolver train` for the edit to take effect.")


def clustering_changes(recorded: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """The keys of clustering.yaml whose values differ between the model's record and the file
    now (a constraint's `why` is prose, not a rule)."""
    def plain(cons: Any) -> list[dict[str, Any]]:
        return [{k: v for k, v in con.items() if k != "why"} for con in cons or []]

    changed = [k for k in ("predict_threshold", "match_probability_threshold") if recorded.get(k) != current.get(k)]
    if plain(recorded.get("constraints")) != plain(current.get("constraints")):
        changed.append("constraints")
    return changed


def resolution_lines(domain: str, records: int, pairs: int, report: dict[str, Any],
                     summary: ResolutionSummary, model_version: str) -> list[str]:
    """What a resolution did, for a person: counts of the clustering `report` and the master-ID
    events of the store's `summary`."""
    events = summary.events
    refused = ", ".join(f"{name} {n}" for name, n in sorted(report["refused_by_constraint"].items()))
    return [
        f"{domain}: {records} source records -> {report['entities']} entities (model version {model_version})",
        f"  links:      {report['merges']} merges from {pairs} scored pairs at match probability "
        f">= {report['threshold']} (the model version's); "
        f"{report['refused']} refused by constraint" + (f" ({refused})" if refused else ""),
        f"  master IDs: {events.get('create', 0)} created, {events.get('merge', 0)} merged, "
        f"{events.get('split', 0)} split, {events.get('retire', 0)} retired; "
        f"{summary.changed} entities changed",
        f"  largest entity: {report['largest_entity']} source records",
    ]


@app.command()
def evaluate(
    db: DbOption,
    domain: DomainOption,
    truth: Annotated[Path, typer.Option(
        "--truth", help="CSV with source, source_record_id, entity_id [, domain].")],
    out: Annotated[Path | None, typer.Option("--out", help="Write the full report (JSON).")] = None,
) -> None:
    """Pairwise and B-cubed precision/recall/F1 of the current resolution against truth."""
    from resolver.linking.evaluate import evaluate as run_evaluation
    from resolver.store import open_store

    if not truth.exists():
        raise InputError(f"truth file not found: {truth}")
    truth_frame = pd.read_csv(truth, dtype=str)
    if "domain" in truth_frame:
        truth_frame = truth_frame[truth_frame["domain"] == domain]
    store = open_store(existing_store(db), read_only=True)
    try:
        members = store.membership(domain).rename(columns={"entity_id": "cluster_id"})
        if members.empty:
            raise NotFoundError(f"no {domain} resolution yet: run `resolver resolve` first")
        records = store.load_records(domain)
        pairs = None
        if store.has_table(f"pairs_{domain}"):
            pairs = store.cursor().execute(f"SELECT * FROM pairs_{domain}").df()
    finally:
        store.close()
    result = run_evaluation(members, truth_frame, records, pairs)
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
