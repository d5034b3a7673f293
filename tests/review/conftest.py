"""The review tests' stores: copies of the session's demo store (tests/conftest.py: the
committed sample ingested, trained and resolved by the engine, so the store keeps scored pairs
and golden-value conflicts), per test module or per test."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def module_sample(demo_copy: Callable[[str], Path]) -> Path:
    """A copy of the resolved sample for one test module (its tests may add decisions)."""
    return demo_copy("review_module")


@pytest.fixture
def sample_copy(demo_copy: Callable[[str], Path]) -> Path:
    """A copy of the resolved sample for one test."""
    return demo_copy("review_test")
