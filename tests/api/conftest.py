"""Fixtures for the API tests: one small master store per session, copied per test module."""

from __future__ import annotations

import logging
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lookup"))
from lookup_data import Built, build_store  # noqa: E402


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    logging.getLogger("splink").setLevel(logging.ERROR)
    return build_store(tmp_path_factory.mktemp("master"))


@pytest.fixture
def store_copy(built: Built, tmp_path: Path) -> Iterator[Path]:
    target = tmp_path / "master.duckdb"
    shutil.copy(built.path, target)
    yield target


@pytest.fixture(scope="module")
def module_store(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the built store shared by one test module (tests there may add to it)."""
    target = tmp_path_factory.mktemp("module") / "master.duckdb"
    shutil.copy(built.path, target)
    return target
