"""A master store is self-contained: copied to another folder and served from a third working
directory, it answers match with its published model; a model that cannot be found stops the
server at start with the reason instead of a 404 per request."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import httpx
import pytest
from api_support import header, make_keys
from lookup_data import build_store

from fixtures.live_server import Server
from resolver.store import open_store

pytestmark = pytest.mark.slow  # make test-slow; see tests/conftest.py


def _env() -> dict[str, str]:
    # the server must find the package, not the files of the folder it was trained in
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([root, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


@pytest.fixture(scope="module")
def moved(tmp_path_factory):
    trained = tmp_path_factory.mktemp("trained_here")
    built = build_store(trained)
    shutil.rmtree(trained / "models")  # the model file is gone: only the store holds the model
    elsewhere = tmp_path_factory.mktemp("copied_there") / "copy.duckdb"
    shutil.copy(built.path, elsewhere)
    return built, elsewhere, tmp_path_factory.mktemp("started_from")


def test_copied_store_serves_match_from_another_working_directory(moved):
    built, db, cwd = moved
    keys = make_keys(db)
    srv = Server(db, _env(), cwd=cwd)
    try:
        health = httpx.get(srv.url + "/health").json()
        row = built.enterprises.dropna(subset=["uscc"]).iloc[3]
        r = httpx.post(srv.url + "/v1/enterprise/match", headers=header(keys.reader),
                       json={"name": row["name"], "uscc": row["uscc"]})
    finally:
        srv.stop()
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model_version"] == health["models"]["enterprise"]
    assert body["candidates"] and body["candidates"][0]["match_probability"] > 0.9


def test_model_registered_by_a_path_that_is_gone_stops_the_server_at_start(moved, tmp_path):
    _, db, cwd = moved
    old = tmp_path / "old.duckdb"
    shutil.copy(db, old)
    store = open_store(old)
    try:  # what a store from before schema v3 holds: a path, no JSON
        store.cursor().execute("UPDATE model_versions SET model_json = NULL, path = 'models/lost.json'")
    finally:
        store.close()
    with pytest.raises(RuntimeError) as err:
        Server(old, _env(), cwd=cwd)
    out = str(err.value)
    assert "server exited" in out and "registered by file path only" in out and "lost.json" in out
