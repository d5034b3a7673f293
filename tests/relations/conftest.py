"""Two fixture shapes run through the pipeline once per session, reused by every test of this
folder: the committed sample (the session's demo store, tests/conftest.py: READ-ONLY, tests copy
it before they write) and a generated noisy shape (~3,000 source records)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests dirs have no __init__.py
from relations_support import ShapeStore, build_shape  # noqa: E402

from resolver.demo import SAMPLE  # noqa: E402


@pytest.fixture(scope="session")
def sample_store(demo_store: Path) -> ShapeStore:
    return ShapeStore("sample", SAMPLE, demo_store)


@pytest.fixture(scope="session")
def noisy_store(tmp_path_factory: pytest.TempPathFactory) -> ShapeStore:
    return build_shape("noisy", tmp_path_factory.mktemp("relations_noisy"))
