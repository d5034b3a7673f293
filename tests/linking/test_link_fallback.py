"""Training adapts to data unlike the fixtures: graded levels may weigh against a match,
untrained or broken levels get the documented fallback, and the model records which."""

import json
import shutil

import numpy as np
import pytest
from linking_synth import enterprise_frame

from resolver.linking.fallback import FALLBACK, TRAINED, LevelEstimates, decide_levels
from resolver.linking.model import load_model
from resolver.linking.rules import DEFAULT_RULES_ROOT, load_rules
from resolver.linking.train import train_model


def _uninformative_district(seed: int = 7):
    """Half the records get a district and road drawn from other records: true pairs then agree
    on a whole address or on nothing, and 'same district' alone is chance (the issue's data)."""
    records = enterprise_frame(600, seed=seed)
    rng = np.random.default_rng(seed)
    moved = rng.random(len(records)) < 0.5
    for col in ("district_code", "road"):
        records.loc[moved, col] = rng.permutation(records.loc[moved, col].to_numpy())
    return records


@pytest.fixture(scope="module")
def adapted(tmp_path_factory):
    out = tmp_path_factory.mktemp("models")
    model = train_model(_uninformative_district(), load_rules("enterprise"), out_dir=out)
    return model


def _level(model, comparison, label):
    return next(lv for lv in model.metadata["levels"] if lv["comparison"] == comparison and lv["label"] == label)


def test_graded_level_against_a_match_is_published_and_recorded(adapted):
    district = _level(adapted, "address", "same district")
    # the situation that made training refuse: agreeing on the district alone is evidence against
    assert district["m"] <= district["u"] and district["match_weight"] < 0
    assert district["status"] == TRAINED and district["pairs_observed"] > 0
    assert "evidence against" in district["reason"]
    assert adapted.path is not None and adapted.path.exists()


def test_every_level_has_m_and_u_written_not_splink_defaults(adapted):
    doc = json.loads(adapted.path.read_text(encoding="utf-8"))
    recorded = {(lv["comparison"], lv["level"]): lv for lv in doc["resolver"]["levels"]}
    for comp in doc["comparisons"]:
        for i, lv in enumerate(comp["comparison_levels"]):
            if lv.get("is_null_level"):
                continue
            rec = recorded[(comp["output_column_name"], i)]
            assert lv["m_probability"] == rec["m"] and lv["u_probability"] == rec["u"]
            assert rec["status"] in (TRAINED, FALLBACK)
    # never seen in this data: the fixed values declared in training.yaml, said so
    bad_check = _level(adapted, "uscc", "USCC equal but check character fails")
    assert bad_check["status"] == FALLBACK and bad_check["pairs_observed"] == 0
    assert (bad_check["m"], bad_check["u"]) == (0.01, 1.0e-6)
    assert "training.yaml" in bad_check["reason"]
    assert any("USCC equal but check character fails" in w for w in adapted.metadata["warnings"])
    assert load_model(adapted.path).metadata["levels"] == adapted.metadata["levels"]


def test_decide_levels_falls_back_for_broken_identifier_and_unseen_levels():
    rules = load_rules("enterprise")
    est = {
        ("uscc", 1): LevelEstimates([0.01], [0.02], 40),        # identifier, m <= u: broken
        ("address", 3): LevelEstimates([0.01], [0.09], 120),    # graded, m <= u: allowed
        ("uscc", 3): LevelEstimates([0.05], [], 12),            # u never observed
        ("phone", 1): LevelEstimates([], [0.001], 0),           # m never observed, no fixed entry
        ("org_code", 1): LevelEstimates([0.9], [0.0003], 500),  # ordinary
    }
    reports, warnings = decide_levels(rules, est, u_bound=1e-6)
    got = {(r.comparison, r.level): r for r in reports}
    valid = got[("uscc", 1)]
    assert valid.status == FALLBACK and (valid.m, valid.u) == (0.6, 1.0e-6) and "identifier" in valid.reason
    assert got[("address", 3)].status == TRAINED and got[("address", 3)].match_weight < 0
    assert got[("uscc", 3)].u == 1e-6 and got[("uscc", 3)].status == TRAINED
    phone = got[("phone", 1)]
    assert phone.status == FALLBACK and phone.m == phone.u == 0.001 and phone.match_weight == 0
    assert got[("org_code", 1)].status == TRAINED and got[("org_code", 1)].pairs_observed == 500
    assert len(warnings) == sum(r.status == FALLBACK for r in reports)
    assert any("'uscc' level 1 (valid USCC equal)" in w for w in warnings)


