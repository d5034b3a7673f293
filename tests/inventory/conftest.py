"""One store per session for the inventory and open-data tests (inventory_store.py)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from inventory_store import Built, build  # noqa: E402


@pytest.fixture(scope="session")
def built(demo_copy: Callable[[str], Path]) -> Built:
    return build(demo_copy("inventory"))
