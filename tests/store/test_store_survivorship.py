"""A resolution saved under a model version builds golden records with the survivorship rules
recorded with that version, full or incremental, whoever calls (resolve, ingest --incremental,
POST /records); a version that recorded none uses the current file."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lookup"))
from lookup_data import build_store  # noqa: E402

from resolver.paths import rules_dir  # noqa: E402
from resolver.store import open_store  # noqa: E402
from resolver.store.golden import parse_survivorship, read_survivorship  # noqa: E402


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("survivorship"), n_enterprises=60, n_people=4)


def _reversed_doc() -> dict:
    doc = read_survivorship(rules_dir() / "enterprise" / "survivorship.yaml")
    doc["source_priority"] = list(reversed(doc["source_priority"]))
    for spec in doc["fields"].values():
        spec.pop("source_priority", None)
        spec["rule"] = "source_priority"
    return doc


def _golden(store) -> pd.DataFrame:
    return store.golden("enterprise").sort_values(["entity_id", "field"]).reset_index(drop=True)


def test_the_recorded_survivorship_decides_and_an_unrecorded_version_uses_the_file(built):
    store = open_store(built.path)
    try:
        version, text = store.model_json("enterprise")
        doc = json.loads(text)
        assert "survivorship" not in doc["resolver"]  # trained below the facade: nothing recorded
        doc["resolver"]["survivorship"] = _reversed_doc()
        doc["resolver"]["version"] = recorded = version + "-recorded"
        store.register_model("enterprise", recorded, json.dumps(doc, ensure_ascii=False))
        clusters = store.membership("enterprise").rename(columns={"entity_id": "cluster_id"})

        store.save_resolution("enterprise", clusters, None, version)       # nothing recorded: the file
        from_file = _golden(store)
        store.save_resolution("enterprise", clusters, None, recorded)      # the version's own rules
        from_version = _golden(store)
        store.save_resolution("enterprise", clusters, None, "explicit",
                              survivorship=parse_survivorship(_reversed_doc(), "test"))
        explicit = _golden(store)
        pd.testing.assert_frame_equal(from_version, explicit)
        assert not from_file.equals(from_version)

        # an incremental save under the recorded version rebuilds with the same rules
        store.save_resolution("enterprise", clusters, None, version)
        differs = from_file.merge(explicit, how="outer", indicator=True).query("_merge != 'both'")
        entity = sorted(differs["entity_id"])[0]  # one whose golden record the two rule sets disagree on
        members = clusters[clusters["cluster_id"] == entity]
        store.save_resolution("enterprise", members, None, recorded, incremental=True,
                              touched=list(members["unique_id"]))
        rebuilt = _golden(store)
        mine = rebuilt[rebuilt["entity_id"] == entity].reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, explicit[explicit["entity_id"] == entity].reset_index(drop=True))
    finally:
        store.close()
