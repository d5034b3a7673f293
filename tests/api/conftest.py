"""Fixtures for the API tests: one small master store per session, copied per test module."""

from __future__ import annotations

import logging
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lookup"))
from api_support import make_keys, retire_some  # noqa: E402
from lookup_data import Built, build_store  # noqa: E402

from fixtures.live_server import Server  # noqa: E402


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


@pytest.fixture(scope="session")
def contract_server(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, object, object]]:
    """`resolver serve` (no rate limits) on a copy whose enterprise master has retired IDs
    (api_support.retire_some), with the test keys: shared by the contract and guide tests,
    which only add records to it."""
    db = tmp_path_factory.mktemp("contract") / "master.duckdb"
    shutil.copy(built.path, db)
    retired = retire_some(db)
    keys = make_keys(db)
    srv = Server(db, {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
                 args=("--rate-limit", "0", "--match-rate-limit", "0"))
    yield srv, keys, retired
    srv.stop()
