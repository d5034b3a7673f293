"""A resolved enterprise master per data shape with records held out of it, for the tests that
link records incrementally (tests/store/test_incremental_bulk.py, tests/lookup/test_write_paths.py):
built once per session by the `incremental_base` fixture (tests/conftest.py).

Per shape: the enterprise files minus every sixth tax record and minus every record of a few
entities are ingested, trained and resolved in full; `incoming` holds the held-out records
(joining entities or making new ones) and updates of known tax records (each given another
record's values, so some move to another entity).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
UPDATES = 25
NEW_ENTITIES = 15


@dataclass(frozen=True)
class ShapeBase:
    """A resolved master (READ-ONLY: copy it), the frame to link into it, its membership before."""

    db: Path
    incoming: pd.DataFrame
    before: pd.DataFrame


def _frames(data: Path, mappings: Path) -> dict[str, pd.DataFrame]:
    from resolver.ingest import prepare

    manifest = json.loads((data / "manifest.json").read_text(encoding="utf-8"))
    return {f["source"]: prepare(mappings / f"{f['source']}.yaml", data / f["file"]).records
            for f in manifest["files"] if f["domain"] == "enterprise"}


def _split(frames: dict[str, pd.DataFrame], truth: pd.DataFrame) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """(the records resolved first, per source; the frame linked incrementally)."""
    rng = np.random.default_rng(17)
    tax = frames["tax"]
    truth = truth.assign(unique_id=truth["source"] + ":" + truth["source_record_id"])
    entity = dict(zip(truth["unique_id"], truth["entity_id"], strict=True))
    fresh = set(rng.choice(sorted({entity[u] for u in tax["unique_id"] if u in entity}), NEW_ENTITIES, replace=False))
    held = [tax.iloc[::6]] + [f[f["unique_id"].map(entity).isin(fresh)] for f in frames.values()]
    held_ids = set(pd.concat(held)["unique_id"])
    base = {source: f[~f["unique_id"].isin(held_ids)].reset_index(drop=True) for source, f in frames.items()}
    updated = base["tax"].iloc[rng.choice(len(base["tax"]), UPDATES, replace=False)].copy()
    donors = tax.iloc[rng.choice(len(tax), UPDATES, replace=False)]
    keep = ["unique_id", "source", "source_record_id", "row_number"]
    for column in updated.columns:
        if column not in keep:
            updated[column] = donors[column].to_numpy()
    updated["record_hash"] = updated["record_hash"].astype(str) + "-changed"
    incoming = pd.concat([*held, updated], ignore_index=True).drop_duplicates("unique_id")
    return base, incoming


def _shape_data(shape: str, tmp: Path) -> tuple[Path, Path]:
    from fixtures.generate import generate

    if shape == "sample":
        return ROOT / "fixtures" / "sample", ROOT / "matching_rules" / "sources"
    generate(tmp / "data", 3000, shape=shape, workers=1)  # no fork of a process holding DuckDB threads
    return tmp / "data", ROOT / "fixtures" / "shapes" / shape / "sources"


def resolved_base(shape: str, tmp: Path) -> ShapeBase:
    """Build the shape's master in `tmp` (see the module's docstring)."""
    from resolver.engine import Resolver
    from resolver.store import open_store

    logging.getLogger("splink").setLevel(logging.ERROR)
    data, mappings = _shape_data(shape, tmp)
    truth = pd.read_csv(data / "truth_members.csv", dtype=str)
    base, incoming = _split(_frames(data, mappings), truth[truth["domain"] == "enterprise"])
    store = open_store(tmp / "m.duckdb")
    try:
        for source, frame in base.items():
            store.ingest_frame("enterprise", frame, [], f"{source}.csv", source=source)
        resolver = Resolver(store, "enterprise")
        resolver.publish(resolver.train(out_dir=tmp / "models"))
        resolver.resolve()
        before = store.membership("enterprise")
        store.cursor().execute("CHECKPOINT")
    finally:
        store.close()
    return ShapeBase(tmp / "m.duckdb", incoming, before)
