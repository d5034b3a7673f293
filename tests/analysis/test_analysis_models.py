"""matching_model: reuse only a model trained on the same records with the same rule files."""

from __future__ import annotations

import pandas as pd

from resolver.analysis.models import matching_model
from resolver.linking.model import LinkModel, fingerprint_records, save_model
from resolver.linking.rules import load_rules


def _save(folder, version, rules, fingerprint, created):
    meta = {"version": version, "domain": rules.domain, "rules_hash": rules.rules_hash,
            "training_fingerprint": fingerprint, "created": created}
    save_model(LinkModel(rules.domain, version, {"comparisons": []}, meta), folder)


def test_newest_model_with_same_rules_and_records_is_found(tmp_path):
    rules = load_rules("enterprise")
    records = pd.DataFrame({"unique_id": ["tax:1", "commerce:1"], "name": ["a", "b"]})
    other = pd.DataFrame({"unique_id": ["tax:2"], "name": ["c"]})
    fp = fingerprint_records(records)
    assert matching_model(tmp_path / "absent", rules, records) is None
    _save(tmp_path, "enterprise-20260101T000000-aaaaaaaa", rules, fp, "2026-01-01T00:00:00")
    _save(tmp_path, "enterprise-20260102T000000-bbbbbbbb", rules, fp, "2026-01-02T00:00:00")
    _save(tmp_path, "enterprise-20260103T000000-cccccccc", rules, fingerprint_records(other),
          "2026-01-03T00:00:00")
    (tmp_path / "enterprise-broken.json").write_text("{not json", encoding="utf-8")
    found = matching_model(tmp_path, rules, records)
    assert found is not None and found.version == "enterprise-20260102T000000-bbbbbbbb"
    assert matching_model(tmp_path, rules, other).version.endswith("cccccccc")


def test_model_of_other_rules_is_not_reused(tmp_path):
    rules = load_rules("enterprise")
    records = pd.DataFrame({"unique_id": ["tax:1"], "name": ["a"]})
    meta_rules = load_rules("enterprise")
    meta_rules.rules_hash = "0" * 64          # as if a rule file had been edited since
    _save(tmp_path, "enterprise-20260101T000000-dddddddd", meta_rules,
          fingerprint_records(records), "2026-01-01T00:00:00")
    assert matching_model(tmp_path, rules, records) is None
