"""Decisions flow back: on the resolved sample, a pair decided different is apart after the next
`resolve`, decided same it is together again; `evaluate` without a truth file scores against the
decisions and says how many it used; `train --decisions` takes them as labels."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from resolver.engine import Resolver
from resolver.review import record_decision, review_queue
from resolver.store import open_store

pytestmark = pytest.mark.slow  # make test-slow; see tests/conftest.py

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = "enterprise"


def cli(*args: object) -> str:
    """`resolver ARGS` as a user runs it; its stdout, or the test fails with its output."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "resolver", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=600)
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def entity_of(db: Path, *unique_ids: str) -> list[str]:
    store = open_store(db, read_only=True)
    try:
        entities = store.membership(DOMAIN).set_index("unique_id")["entity_id"]
    finally:
        store.close()
    return [entities[u] for u in unique_ids]


def test_different_keeps_a_pair_apart_and_same_brings_it_back(sample_copy):
    store = open_store(sample_copy)
    try:
        queue = review_queue(store, DOMAIN, kind="pair", limit=500)
        # a pair between the thresholds whose records one entity holds, with a third member:
        # the entity is held together by other links, so "different" must cut a chain
        item = next(i for i in queue["items"] if i["together"] and i["left"]["entity_size"] >= 3)
        left, right = item["left"]["unique_id"], item["right"]["unique_id"]
        record_decision(store, DOMAIN, left, right, "different", key_id="k", department="质监", kind="pair")
    finally:
        store.close()
    assert len(set(entity_of(sample_copy, left, right))) == 1

    out = cli("resolve", "--db", sample_copy, "--domain", DOMAIN)
    assert "0 same (must-link), 1 different (cannot-link) honoured" in out
    assert "decision:different" in out  # the links that would have joined them were refused
    first, second = entity_of(sample_copy, left, right)
    assert first != second

    out = cli("evaluate", "--db", sample_copy, "--domain", DOMAIN)
    assert "against 1 recorded decisions (1 different" not in out  # says same first
    assert "against 1 recorded decisions (0 same, 1 different; 0 unsure" in out
    assert "P 1.0000  R 1.0000" in out

    store = open_store(sample_copy)
    try:
        resolver = Resolver(store, DOMAIN)
        alone = resolver.evaluate_decisions(clusters=resolver.link(decisions=False))  # evaluate --model-only
        assert alone["pairwise"]["false_merges"] == 1  # the model alone joins them: why it was in the queue
        after = review_queue(store, DOMAIN, limit=500)["items"]
        assert (left, right) not in {(i["left"]["unique_id"], i["right"]["unique_id"]) for i in after}
        record_decision(store, DOMAIN, right, left, "same", note="同一家,核实过", key_id="k", department="质监")
        resolution = resolver.resolve()
        assert resolution.report["decisions"]["must_link"] == 1 and resolution.report["decisions"]["cannot_link"] == 0
        scored = resolver.evaluate_decisions()
    finally:
        store.close()
    first, second = entity_of(sample_copy, left, right)
    assert first == second
    assert scored["decisions"] == {"same": 1, "different": 0, "unsure": 0, "scored": 1, "not_in_records": 0}
    assert scored["pairwise"]["true_positives"] == 1


def test_same_on_a_split_joins_the_pair_and_a_constraint_still_wins(sample_copy):
    from resolver.linking.cluster import constraint_violations

    store = open_store(sample_copy)
    try:
        split = review_queue(store, DOMAIN, kind="split", limit=1)["items"][0]
        left, right = split["left"]["unique_id"], split["right"]["unique_id"]
        record_decision(store, DOMAIN, left, right, "same", key_id="k", department="质监", kind="split")
        # and two records whose valid USCCs differ: no decision makes them one
        records = store.load_records(DOMAIN)
        valid = records[records["uscc_valid"].fillna(False).astype(bool)].drop_duplicates("uscc")
        a, b = sorted(valid["unique_id"].iloc[:2])
        record_decision(store, DOMAIN, a, b, "same", key_id="k", department="质监")
        resolver = Resolver(store, DOMAIN)
        resolution = resolver.resolve()
        model = resolver.model()
        members = store.membership(DOMAIN).rename(columns={"entity_id": "cluster_id"})
    finally:
        store.close()
    assert len(set(entity_of(sample_copy, left, right))) == 1  # the steward's word moves the record
    assert not constraint_violations(records, members, model.clustering)
    refused = resolution.report["decisions"]["must_link_refused"]
    assert [(r["unique_id_l"], r["unique_id_r"], r["constraint"]) for r in refused] == \
        [(a, b, "different_valid:uscc")]
    assert any(f"the decision same on {a} and {b} was refused: different_valid:uscc" in line
               for line in resolution.lines())
    assert len(set(entity_of(sample_copy, a, b))) == 2


def test_train_with_decisions_takes_them_as_labels(sample_copy):
    store = open_store(sample_copy)
    try:
        items = review_queue(store, DOMAIN, kind="pair", limit=3)["items"]
        for item in items:
            record_decision(store, DOMAIN, item["left"]["unique_id"], item["right"]["unique_id"], "same")
        before = store.latest_model(DOMAIN)[0]
    finally:
        store.close()
    out = cli("train", "--db", sample_copy, "--domain", DOMAIN, "--decisions",
              "--models-dir", sample_copy.parent / "models")
    assert f"labels: {len(items)} recorded decisions" in out
    store = open_store(sample_copy, read_only=True)
    try:
        model = Resolver(store, DOMAIN).model()
    finally:
        store.close()
    assert model.version != before
    assert model.metadata["labelled_from_decisions"] == model.metadata["labelled_pairs"] == len(items)


def test_evaluate_without_decisions_or_truth_says_what_to_do(sample_copy):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "resolver", "evaluate", "--db", str(sample_copy),
                           "--domain", DOMAIN], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 1
    assert "no enterprise pair decided same or different yet: give --truth" in done.stderr


def test_the_queue_and_a_decision_from_the_command_line(sample_copy):
    out = cli("review", "decide", "--db", sample_copy, "--domain", DOMAIN, *pair_to_decide(sample_copy), "different",
              "--note", "两家店", "--by", "张科长")
    assert "are different (by 张科长)" in out
    out = cli("review", "list", "--db", sample_copy, "--domain", DOMAIN, "--kind", "pair", "--out",
              sample_copy.parent / "page.json")
    store = open_store(sample_copy, read_only=True)
    try:
        page = review_queue(store, DOMAIN, kind="pair", limit=500)
        decided = store.decisions(DOMAIN)
    finally:
        store.close()
    assert out.startswith(f"enterprise: {page['total']} items to review ({page['counts']['pair']} pair")
    assert len(out.splitlines()) == page["total"] + 3  # heading, one line per item, the --out line, a hint
    assert decided[["department", "note", "key_id"]].values.tolist() == [["张科长", "两家店", "cli"]]
    assert (decided["unique_id_l"].iloc[0], decided["unique_id_r"].iloc[0]) not in {
        (i["left"]["unique_id"], i["right"]["unique_id"]) for i in page["items"]}


def pair_to_decide(db: Path) -> tuple[str, str]:
    store = open_store(db, read_only=True)
    try:
        item = review_queue(store, DOMAIN, kind="pair", limit=1)["items"][0]
    finally:
        store.close()
    return item["left"]["unique_id"], item["right"]["unique_id"]
