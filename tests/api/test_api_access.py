"""Issue 14 through the app: invalid input gets 4xx problem+json and an audit row, rate limits,
department-bound writes, audit rows that leak nothing, docs without a CDN, no-store answers."""

from __future__ import annotations

import re

import pytest
from api_support import header, make_keys
from fastapi.testclient import TestClient

from api import create_app
from resolver.access.access_store import open_access
from resolver.access.audit import read_audit
from resolver.access.keys import create_key
from resolver.access.limits import RateLimits

JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def client(module_store):
    keys = make_keys(module_store)
    with TestClient(create_app(module_store, limits=RateLimits(rate_limit=1000, match_rate_limit=1000))) as c:
        yield c, keys


def last_row(c: TestClient) -> dict:
    return read_audit(c.app.state.audit_writer.access, limit=1)[0]


@pytest.mark.parametrize("body", [
    b'{"name": "\\ud800"}',                      # was 500
    b'{"name": "x", "address": "\\udfff"}',      # was 503
    b'{"\\ud800": "x"}',                         # the connection dropped
    b'{"name": "\\ud83d"}',
])
def test_lone_surrogates_are_422_problems_with_an_audit_row(client, body):
    c, keys = client
    r = c.post("/v1/enterprise/match", content=body, headers={**header(keys.reader), **JSON})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", r.text
    assert "surrogate" in r.json()["detail"] and r.headers["cache-control"] == "no-store"
    row = last_row(c)
    assert (row["status"], row["endpoint"], row["department"]) == (422, "POST /v1/{domain}/match", "人社")


def test_a_bad_body_from_an_unknown_key_is_401_not_422(client):
    c, _ = client
    r = c.post("/v1/enterprise/match", content=b'{"name": "\\ud800"}', headers={"X-API-Key": "rk_x", **JSON})
    assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
    assert last_row(c)["status"] == 401


@pytest.mark.parametrize("value", ["true", "false", "[1]", '{"a": 1}'])
def test_field_values_of_the_wrong_json_type_are_refused(client, value):
    c, keys = client
    r = c.post("/v1/enterprise/match", content=f'{{"name": {value}}}'.encode(),
               headers={**header(keys.reader), **JSON})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert "name" in r.json()["detail"]
    assert last_row(c)["status"] == 422 and last_row(c)["key_id"] is not None


def test_key_with_a_trailing_no_break_space_is_401_with_an_audit_row(client):
    c, keys = client
    for raw in ((keys.reader + "\u00a0").encode("utf-8"), (keys.reader + "\u00a0").encode("latin-1")):
        r = c.get("/v1/enterprise/E000000001", headers=[(b"x-api-key", raw)])
        assert r.status_code == 401 and r.json()["detail"] == "malformed API key"
        assert last_row(c)["status"] == 401 and last_row(c)["key_id"] is None


def test_match_is_rate_limited_per_key_with_retry_after(client):
    c, keys = client
    guesser = create_key(open_access(c.app.state.audit_writer.access.db), "人社", "enterprise:read",
                         match_rate_limit=5)[1]  # the key's own limit, below the server's
    statuses = [c.post("/v1/enterprise/match", json={"name": "杭州华新科技有限公司", "phone": f"1380000{i:04d}"},
                       headers=header(guesser)).status_code for i in range(12)]
    assert statuses[:5] == [200] * 5 and 429 in statuses[5:]
    r = c.post("/v1/enterprise/match", json={"name": "x"}, headers=header(guesser))
    assert r.status_code == 429 and r.headers["content-type"] == "application/problem+json"
    assert int(r.headers["retry-after"]) >= 1 and "match calls a second" in r.json()["detail"]
    assert last_row(c)["status"] == 429
    other = c.post("/v1/enterprise/match", json={"name": "x"}, headers=header(keys.reader))
    assert other.status_code == 200  # per key: another department is not held up
    assert c.get("/v1/enterprise/E000000001", headers=header(guesser)).status_code == 200  # GETs have their own limit


