"""A LookupService's views (documents, compiled model, blocking index) follow writes made by
another Store object on the same file, as a CLI job run inside the server makes them."""

from __future__ import annotations

import json
import logging

import pytest
from lookup_data import build_store, raw_enterprises, standardized

from resolver.engine import Resolver
from resolver.lookup.service import LookupService
from resolver.store import commits, open_store

pytestmark = pytest.mark.slow  # make test-slow; see tests/conftest.py


@pytest.fixture()
def served(tmp_path):
    """(service on the first Store, a second Store on the same file, the built store)."""
    logging.getLogger("splink").setLevel(logging.ERROR)
    built = build_store(tmp_path, n_enterprises=40, n_people=10)
    store, other = open_store(built.path), open_store(built.path)
    service = LookupService(store)
    yield service, other, built
    service.close()
    other.close()
    store.close()


def test_a_model_published_by_another_store_switches_the_model_and_its_index(served):
    service, other, _ = served
    before = service.view("enterprise")
    version, text = other.model_json("enterprise")
    doc = json.loads(text)
    doc["resolver"]["version"] = "v-next"
    other.register_model("enterprise", "v-next", json.dumps(doc))
    after = service.view("enterprise")
    assert after is not before and after.model is not None and after.model.version == "v-next"
    assert after.index is not before.index and after.docs is before.docs  # documents unchanged: kept
    assert service.match("enterprise", {"name": "杭州华新科技有限公司"})["model_version"] == "v-next"


def test_an_incremental_ingest_by_another_store_reaches_the_index(served):
    service, other, _ = served
    raw = raw_enterprises(1, seed=999).head(1).assign(source="tax", source_record_id="z1", uscc="91330106MA2B0000X1")
    query = {"name": raw["name"].iloc[0], "legal_rep": raw["legal_rep"].iloc[0]}
    assert not service.match("enterprise", query)["candidates"]
    index = service.view("enterprise").index
    result = Resolver(other, "enterprise").add_frame(standardized(raw, "enterprise"), [], "z.csv", "tax")
    created = result.placements[0].entity_id
    assert service.view("enterprise").index is index  # spliced in place, not rebuilt
    assert [c["entity_id"] for c in service.match("enterprise", query)["candidates"]][:1] == [created]
    assert service.entity("enterprise", created)["size"] == 1


def test_a_large_plain_ingest_rebuilds_the_index(served, monkeypatch):
    service, other, built = served
    monkeypatch.setattr("resolver.store.store.SMALL_WRITE", 2)  # 3 rows: "too many to list"
    changed = standardized(raw_enterprises(40), "enterprise").head(3).copy()
    changed["phone"] = ["13900000001", "13900000002", "13900000003"]
    changed["raw"] = changed["raw"] + " "
    changed["record_hash"] = changed["raw"]
    index = service.view("enterprise").index
    other.ingest_frame("enterprise", changed, [], "changed.csv")
    rebuilt = service.view("enterprise").index
    assert rebuilt is not index and rebuilt is not None and len(rebuilt) == len(index)
    phones = dict(zip(rebuilt.data.column("unique_id").to_pylist(), rebuilt.data.column("phone").to_pylist(),
                      strict=True))
    assert [phones[u] for u in changed["unique_id"]] == list(changed["phone"])


def test_nobody_listens_once_the_service_is_closed(served):
    service, other, _ = served
    assert commits.listening(commits.key(other.path))
    service.close()
    assert not commits.listening(commits.key(other.path))
