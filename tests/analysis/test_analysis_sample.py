"""sample_store: the fixture records of a domain, ingested once, then copied."""

from __future__ import annotations

import json
import shutil

from resolver.analysis.sample import ingest_key, sample_store
from resolver.demo import SAMPLE


def test_store_is_ingested_once_and_copied_fresh(tmp_path):
    cache = tmp_path / "cache"
    store = sample_store(tmp_path / "a.duckdb", SAMPLE, ["person"], cache)
    records = store.load_records("person")
    manifest = json.loads((SAMPLE / "manifest.json").read_text(encoding="utf-8"))
    assert len(records) == sum(v for k, v in manifest["counts"].items()
                               if k in {"police", "social_security", "civil_affairs", "housing_fund"})
    assert not store.has_table("records_enterprise")
    store.cursor().execute("DELETE FROM records_person")      # a notebook may change its copy
    store.close()
    pristine = list(cache.glob("*.duckdb"))
    assert len(pristine) == 1
    stamp = pristine[0].stat().st_mtime_ns
    again = sample_store(tmp_path / "a.duckdb", SAMPLE, ["person"], cache)
    assert len(again.load_records("person")) == len(records)   # a fresh copy, not the edited one
    again.close()
    assert pristine[0].stat().st_mtime_ns == stamp              # copied, not ingested again


def test_key_follows_the_fixtures(tmp_path):
    copy = tmp_path / "fixtures"
    shutil.copytree(SAMPLE, copy)
    assert ingest_key(copy, ["person"]) == ingest_key(SAMPLE, ["person"])
    assert ingest_key(copy, ["person"]) != ingest_key(copy, ["enterprise"])
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    manifest["seed"] += 1
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert ingest_key(copy, ["person"]) != ingest_key(SAMPLE, ["person"])
