"""Smoke suite on a real uvicorn server on loopback, started through `resolver serve`."""

from __future__ import annotations

import os

import httpx
import pytest
from api_support import header, make_keys

from fixtures.live_server import Server
from resolver.access.access_store import open_access


@pytest.fixture(scope="module")
def server(built, tmp_path_factory):
    import shutil

    db = tmp_path_factory.mktemp("smoke") / "master.duckdb"
    shutil.copy(built.path, db)
    keys = make_keys(db)
    srv = Server(db, dict(os.environ))
    yield srv, keys, built
    srv.stop()


def test_health_needs_no_key_and_names_the_model(server):
    srv, _, _ = server
    body = httpx.get(srv.url + "/health").json()
    assert body["status"] == "ok" and body["models"]["enterprise"].startswith("enterprise-")


def test_no_key_is_401_and_wrong_scope_is_403(server):
    srv, keys, _ = server
    r = httpx.get(srv.url + "/v1/enterprise/E000000001")
    assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
    assert httpx.get(srv.url + "/v1/enterprise/E000000001", headers=header(keys.revoked)).status_code == 401
    r = httpx.get(srv.url + "/v1/enterprise/E000000001", headers=header(keys.police_only))
    assert r.status_code == 403 and "enterprise:read" in r.json()["detail"]


def test_match_finds_the_entity_with_probability_weights_and_model_version(server):
    srv, keys, built = server
    row = built.enterprises.dropna(subset=["uscc"]).iloc[5]
    r = httpx.post(srv.url + "/v1/enterprise/match", headers=header(keys.reader),
                   json={"name": row["name"], "uscc": row["uscc"], "legal_rep": row["legal_rep"]})
    assert r.status_code == 200, r.text
    body = r.json()
    top = body["candidates"][0]
    members = set(built.enterprises.loc[built.enterprises["truth"] == row["truth"], "unique_id"])
    assert top["best_record"] in members
    assert top["match_probability"] > 0.99
    assert {c["comparison"] for c in top["comparisons"]} >= {"uscc", "name", "legal_rep"}
    assert top["model_version"] == body["model_version"] == httpx.get(srv.url + "/health").json()["models"]["enterprise"]


def test_personal_fields_masked_unless_pii_scope(server):
    srv, keys, built = server
    person = built.people.iloc[0]
    found = httpx.get(srv.url + "/v1/person", params={"id": person["id_number"]}, headers=header(keys.reader)).json()
    entity_id = found["results"][0]["entity_id"]
    masked = httpx.get(f"{srv.url}/v1/person/{entity_id}", headers=header(keys.reader)).json()
    clear = httpx.get(f"{srv.url}/v1/person/{entity_id}", headers=header(keys.pii)).json()
    full = clear["golden"]["id_number"]
    assert len(full) == 18 and "*" not in full
    assert masked["golden"]["id_number"] == full[:6] + "*" * 12
    assert "*" in masked["golden"]["phone"] and "*" not in clear["golden"]["phone"]
    raw_values = [v for m in masked["members"] for v in (m["raw"] or {}).values()]
    assert full not in raw_values and masked["masked"] and not clear["masked"]


def test_every_lookup_leaves_an_audit_row(server):
    srv, keys, built = server  # makes every call it checks: it must pass when run alone
    httpx.get(srv.url + "/v1/enterprise/E000000002", headers=header(keys.reader))
    httpx.get(srv.url + "/v1/enterprise/E000000002")
    httpx.get(srv.url + "/v1/enterprise/E000000002", headers=header(keys.police_only))
    row = built.enterprises.iloc[3]
    httpx.post(srv.url + "/v1/enterprise/match", headers=header(keys.reader), json={"name": row["name"]})
    # read while the server runs: the log is in the access store, beside the master store
    rows = open_access(srv.db).query(
        "SELECT key_id, department, endpoint, returned_ids, status, length(query_fingerprint) "
        "FROM audit_log ORDER BY audit_id")
    assert ("人社", "GET /v1/{domain}/{entity_id}", "E000000002", 200, 64) in [r[1:] for r in rows]
    assert any(r[0] is None and r[4] == 401 for r in rows)
    assert any(r[4] == 403 for r in rows)
    assert any(r[2] == "POST /v1/{domain}/match" and r[4] == 200 and r[3] for r in rows)
    assert all(r[0] is None or len(r[0]) == 16 for r in rows)
