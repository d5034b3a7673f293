"""Sequence neutrality of the one incremental path (`resolver.incremental.link_records`).

The committed sample, shuffled: half resolved in full with the published model, the rest
replayed as 10 incremental batches. The result must reproduce the batch resolution of all
records with the same model (B-cubed F1 >= 0.999, the batch clustering taken as truth), and
an entity that a batch leaves alone keeps its master ID.
"""

import numpy as np
import pandas as pd
import pytest

from resolver.incremental import link_records
from resolver.linking.cluster import cluster_with_constraints
from resolver.linking.evaluate import evaluate
from resolver.linking.model import publish_model
from resolver.linking.predict import predict_pairs
from resolver.store import open_store

pytestmark = pytest.mark.slow  # make test-slow; see tests/conftest.py

BATCHES = 10


def _entities(membership: pd.DataFrame) -> dict[str, frozenset[str]]:
    return {str(e): frozenset(g) for e, g in membership.groupby("entity_id")["unique_id"]}


@pytest.fixture(scope="module", params=["enterprise", "person"])
def replayed(request, tmp_path_factory, sample_records, sample_model):
    domain = request.param
    tmp = tmp_path_factory.mktemp(f"neutral_{domain}")
    records = sample_records(domain)
    model = sample_model(domain)  # trained on these records once per session (tests/conftest.py)
    batch, _ = cluster_with_constraints(records, predict_pairs(records, model), model.clustering)

    order = np.random.default_rng(16).permutation(len(records))
    first, rest = records.iloc[order[: len(records) // 2]], records.iloc[order[len(records) // 2:]]
    store = open_store(tmp / "m.duckdb")
    publish_model(store, model)
    store.ingest_frame(domain, first.reset_index(drop=True), [], "first-half")
    loaded = store.load_records(domain)
    clusters, _ = cluster_with_constraints(loaded, predict_pairs(loaded, model), model.clustering)
    store.save_resolution(domain, clusters, None, model.version)
    steps = []
    for k, rows in enumerate(np.array_split(np.arange(len(rest)), BATCHES)):
        before = store.membership(domain)
        result = link_records(store, domain, rest.iloc[rows].reset_index(drop=True), [], f"batch-{k}", "replay")
        steps.append((before, store.membership(domain), result))
    yield domain, batch, store.membership(domain), steps
    store.close()


def test_ten_incremental_batches_reproduce_the_batch_resolution(replayed):
    domain, batch, final, steps = replayed
    assert len(final) == len(batch)
    assert all(r.touched == len(r.placements) > 0 for _, _, r in steps)
    truth = batch.rename(columns={"cluster_id": "entity_id"})
    bcubed = evaluate(final.rename(columns={"entity_id": "cluster_id"}), truth)["bcubed"]
    print(f"{domain}: B-cubed F1 of 10 incremental batches against the batch resolution: {bcubed['f1']:.5f} "
          f"(P {bcubed['precision']:.5f}, R {bcubed['recall']:.5f})")
    assert bcubed["f1"] >= 0.999


def test_entities_a_batch_leaves_alone_keep_their_master_ids(replayed):
    _, _, _, steps = replayed
    untouched = 0
    for before, after, _ in steps:
        now = _entities(after)
        unchanged_sets = set(now.values())
        entity_of = dict(zip(after["unique_id"], after["entity_id"], strict=True))
        for entity_id, members in _entities(before).items():
            if members in unchanged_sets:
                untouched += 1
                assert now.get(entity_id) == members, f"untouched entity {entity_id} changed its master ID"
            else:  # it grew or merged; a replay changes no record, so nothing leaves an entity
                assert len({entity_of[u] for u in members}) == 1, f"entity {entity_id} was split"
    assert untouched > 0