def test_a_key_writes_only_its_departments_sources(client, built):
    c, keys = client
    taxed = built.enterprises[built.enterprises["unique_id"].str.startswith("tax:")]
    row = taxed.dropna(subset=["uscc"]).iloc[0]  # the tax bureau's record
    record_id = row["unique_id"].split(":", 1)[1]
    quality = create_key(open_access(c.app.state.audit_writer.access.db), "quality", "enterprise:read,records:write")[1]
    body = {"source": "tax", "records": [{"source_record_id": record_id, "fields": {"name": "质监局改写的名称"}}]}
    before = c.get(f"/v1/enterprise?id={row['uscc']}", headers=header(keys.pii)).json()
    r = c.post("/v1/enterprise/records", json=body, headers=header(quality))
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    assert "may not write source 'tax'" in r.json()["detail"] and last_row(c)["status"] == 403
    assert c.get(f"/v1/enterprise?id={row['uscc']}", headers=header(keys.pii)).json() == before
    own = {"source": "quality", "records": [{"source_record_id": "q-new-1", "fields": {"name": "杭州质检新设有限公司"}}]}
    assert c.post("/v1/enterprise/records", json=own, headers=header(quality)).status_code == 200


def test_audit_rows_hold_route_templates_client_and_keyed_fingerprints(client, built):
    c, keys = client
    idn = built.people["id_number"].iloc[0]
    for path in (f"/v1/person/{idn}", f"/v1/person/{idn}%0D%0AX-Injected:%201", f"/v1/person/by-id/{idn}",
                 f"/v1/person?id={idn}"):
        c.get(path, headers=header(keys.reader))
        row = last_row(c)
        assert idn not in str(row) and idn[6:14] not in str(row) and "\r" not in row["endpoint"], row
        assert re.fullmatch(r"GET (/v1/\{domain\}(/\{entity_id\})?|\(no route\))", row["endpoint"]), row
        assert row["client"] == "testclient" and len(row["query_fingerprint"]) == 64


def test_an_audit_row_names_the_request_id_of_its_answer(client):
    c, keys = client
    given = c.get("/v1/enterprise/E999999999", headers={**header(keys.reader), "X-Request-ID": "trace-7f3a"})
    assert given.headers["x-request-id"] == "trace-7f3a" and last_row(c)["request_id"] == "trace-7f3a"
    made = c.post("/v1/enterprise/match", json={"name": "杭州华新科技有限公司"}, headers=header(keys.reader))
    assert made.status_code == 200 and last_row(c)["request_id"] == made.headers["x-request-id"]
    assert len({given.headers["x-request-id"], made.headers["x-request-id"]}) == 2


def test_answers_are_not_stored_by_caches(client):
    c, keys = client
    for r in (c.get("/v1/person/P000000001", headers=header(keys.pii)),
              c.get("/v1/enterprise/E999999999", headers=header(keys.reader)),
              c.post("/v1/person/match", json={"name": "王伟"}, headers=header(keys.pii))):
        assert r.headers["cache-control"] == "no-store"


def test_docs_are_off_and_the_schema_needs_a_key_unless_served_with_docs(client, module_store):
    c, keys = client
    assert c.get("/docs").status_code == 404 and c.get("/redoc").status_code == 404
    r = c.get("/openapi.json")
    assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
    assert c.get("/openapi.json", headers=header(keys.inspector)).json()["info"]["title"] == "resolver"
    with TestClient(create_app(module_store, open_docs=True)) as open_:
        assert open_.get("/openapi.json").status_code == 200
        for page, asset in (("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")):
            html = open_.get(page).text
            assert f"/docs-assets/{asset}" in html
            assert not re.search(r"""(src|href)=["']https?://""", html), page  # nothing from a CDN
            script = open_.get(f"/docs-assets/{asset}")
            assert script.status_code == 200 and len(script.content) > 500_000
        assert open_.get("/docs-assets/swagger-ui.css").status_code == 200
