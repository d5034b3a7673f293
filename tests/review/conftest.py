"""The committed sample's enterprise records, ingested, trained and resolved by the engine (so
the store keeps scored pairs and golden-value conflicts): built once per session, copied per
test module or test."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def resolved_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from resolver.analysis.sample import ingest_domains
    from resolver.demo import SAMPLE
    from resolver.engine import Resolver
    from resolver.store import open_store

    logging.getLogger("splink").setLevel(logging.ERROR)
    folder = tmp_path_factory.mktemp("review_sample")
    store = open_store(folder / "master.duckdb")
    try:
        ingest_domains(store, SAMPLE, ["enterprise"])
        resolver = Resolver(store, "enterprise")
        resolver.publish(resolver.train(out_dir=folder / "models"))
        resolver.resolve()
    finally:
        store.close()
    return folder / "master.duckdb"


@pytest.fixture(scope="module")
def module_sample(resolved_sample: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the resolved sample for one test module (its tests may add decisions)."""
    target = tmp_path_factory.mktemp("review_module") / "master.duckdb"
    shutil.copy(resolved_sample, target)
    return target


@pytest.fixture
def sample_copy(resolved_sample: Path, tmp_path: Path) -> Path:
    target = tmp_path / "master.duckdb"
    shutil.copy(resolved_sample, target)
    return target
