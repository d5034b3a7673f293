"""The 漏管户 rule file loads, and a broken one reports every problem at once, naming keys."""

from pathlib import Path

import pytest
import yaml

from resolver.errors import ConfigError
from resolver.unregistered.rules import default_path, load_rules


def test_committed_rule_file_loads_with_the_legal_deadline():
    rules = load_rules()
    assert rules.grace_days == 30
    assert "active" in rules.registry_live and "cancelled" in rules.registry_closed
    assert ("same_valid_uscc",) in rules.link_review_when
    assert rules.roles == {"registry": "business_registry", "covering": "tax_registration", "activity": "activity"}
    assert [s.role for s in rules.operating] == ["inspection", "revenue_report", "permit"]
    assert rules.reason_text("OPERATING_QUALITY_RECORD", "质监") == "有质监检查记录"
    # an inspection record scores most, as before roles: 35 of 100 at five records
    assert rules.record_scores["inspection"] == (35, 5)
    assert sum(rules.weights.values()) + rules.record_scores["inspection"][0] == 100


def test_every_problem_is_reported_at_once(tmp_path: Path):
    doc = yaml.safe_load(default_path().read_text(encoding="utf-8"))
    doc["grace_days"] = -1
    doc["statuses"]["registry_live"] = ["active", "alive"]
    doc["roles"]["covering"] = "taxes"
    doc["operating"][0]["records_min"] = 0
    doc["nearest"]["link_review_when"].append(["same_colour"])
    doc["score"]["caps"]["revenue"] = 0
    del doc["reasons"]["NO_TAX_RECORD"]
    doc["surprise"] = 1
    bad = tmp_path / "unregistered.yaml"
    bad.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_rules(bad)
    text = str(err.value)
    assert str(bad) in text
    for key in ("grace_days", "statuses.registry_live", "link_review_when[10]", "score.caps.revenue",
                "reasons.NO_TAX_RECORD", "surprise", "roles.covering: 'taxes'", "operating[0].records_min"):
        assert key in text, key
    assert len(err.value.problems) == 8


def test_unreadable_file_is_a_config_error(tmp_path: Path):
    bad = tmp_path / "x.yaml"
    bad.write_text("grace_days: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_rules(bad)
    with pytest.raises(ConfigError, match="file not found"):
        load_rules(tmp_path / "missing.yaml")
