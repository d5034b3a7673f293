"""Where rule files live: `matching_rules/` beside the package, or $RESOLVER_RULES."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def rules_dir() -> Path:
    return Path(os.environ.get("RESOLVER_RULES", REPO_ROOT / "matching_rules"))


def display_path(path: str | Path) -> str:
    """A rule file's path as reports show it: relative to the repository when inside it (an
    absolute path names the machine it ran on, not the rule file)."""
    resolved = Path(path).resolve()
    try:
        return str(resolved.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)