def test_training_rule_without_pairs_is_left_out_with_a_warning(tmp_path):
    shutil.copytree(DEFAULT_RULES_ROOT / "enterprise", tmp_path / "enterprise")
    path = tmp_path / "enterprise" / "training.yaml"
    text = path.read_text(encoding="utf-8").replace(
        "em_rules:\n", "em_rules:\n  - name: em_record_id\n    columns: [source_record_id]\n", 1)
    path.write_text(text, encoding="utf-8")
    model = train_model(enterprise_frame(300, seed=3), load_rules("enterprise", tmp_path), out_dir=tmp_path / "m")
    assert model.path is not None and model.path.exists()
    assert {"rule": "em_record_id", "iterations": 0, "last_change": None, "used": False} in model.metadata["em"]
    assert any("em_record_id" in w and "no pairs" in w for w in model.metadata["warnings"])


def test_fallback_table_names_levels_that_exist(tmp_path):
    from resolver.errors import ConfigError

    shutil.copytree(DEFAULT_RULES_ROOT / "person", tmp_path / "person")
    path = tmp_path / "person" / "training.yaml"
    text = path.read_text(encoding="utf-8").replace("level: valid ID equal, m: 0.8", "level: valid ID same, m: 1.5")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_rules("person", tmp_path)
    msg = str(err.value)
    assert "fallback: fixed[0]: comparison 'id_number' has no level 'valid ID same'" in msg
    assert "fixed[0]: key 'm' must be within 0..1" in msg


def test_unseen_level_of_a_comparison_em_saw_is_bounded_by_what_em_saw():
    """EM saw 3000 pairs agree on the address as evidence for a match and none at 'else': m is at
    most 3/3000 there, so a different address weighs against a match; a comparison EM never saw
    keeps 'no evidence', and an unseen level is never made evidence *for* a match. Only for
    comparisons listed under fallback.bound_unseen (address, not trade_name)."""
    rules = load_rules("enterprise")
    assert rules.training["fallback"]["bound_unseen"] == ["address"]
    est = {
        ("address", 1): LevelEstimates([0.94], [6e-5], 2800),   # same building
        ("address", 2): LevelEstimates([0.05], [2e-6], 200),    # same road and number
        ("address", 5): LevelEstimates([], [0.88], 0),          # else: never seen
        ("name", 5): LevelEstimates([], [7e-6], 0),             # rarer than 3/n: stays m = u
        ("name", 1): LevelEstimates([0.7], [3e-5], 1000),
        ("phone", 1): LevelEstimates([], [0.001], 0),           # phone never seen at all
        ("trade_name", 1): LevelEstimates([0.99], [1e-4], 3000),
        ("trade_name", 3): LevelEstimates([], [0.99], 0),        # not listed: stays m = u
    }
    got = {(r.comparison, r.level): r for r in decide_levels(rules, est, u_bound=1e-6)[0]}
    other = got[("address", 5)]
    assert other.status == FALLBACK and other.m == pytest.approx(3 / 3000) and other.u == 0.88
    assert other.match_weight < -9 and "3/3000" in other.reason
    assert got[("name", 5)].m == got[("name", 5)].u and got[("name", 5)].match_weight == 0
    assert got[("phone", 1)].m == got[("phone", 1)].u
    assert got[("trade_name", 3)].m == got[("trade_name", 3)].u == 0.99
