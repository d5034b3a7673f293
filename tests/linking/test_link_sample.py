"""Accuracy floors on the committed fixture sample (fixtures/sample), end to end."""

import json
from pathlib import Path

import pandas as pd
import pytest

from resolver.ingest import prepare
from resolver.linking.cluster import cluster_with_constraints, constraint_violations
from resolver.linking.evaluate import evaluate
from resolver.linking.predict import predict_pairs
from resolver.linking.rules import load_rules
from resolver.linking.train import train_model

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "fixtures" / "sample"
# set just under what the committed rules reach on the sample (enterprise 0.9998, person 1.0)
F1_FLOOR = {"enterprise": 0.995, "person": 0.997}


def _records(domain: str) -> pd.DataFrame:
    manifest = json.loads((SAMPLE / "manifest.json").read_text(encoding="utf-8"))
    frames = [prepare(ROOT / "matching_rules" / "sources" / f"{f['source']}.yaml", SAMPLE / f["file"]).records
              for f in manifest["files"] if f["domain"] == domain]
    return pd.concat(frames, ignore_index=True)


@pytest.mark.parametrize("domain", ["enterprise", "person"])
def test_sample_f1_floor_and_constraints(domain, tmp_path):
    assert (SAMPLE / "manifest.json").exists(), "fixtures/sample is committed; regenerate it with fixtures.generate"
    records = _records(domain)
    rules = load_rules(domain)
    model = train_model(records, rules, out_dir=tmp_path)
    pairs = predict_pairs(records, model)
    clusters, _ = cluster_with_constraints(records, pairs, rules.clustering)
    assert constraint_violations(records, clusters, rules.clustering) == []
    truth = pd.read_csv(SAMPLE / "truth_members.csv", dtype=str)
    ev = evaluate(clusters, truth[truth["domain"] == domain])
    assert ev["source_records"] == len(records)
    assert ev["pairwise"]["f1"] >= F1_FLOOR[domain], ev["pairwise"]
