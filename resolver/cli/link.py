"""Verbs that link source records: train, resolve, evaluate."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Literal, cast

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
    sample: Annotated[str | None, typer.Option(
        "--sample", help="Train on a random sample of at most N source records (e.g. 1000000, 500k, 2M), "
        "drawn in the store, or 'all'. Default: training.yaml's sample_records (1M when absent).")] = None,
    sample_seed: Annotated[int | None, typer.Option(
        "--sample-seed", help="Seed of the sample (default: training.yaml's seed); the same seed draws the "
        "same records.")] = None,
) -> None:
    """Fit the linking model (u by random sampling, m by EM) and save it as a new model version,
    with the rule files' hash, clustering thresholds, constraints and survivorship recorded in it."""
    from resolver.engine import Resolver
    from resolver.linking.report import short_lines
    from resolver.linking.sample import parse_size
    from resolver.rules import DomainRules
    from resolver.store import open_store

    _quiet_splink()
    engine = _engine(engine)
    if sample is not None:
        parse_size(sample)  # a bad size stops here, before the store is opened
    rules = DomainRules.load(domain, rules_root)
    if labels is not None and not labels.exists():
        raise InputError(f"labels file not found: {labels}")
    store = open_store(existing_store(db))
    try:
        resolver = Resolver(store, domain, rules, engine)
        with steps(3, f"train {domain}") as bar:
            model = resolver.train(labels, decisions=decisions, out_dir=models_dir or rules.path / "models",
                                   step=lambda name: advance(bar, name),
                                   sample="default" if sample is None else sample, seed=sample_seed)
            advance(bar, "publishing model version into the store")
            resolver.publish(model)
    finally:
        store.close()
    drawn = model.metadata.get("training_sample")
    of = (f" (a random sample of {drawn['of']}, seed {drawn['seed']}; --sample all for every record)"
          if drawn else "")
    typer.echo(f"model version {model.version} trained on {model.metadata['training_records']} source records"
               f"{of}, published in {db} (a copy: {model.path})")
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
    snapshot: Annotated[Path | None, typer.Option(
        "--snapshot", help="With --engine spark: write the master snapshot (Parquet) to this folder and keep it "
        "(default: a scratch folder beside the store, removed after the load).")] = None,
    load: Annotated[bool, typer.Option(
        "--load/--no-load", help="With --engine spark: load the snapshot into the store (--no-load only "
        "writes it, for `resolver load-snapshot` elsewhere).")] = True,
) -> None:
    """Link source records with the newest model version (or --model-version), cluster under the
    thresholds and hard constraints recorded with it, give entities stable master IDs and rebuild
    golden records with the survivorship rules recorded with it: the model version alone decides.
    --rules only matters for a version trained before survivorship was recorded (its
    survivorship.yaml is used then, and the summary says so) and for the note on edits since.
    With --engine spark every step runs on Spark and the master is written as a Parquet snapshot
    that the store then loads in one transaction (docs/scale.md)."""
    from resolver.engine import Resolver
    from resolver.store import open_store

    # Splink warns at length about parameters left at defaults; `resolver model show` reports
    # them per level, and --debug brings Splink's log back.
    if not state["debug"]:
        for name in ("splink", "splink.internals"):
            logging.getLogger(name).setLevel(logging.ERROR)
    engine = _engine(engine)
    if engine == "spark":
        _resolve_on_spark(db, domain, rules_root, model_version, snapshot, load)
        return
    if snapshot is not None or not load:
        raise InputError("--snapshot and --no-load go with --engine spark")
    store = open_store(existing_store(db))
    try:
        resolver = Resolver(store, domain, engine=engine, rules_root=rules_root)
        with steps(4, f"resolve {domain}") as bar:
            resolution = resolver.resolve(model_version, step=lambda name: advance(bar, name))
    finally:
        store.close()
    for line in resolution.lines():
        typer.echo(line)
    if resolution.laps:  # on stderr, with the progress: the summary above stays as it was
        typer.echo(f"  {resolution.laps.line()}", err=True)


