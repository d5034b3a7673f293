"""Published models live inside the master store; stores that registered a file path import
the file on open (schema v3), or say clearly where they looked."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from resolver.errors import ModelMissingError, NotFoundError
from resolver.linking.model import LinkModel, publish_model, published_model, save_model
from resolver.store import open_store
from resolver.store.schema import SCHEMA_VERSION


def _model(version: str) -> LinkModel:
    meta = {"version": version, "domain": "enterprise", "training_fingerprint": "f" * 8, "levels": []}
    return LinkModel("enterprise", version, {"comparisons": [], "probability_two_random_records_match": 0.001}, meta)


def _as_v2(db: Path, path: str) -> None:
    """Turn the store back into schema v2: models registered by path only."""
    store = open_store(db)
    try:
        store.cursor().execute("ALTER TABLE model_versions DROP COLUMN model_json")
        store.cursor().execute("UPDATE model_versions SET path = ?", [path])
        store.cursor().execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    finally:
        store.close()


def test_published_model_is_read_from_the_store_not_the_file(tmp_path):
    db = tmp_path / "master.duckdb"
    model = _model("enterprise-1")
    save_model(model, tmp_path / "models")
    store = open_store(db)
    try:
        publish_model(store, model)
        publish_model(store, _model("enterprise-2"))
        model.path.unlink()  # type: ignore[union-attr]
        assert published_model(store, "enterprise").version == "enterprise-2"
        assert published_model(store, "enterprise", "enterprise-1").settings == model.settings
        assert store.model_versions("enterprise") == ["enterprise-1", "enterprise-2"]
        with pytest.raises(ValueError, match="not a path"):
            store.register_model("enterprise", "enterprise-3", str(tmp_path / "x.json"))
        with pytest.raises(NotFoundError, match="no person model version published"):
            published_model(store, "person")
    finally:
        store.close()


def test_old_store_imports_model_file_beside_it_on_open(tmp_path, monkeypatch):
    folder = tmp_path / "store"
    db = folder / "master.duckdb"
    folder.mkdir()
    store = open_store(db)
    try:
        publish_model(store, _model("enterprise-1"))
    finally:
        store.close()
    save_model(_model("enterprise-1"), folder / "models")
    _as_v2(db, "models/enterprise-1.json")  # relative to the folder training ran in
    monkeypatch.chdir(tmp_path)  # another working directory: found beside the store
    store = open_store(db)
    (folder / "models" / "enterprise-1.json").unlink()  # imported: the file is no longer needed
    try:
        assert published_model(store, "enterprise").version == "enterprise-1"
        assert store.cursor().execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (str(SCHEMA_VERSION),)
    finally:
        store.close()


def test_old_store_whose_model_file_is_gone_says_where_it_looked(tmp_path):
    db = tmp_path / "master.duckdb"
    store = open_store(db)
    try:
        publish_model(store, _model("enterprise-1"))
    finally:
        store.close()
    _as_v2(db, "models/enterprise-1.json")
    store = open_store(db)  # opening still works: ingest, resolve with a new model, exports
    try:
        with pytest.raises(ModelMissingError) as err:
            published_model(store, "enterprise")
    finally:
        store.close()
    msg = str(err.value)
    assert "enterprise-1" in msg and "registered by file path only" in msg
    assert str(tmp_path / "models" / "enterprise-1.json") in msg and "resolver train" in msg
    assert os.fspath(db) in msg
