"""Two small fixture shapes generated and run through the pipeline once per session (sample and
noisy, ~3,000 source records each), reused by every test of this folder."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests dirs have no __init__.py
from relations_support import ShapeStore, build_shape  # noqa: E402

_BUILT: dict[str, ShapeStore] = {}


def shape_store(shape: str, factory: pytest.TempPathFactory) -> ShapeStore:
    if shape not in _BUILT:
        _BUILT[shape] = build_shape(shape, factory.mktemp(f"relations_{shape}"))
    return _BUILT[shape]


@pytest.fixture(scope="session")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> ShapeStore:
    return shape_store("sample", tmp_path_factory)


@pytest.fixture(scope="session")
def noisy_store(tmp_path_factory: pytest.TempPathFactory) -> ShapeStore:
    return shape_store("noisy", tmp_path_factory)
