"""The bulk incremental path (`ingest --incremental`, resolver.incremental_bulk.link_bulk) against
the one-record-at-a-time path it replaces for files (resolver.incremental.link_records, still
the POST /records path), record by record, on the committed sample and on the noisy shape.

Per shape (tests/incremental_shapes.py): the enterprise files minus every sixth tax record and
minus every record of a few entities are resolved in full; the held-out records come back as new
records (joining entities or making new ones), together with updates of known tax records (each
given another record's values, so some move to another entity). Both paths link the same frame
into copies of the same store and must agree on every record's entity, the pairs and their match
probabilities, golden records, history and the counts.
"""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from resolver.incremental import link_records
from resolver.incremental_bulk import link_bulk
from resolver.store import open_store
from resolver.store.docs import unpack
from tests.incremental_shapes import UPDATES

pytestmark = pytest.mark.slow  # make test-slow; see tests/conftest.py


@pytest.fixture(scope="module", params=["sample", "noisy"])
def linked(request, incremental_base, tmp_path_factory):
    base = incremental_base(request.param)  # the master, built once per session and shape
    tmp = tmp_path_factory.mktemp(f"bulk_{request.param}")
    results = {}
    for path in ("records", "bulk"):
        shutil.copy(base.db, tmp / f"{path}.duckdb")
        copy = open_store(tmp / f"{path}.duckdb")
        link = link_records if path == "records" else link_bulk
        results[path] = (copy, link(copy, "enterprise", base.incoming, [], "incoming.csv", "tax"))
    yield base.before, base.incoming, results
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
