import shutil
from pathlib import Path

import pytest

from resolver.errors import ConfigError
from resolver.linking.compile import build_settings
from resolver.linking.rules import DEFAULT_RULES_ROOT, load_rules


def _copy(tmp_path: Path, domain: str = "enterprise") -> Path:
    shutil.copytree(DEFAULT_RULES_ROOT / domain, tmp_path / domain)
    return tmp_path / domain


@pytest.mark.parametrize("domain", ["enterprise", "person"])
def test_committed_rule_files_load_and_compile(domain):
    rules = load_rules(domain)
    settings = build_settings(rules).get_settings("duckdb")
    assert len(settings.comparisons) == len(rules.comparisons)
    assert len(rules.rules_hash) == 64


def test_typo_key_is_named_with_file_and_suggestion(tmp_path):
    folder = _copy(tmp_path)
    path = folder / "blocking.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("max_block_size: 20", "max_blok_size: 20", 1),
                    encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_rules("enterprise", tmp_path)
    msg = str(err.value)
    assert "blocking.yaml: rules[0]: unknown key 'max_blok_size' (did you mean 'max_block_size'?)" in msg


def test_every_problem_reported_at_once(tmp_path):
    folder = _copy(tmp_path)
    comp = folder / "comparisons.yaml"
    text = comp.read_text(encoding="utf-8").replace("kind: jaro_winkler", "kind: jaro_winklr")
    comp.write_text(text.replace("tf: true, tf_minimum", "tf: yes please, tf_minimum", 1), encoding="utf-8")
    clus = folder / "clustering.yaml"
    clus.write_text(clus.read_text(encoding="utf-8").replace("0.9", "1.9"), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_rules("enterprise", tmp_path)
    problems = err.value.problems
    assert any("unknown level kind 'jaro_winklr'" in p and "comparison 'name'" in p for p in problems)
    assert any("key 'tf' has wrong type str" in p for p in problems)
    assert any("clustering.yaml: key 'match_probability_threshold' must be within 0..1" in p
               for p in problems)


def test_yaml_null_kind_is_caught(tmp_path):
    folder = _copy(tmp_path)
    comp = folder / "comparisons.yaml"
    comp.write_text(comp.read_text(encoding="utf-8").replace("kind: missing", "kind: null", 1),
                    encoding="utf-8")
    with pytest.raises(ConfigError, match="comparison 'uscc' level 0: unknown level kind 'None'"):
        load_rules("enterprise", tmp_path)


def test_unknown_column_fails_when_data_given():
    rules = load_rules("enterprise")
    cols = set(rules.columns_used()) - {"trade_name"}
    with pytest.raises(ConfigError) as err:
        rules.check_columns(cols)
    msg = str(err.value)
    assert "blocking.yaml: rule 'trade_name_legal_rep': unknown column 'trade_name'" in msg
    assert "comparisons.yaml: comparison 'trade_name' level 1: unknown column 'trade_name'" in msg
    rules.check_columns(rules.columns_used())  # complete data passes


def test_prior_must_name_a_blocking_rule(tmp_path):
    folder = _copy(tmp_path)
    path = folder / "training.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("[uscc, org_code]", "[uscc, org_kode]"),
                    encoding="utf-8")
    with pytest.raises(ConfigError, match="deterministic_rules names 'org_kode', not a rule of blocking.yaml"):
        load_rules("enterprise", tmp_path)
