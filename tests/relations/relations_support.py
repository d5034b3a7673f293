"""Generate a small fixture shape, run the project's pipeline on it, and score the relations it
built against the generator's truth_relations.csv (shared by the tests of this folder)."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from fixtures.generate import generate
from fixtures.quality import run_pipeline
from resolver.store import open_store

RECORDS = 2500


@dataclass
class ShapeStore:
    shape: str
    data: Path
    db: Path


def build_shape(shape: str, folder: Path, records: int = RECORDS) -> ShapeStore:
    logging.getLogger("splink").setLevel(logging.WARNING)
    generate(folder / "data", records, shape=shape, workers=1)  # no fork of a process holding DuckDB threads
    run_pipeline(folder / "data", folder / "m.duckdb")
    return ShapeStore(shape, folder / "data", folder / "m.duckdb")


def truth_of_masters(db: Path, data: Path) -> dict[str, str]:
    """master ID → the truth entity most of its records belong to."""
    truth = pd.read_csv(data / "truth_members.csv", dtype=str)
    truth["unique_id"] = truth["source"] + ":" + truth["source_record_id"]
    store = open_store(db, read_only=True)
    try:
        members = pd.concat([store.membership(d) for d in ("enterprise", "person")])
    finally:
        store.close()
    joined = members.merge(truth[["unique_id", "entity_id"]], on="unique_id", suffixes=("", "_truth"))
    out: dict[str, str] = {}
    for master, group in joined.groupby("entity_id"):
        out[str(master)] = Counter(group["entity_id_truth"]).most_common(1)[0][0]
    return out


def evidence_holders(db: Path, data: Path, domain: str, columns: list[str]) -> set[str]:
    """Truth entities of `domain` with at least one stored record carrying one of `columns`."""
    truth = pd.read_csv(data / "truth_members.csv", dtype=str)
    truth["unique_id"] = truth["source"] + ":" + truth["source_record_id"]
    store = open_store(db, read_only=True)
    try:
        records = store.load_records(domain)
    finally:
        store.close()
    filled = records[[c for c in columns if c in records]].notna().any(axis=1)
    held = set(records.loc[filled, "unique_id"])
    return set(truth.loc[truth["unique_id"].isin(held), "entity_id"])


def relation_pairs(db: Path) -> pd.DataFrame:
    """relation, from_id, to_id, confidence of every evidence row the store holds."""
    store = open_store(db, read_only=True)
    try:
        with store.reader() as reader:
            return pd.DataFrame(reader.relation_rows("enterprise", "person"))
    finally:
        store.close()


def score(built: ShapeStore, relations: tuple[str, ...], evidence: list[str], domain: str) -> dict[str, float]:
    """Precision and recall of `relations` in truth-entity terms: a built link is right when the
    truth entities most of its two master IDs' records belong to are linked in the truth; a true
    link counts for recall when its `domain` entity has a record carrying one of `evidence`."""
    masters = truth_of_masters(built.db, built.data)
    rows = relation_pairs(built.db)
    rows = rows[rows["relation"].isin(relations)]
    built_links = {(masters.get(f), masters.get(t)) for f, t in zip(rows["from_id"], rows["to_id"], strict=True)}
    truth = pd.read_csv(built.data / "truth_relations.csv", dtype=str)
    truth = truth[truth["relation"].isin(relations)]
    true_links = set(zip(truth["entity_id"], truth["related_entity_id"], strict=True))
    holders = evidence_holders(built.db, built.data, domain, evidence)
    reachable = {link for link in true_links if link[0] in holders}
    right = built_links & true_links
    return {"precision": len(right) / max(len(built_links), 1), "recall": len(right & reachable) / max(len(reachable), 1),
            "built": len(built_links), "reachable": len(reachable), "true": len(true_links)}
