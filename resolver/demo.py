"""`resolver demo`: fixtures → ingest → train → resolve → evaluate → 漏管户 report, with a summary."""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from resolver.errors import InputError
from resolver.paths import REPO_ROOT, rules_dir

SAMPLE = REPO_ROOT / "fixtures" / "sample"


def fixture_dir(workdir: Path, records: int | None, seed: int | None) -> Path:
    """The committed sample, or a fresh generation of `records` source records in the work dir."""
    if records is None:
        return SAMPLE
    from fixtures.generate import DEFAULT_SEED, generate

    out = workdir / f"fixtures-{records}"
    if not (out / "manifest.json").exists():
        generate(out, records, seed=DEFAULT_SEED if seed is None else seed)
    return out


def ingest_fixtures(store: Any, fixtures: Path, say: Callable[[str], None]) -> None:
    from resolver.ingest import ingest_file

    manifest = json.loads((fixtures / "manifest.json").read_text(encoding="utf-8"))
    for entry in manifest["files"]:
        mapping = rules_dir() / "sources" / f"{entry['source']}.yaml"
        counts = ingest_file(store, mapping, fixtures / entry["file"])
        say(f"  ingest {entry['file']:<32} read {counts.read:>7}  loaded {counts.loaded:>7}  "
            f"quarantined {counts.quarantined}")


def link_domain(store: Any, domain: str, models_dir: Path, truth: pd.DataFrame) -> dict[str, Any]:
    """Train, publish, resolve and evaluate one domain; return the figures for the summary."""
    from resolver.engine import Resolver

    resolver = Resolver(store, domain)
    started = time.perf_counter()
    model = resolver.train(out_dir=models_dir)
    resolver.publish(model)
    resolution = resolver.resolve(model.version)
    seconds = time.perf_counter() - started
    result = resolver.evaluate(truth[truth["domain"] == domain])
    return {"records": resolution.records, "entities": resolution.entities, "model_version": model.version,
            "refused": resolution.report["refused"], "seconds": seconds,
            "pairwise": result["pairwise"], "bcubed": result["bcubed"]}


def run_demo(workdir: Path, records: int | None = None, seed: int | None = None,
             say: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the whole pipeline into `workdir` (its store is rebuilt) and return the summary."""
    from resolver.store import open_store
    from resolver.unregistered.report import build_report, write_report

    for name in ("splink", "splink.internals"):
        logging.getLogger(name).setLevel(logging.ERROR)
    workdir.mkdir(parents=True, exist_ok=True)
    fixtures = fixture_dir(workdir, records, seed)
    if not (fixtures / "manifest.json").exists():
        raise InputError(f"{fixtures}: no manifest.json; generate fixtures first")
    db = workdir / "master.duckdb"
    access = [Path(f"{db}.access.sqlite{tail}") for tail in ("", "-wal", "-shm")]  # keys, audit of the old demo
    for stale in (db, db.with_suffix(".duckdb.wal"), workdir / "models", *access):
        if stale.is_dir():
            shutil.rmtree(stale)
        elif stale.exists():
            stale.unlink()
    manifest = json.loads((fixtures / "manifest.json").read_text(encoding="utf-8"))
    truth = pd.read_csv(fixtures / "truth_members.csv", dtype=str)
    say(f"fixtures: {fixtures} ({manifest['records_total']} source records, as of {manifest['as_of']})")
    store = open_store(db)
    try:
        ingest_fixtures(store, fixtures, say)
        figures = {}
        for domain in dict.fromkeys(truth["domain"]):  # the fixtures' domains, in their order
            figures[domain] = f = link_domain(store, domain, workdir / "models", truth)
            say(f"  {domain:<10} {f['records']:>7} source records -> {f['entities']:>7} entities in "
                f"{f['seconds']:.1f}s; pairwise P {f['pairwise']['precision']:.4f} R "
                f"{f['pairwise']['recall']:.4f} F1 {f['pairwise']['f1']:.4f}; B-cubed F1 "
                f"{f['bcubed']['f1']:.4f} (model {f['model_version']})")
        report = build_report(store, manifest["as_of"])
        html = write_report(report, workdir / "unregistered.html")
        write_report(report, workdir / "unregistered.xlsx")
        figures["unregistered"] = _score_unregistered(report, store, fixtures)
        u = figures["unregistered"]
        say(f"  漏管户 suspects: {u['flagged']} flagged as of {manifest['as_of']}; precision "
            f"{u['precision']:.3f} recall {u['recall']:.3f} against truth; decoys flagged: {u['decoys_flagged']}")
        say(f"inspector's report: {html}")
        say(f"master store: {db}  (try: resolver export golden --db {db} --domain {truth['domain'].iloc[0]} "
            "--out golden.xlsx)")
    finally:
        store.close()
    return figures


def _score_unregistered(report: Any, store: Any, fixtures: Path) -> dict[str, Any]:
    """Precision/recall of the suspects list: a truth entity is found when the entity holding
    its business-registry record is flagged."""
    from resolver.unregistered.roles import load_departments
    from resolver.unregistered.rules import load_rules

    rules = load_rules()
    registry = load_departments(rules.domain).sources(rules.roles["registry"])
    truth = pd.read_csv(fixtures / "truth_unregistered.csv", dtype=str)
    members = pd.read_csv(fixtures / "truth_members.csv", dtype=str)
    members = members[(members["domain"] == rules.domain) & members["source"].isin(registry)]
    members["unique_id"] = members["source"] + ":" + members["source_record_id"]
    ours = store.membership(rules.domain)
    mapped = members.merge(ours, on="unique_id", suffixes=("_truth", ""))
    rows = report.rows
    if "list" in rows.columns:
        rows = rows[rows["list"] == "suspect"]
    flagged = set(rows["entity_id"])
    truth = truth.merge(mapped[["entity_id_truth", "entity_id"]], left_on="entity_id",
                        right_on="entity_id_truth", how="left", suffixes=("_t", ""))
    truth["flagged"] = truth["entity_id"].isin(flagged)
    expected = truth["expected"] == "suspect"
    tp = int((truth["flagged"] & expected).sum())
    n_flagged = len(flagged)
    decoys = truth[~expected & truth["flagged"] & truth["kind"].str.startswith("decoy")]
    return {"flagged": n_flagged, "precision": tp / n_flagged if n_flagged else 1.0,
            "recall": tp / int(expected.sum()) if int(expected.sum()) else 1.0,
            "decoys_flagged": int(len(decoys))}
