import json
import shutil

import pytest
from linking_synth import enterprise_frame, person_frame

from resolver.linking.cluster import cluster_with_constraints, constraint_violations
from resolver.linking.evaluate import evaluate
from resolver.linking.model import DegenerateModelError, load_model
from resolver.linking.predict import predict_pairs
from resolver.linking.rules import DEFAULT_RULES_ROOT, load_rules
from resolver.linking.train import train_model


@pytest.fixture(scope="module")
def enterprise_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("models")
    records = enterprise_frame(600, seed=7)
    rules = load_rules("enterprise")
    model = train_model(records, rules, out_dir=out)
    return records, rules, model


def test_model_json_round_trips(enterprise_run):
    records, _, model = enterprise_run
    assert model.path is not None and model.path.name == f"{model.version}.json"
    assert model.version.startswith("enterprise-") and len(model.version.split("-")[-1]) == 8
    loaded = load_model(model.path)
    assert loaded.version == model.version
    assert loaded.settings == model.settings
    assert loaded.metadata["rules_hash"] == load_rules("enterprise").rules_hash
    doc = json.loads(model.path.read_text(encoding="utf-8"))
    assert "comparisons" in doc and doc["resolver"]["training_records"] == len(records)
    # the reloaded model predicts the same pairs
    a = predict_pairs(records, model).sort_values(["unique_id_l", "unique_id_r"])
    b = predict_pairs(records, loaded).sort_values(["unique_id_l", "unique_id_r"])
    assert a["match_probability"].round(9).tolist() == b["match_probability"].round(9).tolist()


def test_synthetic_enterprise_accuracy_and_constraints(enterprise_run):
    records, rules, model = enterprise_run
    pairs = predict_pairs(records, model)
    clusters, report = cluster_with_constraints(records, pairs, rules.clustering)
    assert constraint_violations(records, clusters, rules.clustering) == []
    ev = evaluate(clusters, records[["source", "source_record_id", "entity_id"]], records, pairs)
    assert ev["pairwise"]["f1"] >= 0.98, ev["pairwise"]
    assert {"mw_uscc", "mw_name", "mw_phone"} <= set(pairs.columns)


def test_model_trained_on_nothing_is_refused(tmp_path):
    # no training rule converges: every estimate is left out, nothing to publish
    shutil.copytree(DEFAULT_RULES_ROOT / "person", tmp_path / "person")
    path = tmp_path / "person" / "training.yaml"
    text = path.read_text(encoding="utf-8").replace("em_max_iterations: 60", "em_max_iterations: 1")
    path.write_text(text.replace("em_convergence: 0.0001", "em_convergence: 0.0000000001"), encoding="utf-8")
    rules = load_rules("person", tmp_path)
    with pytest.raises(DegenerateModelError, match="did not converge"):
        train_model(person_frame(300), rules, out_dir=tmp_path / "models")
    assert not (tmp_path / "models").exists()  # nothing published


def test_labelled_pairs_set_m_and_are_recorded(tmp_path):
    import pandas as pd

    records = person_frame(200, seed=5)
    members = records.groupby("entity_id")["unique_id"].apply(list)
    labels = pd.DataFrame([(m[0], m[1], 1) for m in members if len(m) > 1],
                          columns=["unique_id_l", "unique_id_r", "is_match"])
    model = train_model(records, load_rules("person"), labels, out_dir=tmp_path)
    assert model.metadata["labelled_pairs"] == len(labels)
    id_levels = model.settings["comparisons"][0]["comparison_levels"]
    # every labelled match shares a valid ID in this frame, so m(valid ID equal) is ~1
    assert id_levels[1]["m_probability"] > 0.99


def test_blocking_finds_old_org_code_and_core_name_in_district(enterprise_run):
    records, _, model = enterprise_run
    base = records.iloc[0].to_dict()
    blank = {c: None for c in records.columns}
    new = {**blank, "source": "commerce", "source_record_id": "n1", "unique_id": "commerce:n1",
           "name": "杭州甲乙丙丁科技有限公司", "name_core": "甲乙丙丁科技", "trade_name": "甲乙丙丁",
           "name_tokens": ["甲乙丙丁", "科技"], "entity_kind": "company",
           "uscc": "91330106MA2ABCDE1X", "uscc_valid": True, "org_code": "MA2ABCDE1",
           "org_code_valid": True, "district_code": "330106"}
    old = {**blank, "source": "quality", "source_record_id": "o1", "unique_id": "quality:o1",
           "name": "某某旧名称厂", "name_core": "某某旧名称", "org_code": "MA2ABCDE1",
           "org_code_valid": True, "entity_kind": "company"}
    moved = {**blank, "source": "tax", "source_record_id": "m1", "unique_id": "tax:m1",
             "name": "甲乙丙丁科技(杭州)有限公司", "name_core": "甲乙丙丁科技", "entity_kind": "company",
             "district_code": "330106", "name_tokens": ["甲乙丙丁", "科技"]}
    frame = records.iloc[:0].astype(object)
    import pandas as pd

    frame = pd.concat([frame, pd.DataFrame([new, old, moved, base])], ignore_index=True)
    pairs = predict_pairs(frame, model, threshold=0.0)
    found = set(zip(pairs["unique_id_l"], pairs["unique_id_r"], strict=True))
    assert ("commerce:n1", "quality:o1") in found  # only the org code is shared
    assert ("commerce:n1", "tax:m1") in found  # only the core name within a district
