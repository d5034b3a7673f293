"""Stores shared by the whole session: the demo pipeline on the committed sample (fixtures/sample)
is run once, not once per folder (ui, security, inventory, review, the API's worklist).

`demo_store` is READ-ONLY: a test that adds keys, cases, decisions or records, serves it, or
re-resolves it works on its own copy from `demo_copy(name)`; a DuckDB file of the sample copies
in milliseconds."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest


def copy_store(db: Path, folder: Path) -> Path:
    """A copy of the store `db` in `folder`, with the files beside it that belong to it (its
    access store of keys and audit rows, its audit secret); returns the copy's path."""
    folder.mkdir(parents=True, exist_ok=True)
    for part in db.parent.glob(db.name + "*"):
        if part.is_file():
            shutil.copy(part, folder / part.name)
    return folder / db.name


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`resolver demo` on the committed sample (both domains ingested, trained, resolved; its
    models in `models/`, the 漏管户 report beside it). READ-ONLY: see `demo_copy`."""
    from resolver.demo import run_demo

    logging.getLogger("splink").setLevel(logging.ERROR)
    work = tmp_path_factory.mktemp("demo")
    run_demo(work, say=lambda _: None)
    return work / "master.duckdb"


@pytest.fixture(scope="session")
def demo_copy(demo_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """`demo_copy(name)`: a fresh copy of the demo store in a new folder named after `name`."""
    def copy(name: str) -> Path:
        return copy_store(demo_store, tmp_path_factory.mktemp(name))
    return copy
