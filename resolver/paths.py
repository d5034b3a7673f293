"""Where rule files live: `matching_rules/` beside the package, or $RESOLVER_RULES."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def rules_dir() -> Path:
    return Path(os.environ.get("RESOLVER_RULES", REPO_ROOT / "matching_rules"))