def _resolve_on_spark(db: Path, domain: str, rules_root: Path | None, model_version: str | None,
                      snapshot: Path | None, load: bool) -> None:
    """`resolve --engine spark`: the whole resolution on Spark, through a snapshot folder."""
    import shutil
    import sys
    import time
    from typing import Any

    from resolver.engines.spark_store import resolve_store_on_spark
    from resolver.store import open_store

    db = existing_store(db)
    folder = snapshot or db.parent / f".{db.name}.snapshot-{domain}"
    store = open_store(db)
    started = time.perf_counter()
    def step(bar: Any, name: str) -> None:
        advance(bar, name)
        if not sys.stderr.isatty():  # a log, not a bar: each step with the time it started
            print(f"[{time.perf_counter() - started:7.1f} s] {name}", file=sys.stderr, flush=True)

    try:
        with steps(7, f"resolve {domain} on Spark") as bar:
            resolution, loaded = resolve_store_on_spark(store, domain, folder, model_version=model_version,
                                                        rules_root=rules_root, load=load,
                                                        release=True, step=lambda name: step(bar, name))
    finally:
        store.close()
        if snapshot is None:
            shutil.rmtree(folder, ignore_errors=True)
    counts, report = resolution.counts, resolution.report
    typer.echo(f"{domain}: {counts['records']} source records -> {counts['entities']} entities "
               f"(model version {resolution.model_version}, on Spark)")
    refused = ", ".join(f"{k} {v}" for k, v in sorted((report.get("refused_by_constraint") or {}).items()))
    typer.echo(f"  links:      {counts['pairs']} scored pairs; clustering {report.get('rounds', '?')} rounds"
               + (f", refused by constraint: {refused}" if refused else ""))
    typer.echo(f"  master IDs: {counts['events']} events ({report['master_id_rounds']} assignment rounds); "
               f"{counts['golden_values']} golden values")
    stages = ", ".join(f"{k} {v:.1f} s" for k, v in resolution.seconds.items())
    typer.echo(f"  seconds:    {stages}; total {time.perf_counter() - started:.1f} s")
    meter = resolution.meter
    if meter.cpu_seconds:  # this process and its Spark JVM (local mode: the whole computation)
        cpu = ", ".join(f"{k} {v:.0f}" for k, v in meter.cpu_seconds.items())
        typer.echo(f"  CPU s:      {cpu}; total {sum(meter.cpu_seconds.values()):.0f}; "
                   f"peak RSS {max(meter.peak_rss_gb.values()):.2f} GB (driver + JVM)")
    if loaded is not None:
        typer.echo(f"  loaded into {db}: {loaded['entities']} active entities, {loaded['changed']} changed")
    if snapshot is not None:
        typer.echo(f"  snapshot:   {snapshot}" + ("" if load else f" (load it: resolver load-snapshot {snapshot} "
                                                                 "--db DB)"))


@app.command(name="load-snapshot")
def load_snapshot_verb(
    folder: Annotated[Path, typer.Argument(help="A master snapshot folder (resolve --engine spark --snapshot).")],
    db: DbOption,
    rules_root: RulesOption = None,
) -> None:
    """Load a master snapshot computed on Spark into the store, in one transaction: membership,
    master IDs and their history, golden records, serving documents, scored pairs, relations. A
    running server swaps to the new master at the commit. Refused if the store's master changed
    since the snapshot was computed."""
    from resolver.relations.build import relations_to_rebuild
    from resolver.store import open_store
    from resolver.store.snapshot import load_snapshot, read_manifest

    if not folder.is_dir():
        raise InputError(f"snapshot folder not found: {folder}")
    manifest = read_manifest(folder)
    relations = relations_to_rebuild(manifest["domain"], rules_root)
    store = open_store(db)
    try:
        with steps(1, f"load snapshot of {manifest['domain']}") as bar:
            advance(bar, "loading")
            loaded = load_snapshot(store, folder, relations)["loaded"]
    finally:
        store.close()
    typer.echo(f"{manifest['domain']}: snapshot of model version {manifest['model_version']} loaded into {db}: "
               f"{loaded['entities']} active entities, {loaded['changed']} changed"
               + ("; source records replaced by the snapshot's" if loaded["records_replaced"] else ""))


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
    import pandas as pd

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
