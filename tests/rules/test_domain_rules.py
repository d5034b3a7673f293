"""DomainRules: every rule file of a domain loaded once, every problem reported at once, and a
stable content hash."""

import shutil
from pathlib import Path

import pytest

from resolver.errors import ConfigError
from resolver.linking.rules import DEFAULT_RULES_ROOT
from resolver.rules import DomainRules, rules_hash


def _copy(tmp_path: Path, domain: str = "enterprise", name: str = "rules") -> Path:
    root = tmp_path / name
    shutil.copytree(DEFAULT_RULES_ROOT / domain, root / domain, ignore=shutil.ignore_patterns("models"))
    return root


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{path.name} no longer holds {old!r}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize("domain", ["enterprise", "person"])
def test_the_committed_rules_load(domain):
    rules = DomainRules.load(domain)
    assert rules.linking.blocking and rules.linking.comparisons and rules.survivorship.fields
    assert rules.linking.rules_hash == rules.rules_hash  # the model version is named after all files
    assert (rules.unregistered is not None) == (rules.path / "unregistered.yaml").exists()
    assert rules.schema.name == domain and "name" in rules.schema.canonical_fields()


def test_problems_in_several_files_are_reported_at_once(tmp_path):
    root = _copy(tmp_path)
    folder = root / "enterprise"
    _replace(folder / "clustering.yaml", "match_probability_threshold: 0.9", "match_probability_threshold: 1.5")
    _replace(folder / "survivorship.yaml", "name:          {rule: source_priority}",
             "name:          {rule: loudest}")
    _replace(folder / "survivorship.yaml", "recency:", "recency_of:")
    text = (folder / "comparisons.yaml").read_text(encoding="utf-8")
    (folder / "comparisons.yaml").write_text(text.replace("kind: exact", "kind: exactly", 1), encoding="utf-8")
    (folder / "unregistered.yaml").write_text(
        (folder / "unregistered.yaml").read_text(encoding="utf-8") + "\nlenient: true\n", encoding="utf-8")
    _replace(folder / "schema.yaml", "standard: reg_no ", "standard: reg_number ")

    with pytest.raises(ConfigError) as caught:
        DomainRules.load("enterprise", root)
    problems = caught.value.problems
    assert caught.value.path == str(folder)

    def has(*parts: str) -> bool:
        return any(all(p in line for p in parts) for line in problems)

    assert has("clustering.yaml", "match_probability_threshold"), problems
    assert has("comparisons.yaml", "exactly"), problems
    assert has("survivorship.yaml", "fields.name.rule", "loudest"), problems
    assert has("survivorship.yaml", "recency_of"), problems
    assert has("unregistered.yaml", "lenient"), problems
    assert has("schema.yaml", "reg_no", "reg_number"), problems
    assert len(problems) == 6, problems
    assert str(caught.value).count("\n  - ") == 6  # one line per problem in the message a person reads


def test_a_missing_file_is_named(tmp_path):
    root = _copy(tmp_path)
    (root / "enterprise" / "survivorship.yaml").unlink()
    (root / "enterprise" / "training.yaml").unlink()
    with pytest.raises(ConfigError) as caught:
        DomainRules.load("enterprise", root)
    assert any(p.startswith("survivorship.yaml") for p in caught.value.problems), caught.value.problems
    assert any(p.startswith("training.yaml") for p in caught.value.problems), caught.value.problems


def test_hash_is_stable_and_follows_values_not_comments(tmp_path):
    one, two = _copy(tmp_path, name="one"), _copy(tmp_path, name="two")
    first = DomainRules.load("enterprise", one).rules_hash
    assert DomainRules.load("enterprise", one).rules_hash == first          # same files, same hash
    assert DomainRules.load("enterprise", two).rules_hash == first          # wherever they are
    assert rules_hash(one / "enterprise") == first

    clustering = two / "enterprise" / "clustering.yaml"
    clustering.write_text("# a note for the analyst\n" + clustering.read_text(encoding="utf-8"), encoding="utf-8")
    assert DomainRules.load("enterprise", two).rules_hash == first          # a comment is not a rule

    _replace(clustering, "match_probability_threshold: 0.9", "match_probability_threshold: 0.91")
    changed = DomainRules.load("enterprise", two).rules_hash
    assert changed != first

    # every rule file counts, survivorship and 漏管户 included
    for name, old, new in (("survivorship.yaml", "rule: most_recent}", "rule: most_frequent}"),
                           ("unregistered.yaml", "grace_days: ", "grace_days: 1")):
        root = _copy(tmp_path, name=f"edit-{name}")
        _replace(root / "enterprise" / name, old, new)
        assert DomainRules.load("enterprise", root).rules_hash not in (first, changed), name


def test_resolver_rules_folder_is_honoured_by_every_loader(tmp_path, monkeypatch):
    root = _copy(tmp_path, "person")
    _replace(root / "person" / "clustering.yaml", "match_probability_threshold: 0.9", "match_probability_threshold: 0.42")
    monkeypatch.setenv("RESOLVER_RULES", str(root))
    rules = DomainRules.load("person")
    assert rules.path == root / "person"
    assert rules.clustering["match_probability_threshold"] == 0.42
    assert rules.survivorship.path == str(root / "person" / "survivorship.yaml")
