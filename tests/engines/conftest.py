"""One local SparkSession for the whole test session (JVM start-up costs ~10 s)."""

import json
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "fixtures" / "sample"


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    from resolver.engines.spark import spark_session

    # two shuffle partitions: a few thousand records do not need more, and each extra
    # partition is a task per stage
    session = spark_session(master="local[2]", driver_memory="2g", shuffle_partitions=2,
                            checkpoint_dir=tmp_path_factory.mktemp("spark"))
    yield session
    session.stop()


@pytest.fixture(scope="session")
def sample_records():
    """Standardized source records of the committed sample, per domain (as ingest makes them)."""
    from resolver.ingest import prepare

    manifest = json.loads((SAMPLE / "manifest.json").read_text(encoding="utf-8"))
    cache: dict[str, pd.DataFrame] = {}

    def load(domain: str) -> pd.DataFrame:
        if domain not in cache:
            frames = [prepare(ROOT / "matching_rules" / "sources" / f"{f['source']}.yaml",
                              SAMPLE / f["file"]).records
                      for f in manifest["files"] if f["domain"] == domain]
            cache[domain] = pd.concat(frames, ignore_index=True)
        return cache[domain]

    return load
