"""The bulk incremental path (`ingest --incremental`, resolver.incremental_bulk.link_bulk) against
the one-record-at-a-time path it replaces for files (resolver.incremental.link_records, still
the POST /records path), record by record, on the committed sample and on the noisy shape.

Per shape: the enterprise files minus every sixth tax record and minus every record of a few
entities are resolved in full; the held-out records come back as new records (joining entities
or making new ones), together with updates of known tax records (each given another record's
values, so some move to another entity). Both paths link the same frame into
copies of the same store and must agree on every record's entity, the pairs and their match
probabilities, golden records, history and the counts.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fixtures.generate import generate
from resolver.engine import Resolver
from resolver.incremental import link_records
from resolver.incremental_bulk import link_bulk
from resolver.ingest import prepare
from resolver.store import open_store
from resolver.store.docs import unpack

ROOT = Path(__file__).resolve().parents[2]
UPDATES = 25
NEW_ENTITIES = 15


def _frames(data: Path, mappings: Path) -> dict[str, pd.DataFrame]:
    manifest = json.loads((data / "manifest.json").read_text(encoding="utf-8"))
    return {f["source"]: prepare(mappings / f"{f['source']}.yaml", data / f["file"]).records
            for f in manifest["files"] if f["domain"] == "enterprise"}


def _split(frames: dict[str, pd.DataFrame], truth: pd.DataFrame) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """(the records resolved first, per source; the frame linked incrementally): every sixth tax
    record, every record of a few entities (new entities, some of several records), and updates
    of resolved tax records carrying another record's values."""
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
    if shape == "sample":
        return ROOT / "fixtures" / "sample", ROOT / "matching_rules" / "sources"
    generate(tmp / "data", 3000, shape=shape, workers=1)  # no fork of a process holding DuckDB threads
    return tmp / "data", ROOT / "fixtures" / "shapes" / shape / "sources"


@pytest.fixture(scope="module", params=["sample", "noisy"])
def linked(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"bulk_{request.param}")
    data, mappings = _shape_data(request.param, tmp)
    truth = pd.read_csv(data / "truth_members.csv", dtype=str)
    base, incoming = _split(_frames(data, mappings), truth[truth["domain"] == "enterprise"])
    store = open_store(tmp / "m.duckdb")
    for source, frame in base.items():
        store.ingest_frame("enterprise", frame, [], f"{source}.csv", source=source)
    resolver = Resolver(store, "enterprise")
    resolver.publish(resolver.train(out_dir=tmp / "models"))
    resolver.resolve()
    before = store.membership("enterprise")
    store.cursor().execute("CHECKPOINT")
    store.close()
    results = {}
    for path in ("records", "bulk"):
        shutil.copy(tmp / "m.duckdb", tmp / f"{path}.duckdb")
        copy = open_store(tmp / f"{path}.duckdb")
        link = link_records if path == "records" else link_bulk
        results[path] = (copy, link(copy, "enterprise", incoming, [], "incoming.csv", "tax"))
    yield before, incoming, results
    for copy, _ in results.values():
        copy.close()


def _same_entities(before: pd.DataFrame, a: pd.DataFrame, b: pd.DataFrame) -> dict[str, str]:
    """Assert both memberships hold the same entities, an entity that existed before under the
    same master ID in both; return b's master ID → a's."""
    existed = set(before["entity_id"])
    ea = dict(zip(a["unique_id"], a["entity_id"], strict=True))
    eb = dict(zip(b["unique_id"], b["entity_id"], strict=True))
    assert ea.keys() == eb.keys()
    to_a: dict[str, str] = {}
    for uid, entity in eb.items():
        assert to_a.setdefault(entity, ea[uid]) == ea[uid], f"{uid}: bulk groups it with other records"
        assert (entity in existed) == (ea[uid] in existed)
        if entity in existed:
            assert entity == ea[uid], f"{uid}: joined {entity} in bulk, {ea[uid]} one by one"
    assert len(set(to_a.values())) == len(to_a)
    return to_a


def test_every_record_lands_in_the_same_entity(linked):
    before, incoming, results = linked
    (a, ra), (b, rb) = results["records"], results["bulk"]
    assert (rb.touched, rb.joined, rb.created) == (ra.touched, ra.joined, ra.created) == (
        len(incoming), rb.joined, rb.created)
    assert rb.joined > 0 and rb.created > 0
    assert rb.neighbourhood == ra.neighbourhood
    to_a = _same_entities(before, a.membership("enterprise"), b.membership("enterprise"))
    assert {p.unique_id: (to_a[p.entity_id], p.action, p.reason) for p in rb.placements} == \
        {p.unique_id: (p.entity_id, p.action, p.reason) for p in ra.placements}
    assert rb.moved.keys() == ra.moved.keys()
    moved = sum(u in set(before["unique_id"]) for u in rb.moved)
    assert moved > 0, "some updated records must move to another entity, or the test shows nothing"


def test_pairs_and_match_probabilities_are_the_same(linked):
    _, _, results = linked
    frames = []
    for path in ("records", "bulk"):
        store, _ = results[path]
        pairs = store.pairs("enterprise")
        frames.append(pairs.sort_values(["unique_id_l", "unique_id_r", "match_key", "match_weight"]).reset_index(drop=True))
    a, b = frames
    assert len(a) == len(b) > 0
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12, atol=1e-12)


def test_golden_records_history_and_counts_are_the_same(linked):
    before, _, results = linked
    (a, ra), (b, rb) = results["records"], results["bulk"]
    to_a = _same_entities(before, a.membership("enterprise"), b.membership("enterprise"))
    ga = a.golden("enterprise")
    gb = b.golden("enterprise").assign(entity_id=lambda g: g["entity_id"].map(to_a))
    key = ["entity_id", "field"]
    pd.testing.assert_frame_equal(ga.sort_values(key).reset_index(drop=True), gb.sort_values(key).reset_index(drop=True))
    ha, hb = a.history("enterprise"), b.history("enterprise")
    assert ha["event"].value_counts().to_dict() == hb["event"].value_counts().to_dict()
    assert (ra.counts.loaded, ra.counts.updated) == (rb.counts.loaded, rb.counts.updated) == (
        len(rb.placements) - UPDATES, UPDATES)
    docs = {}
    for name, store in (("records", a), ("bulk", b)):
        rows = store.cursor().execute("SELECT entity_id, doc FROM serving_docs WHERE domain = 'enterprise'").fetchall()
        docs[name] = {e: json.loads(unpack(d)) for e, d in rows}
    assert len(docs["records"]) == len(docs["bulk"])
    for entity, doc in docs["bulk"].items():
        other = docs["records"][to_a.get(entity, entity)]  # retired entities keep their IDs
        assert sorted(m["unique_id"] for m in doc["members"]) == sorted(m["unique_id"] for m in other["members"])
        assert doc["golden"] == other["golden"]
