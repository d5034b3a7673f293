"""Accuracy floors on the committed fixture sample (fixtures/sample), end to end: the model
trained on its records (tests/conftest.py, once per session), pairs, clusters, evaluation."""

from pathlib import Path

import pandas as pd
import pytest

from resolver.linking.cluster import cluster_with_constraints, constraint_violations
from resolver.linking.evaluate import evaluate
from resolver.linking.predict import predict_pairs
from resolver.linking.rules import load_rules

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "fixtures" / "sample"
# set just under what the committed rules reach on the sample (enterprise 0.9998, person 1.0)
F1_FLOOR = {"enterprise": 0.995, "person": 0.997}


@pytest.mark.parametrize("domain", ["enterprise", "person"])
def test_sample_f1_floor_and_constraints(domain, sample_records, sample_model):
    assert (SAMPLE / "manifest.json").exists(), "fixtures/sample is committed; regenerate it with fixtures.generate"
    records = sample_records(domain)
    rules = load_rules(domain)
    model = sample_model(domain)
    pairs = predict_pairs(records, model)
    clusters, _ = cluster_with_constraints(records, pairs, rules.clustering)
    assert constraint_violations(records, clusters, rules.clustering) == []
    truth = pd.read_csv(SAMPLE / "truth_members.csv", dtype=str)
    ev = evaluate(clusters, truth[truth["domain"] == domain])
    assert ev["source_records"] == len(records)
    assert ev["pairwise"]["f1"] >= F1_FLOOR[domain], ev["pairwise"]
