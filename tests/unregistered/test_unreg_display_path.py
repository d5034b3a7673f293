"""Reports name rule files relative to the repository, not by the machine's absolute path."""

from pathlib import Path

from resolver.paths import REPO_ROOT, display_path


def test_rule_files_inside_the_repo_are_shown_relative(tmp_path):
    assert display_path(REPO_ROOT / "matching_rules" / "enterprise" / "unregistered.yaml") == \
        str(Path("matching_rules") / "enterprise" / "unregistered.yaml")
    outside = tmp_path / "my_rules.yaml"
    assert display_path(outside) == str(outside)
