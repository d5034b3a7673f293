"""A master store built from the committed sample's first half (tax and commerce exports,
trained and resolved); the second half (statistics, quality) is left for the tests to ingest
while a server runs. Built once per session, copied per test module."""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from jobs_support import FIRST_HALF, SAMPLE, SOURCES


@dataclass
class Half:
    path: Path
    records: int


@pytest.fixture(scope="session")
def first_half(tmp_path_factory: pytest.TempPathFactory) -> Half:
    from resolver.engine import Resolver
    from resolver.ingest import ingest_file
    from resolver.store import open_store

    logging.getLogger("splink").setLevel(logging.ERROR)
    folder = tmp_path_factory.mktemp("first_half")
    store = open_store(folder / "master.duckdb")
    try:
        records = sum(ingest_file(store, SOURCES / f"{source}.yaml", SAMPLE / name).loaded
                      for source, name in FIRST_HALF.items())
        resolver = Resolver(store, "enterprise")
        resolver.publish(resolver.train(out_dir=folder / "models"))
        resolver.resolve()
    finally:
        store.close()
    return Half(folder / "master.duckdb", records)


@pytest.fixture(scope="module")
def half_store(first_half: Half, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("served") / "master.duckdb"
    shutil.copy(first_half.path, target)
    return target
