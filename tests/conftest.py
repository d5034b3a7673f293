"""What the whole session shares, built once instead of once per folder (once per worker under
`make test`, two workers by default): the demo pipeline on the committed sample (fixtures/sample; used
by ui, security, inventory, review, relations and the API's worklist), and the sample's
standardized records and the model trained on them per domain (linking, store, engines).

`demo_store` is READ-ONLY: a test that adds keys, cases, decisions or records, serves it, or
re-resolves it works on its own copy from `demo_copy(name)`; a DuckDB file of the sample copies
in milliseconds.

Two tiers: `make test` runs the quick suite; a module marked `pytestmark = pytest.mark.slow` (one
that costs more than ~15 s: whole shapes resolved, live servers beside jobs, Spark) runs under
`make test-slow`, which CI runs after it (README, Development)."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "fixtures" / "sample"


def copy_store(db: Path, folder: Path) -> Path:
    """A copy of the store `db` in `folder`, with the files beside it that belong to it (its
    access store of keys and audit rows, its audit secret); returns the copy's path."""
    folder.mkdir(parents=True, exist_ok=True)
    for part in db.parent.glob(db.name + "*"):
        if part.is_file():
            shutil.copy(part, folder / part.name)
    return folder / db.name


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook: no error where xdist is missing
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`make test` runs `-n 2 --dist loadfile` (TEST_WORKERS): each test module whole on one
    worker (its module fixtures built once), and here also every test of tests/engines on one
    worker, so one SparkSession (a JVM of 2 GB) starts, not two. Not xdist_group marks: xdist 3.8 writes them
    into the node ID, which pytest 9.2 no longer reads (pytest-xdist issue 1386)."""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModulesAndSpark(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return "tests/engines" if module.startswith("tests/engines/") else module

    return ModulesAndSpark(config, log)


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


@pytest.fixture(scope="session")
def sample_records() -> Callable[[str], pd.DataFrame]:
    """`sample_records(domain)`: the standardized source records of the committed sample (as
    ingest makes them), read once per domain; each call gets its own copy to change."""
    from resolver.ingest import prepare

    manifest = json.loads((SAMPLE / "manifest.json").read_text(encoding="utf-8"))
    cache: dict[str, pd.DataFrame] = {}

    def load(domain: str) -> pd.DataFrame:
        if domain not in cache:
            frames = [prepare(ROOT / "matching_rules" / "sources" / f"{f['source']}.yaml", SAMPLE / f["file"]).records
                      for f in manifest["files"] if f["domain"] == domain]
            cache[domain] = pd.concat(frames, ignore_index=True)
        return cache[domain].copy()

    return load


@pytest.fixture(scope="session")
def sample_model(sample_records: Callable[[str], pd.DataFrame], tmp_path_factory: pytest.TempPathFactory
                 ) -> Callable[[str], Any]:
    """`sample_model(domain)`: the model trained (DuckDB, the committed rules) on
    `sample_records(domain)`, saved in a folder of its own: trained once per domain and session
    for the tests that use it rather than test its training."""
    from resolver.linking.rules import load_rules
    from resolver.linking.train import train_model

    logging.getLogger("splink").setLevel(logging.ERROR)
    cache: dict[str, Any] = {}

    def model(domain: str) -> Any:
        if domain not in cache:
            cache[domain] = train_model(sample_records(domain), load_rules(domain),
                                        out_dir=tmp_path_factory.mktemp(f"sample_model_{domain}"))
        return cache[domain]

    return model


@pytest.fixture(scope="session")
def incremental_base(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Any]:
    """`incremental_base(shape)`: a resolved enterprise master of the shape ("sample", "noisy")
    with records held out of it, and those records (tests/incremental_shapes.py); built once per
    shape and session. Its store is READ-ONLY: copy it."""
    from tests.incremental_shapes import resolved_base

    cache: dict[str, Any] = {}

    def base(shape: str) -> Any:
        if shape not in cache:
            cache[shape] = resolved_base(shape, tmp_path_factory.mktemp(f"incremental_{shape}"))
        return cache[shape]

    return base
