"""Endpoints through TestClient: search by every identifier form, incremental records, the
inspector's list, OpenAPI with examples, and schemathesis fuzzing (no 5xx)."""

from __future__ import annotations

import pytest
from api_support import header, make_keys
from fastapi.testclient import TestClient

from api import create_app
from resolver.access.limits import RateLimits

UNLIMITED = RateLimits(0, 0)  # these tests call faster than any real limit; tests/api/test_api_access.py tests limits


@pytest.fixture(scope="module")
def client(module_store):
    keys = make_keys(module_store)
    with TestClient(create_app(module_store, limits=UNLIMITED)) as c:
        yield c, keys


def test_search_by_uscc_org_code_and_old_tax_number(client, built):
    c, keys = client
    row = built.enterprises.dropna(subset=["uscc"]).iloc[0]
    uscc = row["uscc"]
    by_uscc = c.get("/v1/enterprise", params={"id": uscc}, headers=header(keys.reader)).json()["results"]
    assert len(by_uscc) == 1 and by_uscc[0]["matched_on"] == "uscc"
    entity = by_uscc[0]["entity_id"]
    org = uscc[8:17]
    by_org = c.get("/v1/enterprise", params={"id": f"{org[:8]}-{org[8]}"}, headers=header(keys.reader)).json()
    assert by_org["results"][0]["entity_id"] == entity and by_org["query"]["identifier"]["kind"] == "org_code"
    old_tax = "330106" + org  # 15-digit region + org code tax number → the org code
    by_tax = c.get("/v1/enterprise", params={"id": old_tax}, headers=header(keys.reader)).json()
    assert by_tax["results"][0]["entity_id"] == entity and by_tax["results"][0]["matched_on"] == "org_code"
    lower = c.get("/v1/enterprise", params={"id": " " + uscc.lower() + " "}, headers=header(keys.reader)).json()
    assert lower["results"][0]["entity_id"] == entity


def test_search_person_by_15_digit_id_finds_18_digit_records(client, built):
    c, keys = client
    idn = built.people.loc[built.people["id_number"].str.len() == 18, "id_number"].iloc[0]
    short = idn[:6] + idn[8:17]
    a = c.get("/v1/person", params={"id": short}, headers=header(keys.reader)).json()["results"]
    b = c.get("/v1/person", params={"id": idn}, headers=header(keys.reader)).json()["results"]
    assert a and a[0]["entity_id"] == b[0]["entity_id"]


def test_search_by_name_exact_then_fuzzy(client, built):
    c, keys = client
    row = built.enterprises.iloc[10]
    exact = c.get("/v1/enterprise", params={"name": row["name"]}, headers=header(keys.reader)).json()["results"]
    assert exact[0]["matched_on"] in ("name", "name_core")
    members = set(built.enterprises.loc[built.enterprises["truth"] == row["truth"], "unique_id"])
    assert set(exact[0]["matched_records"]) <= members
    assert c.get("/v1/enterprise", headers=header(keys.reader)).status_code == 400


def test_records_join_existing_entity_or_create_one(client, built):
    c, keys = client
    row = built.enterprises.dropna(subset=["uscc"]).iloc[3]
    before = c.get("/v1/enterprise", params={"id": row["uscc"]}, headers=header(keys.reader)).json()
    entity = before["results"][0]["entity_id"]
    body = {"source": "tax", "records": [
        {"source_record_id": "api-1", "fields": {"name": row["name"], "uscc": row["uscc"],
                                                 "legal_rep": row["legal_rep"]}},
        {"source_record_id": "api-2", "fields": {"name": "杭州前所未有测绘有限公司", "legal_rep": "欧阳修"}},
    ]}
    assert c.post("/v1/enterprise/records", json=body, headers=header(keys.reader)).status_code == 403
    r = c.post("/v1/enterprise/records", json=body, headers=header(keys.writer))
    assert r.status_code == 200, r.text
    joined, created = r.json()["results"]
    assert joined["action"] == "joined" and joined["entity_id"] == entity and joined["match_probability"] >= 0.9
    assert created["action"] == "created" and created["entity_id"].startswith("E")
    detail = c.get(f"/v1/enterprise/{entity}", headers=header(keys.reader)).json()
    assert "tax:api-1" in {m["unique_id"] for m in detail["members"]}
    # the running server's blocking index knows the new record and its new entity at once
    found = c.post("/v1/enterprise/match", json={"name": "杭州前所未有测绘有限公司", "legal_rep": "欧阳修"},
                   headers=header(keys.reader)).json()["candidates"]
    assert found and found[0]["entity_id"] == created["entity_id"] and found[0]["best_record"] == "tax:api-2"
    again = c.post("/v1/enterprise/records", json=body, headers=header(keys.writer)).json()["results"]
    assert [o["action"] for o in again] == ["unchanged", "unchanged"]
    bad = {"source": "police", "records": body["records"]}  # a person source, and not the writer's
    assert c.post("/v1/enterprise/records", json=bad, headers=header(keys.writer)).status_code == 403


def test_answers_conform_to_their_documented_models(client, built):
    """Entity and match answers skip FastAPI's response validation (api.deps.json_response): check here."""
    from api.models import Entity, MatchResult

    c, keys = client
    seen = 0
    for row in built.enterprises.dropna(subset=["uscc"]).head(8).itertuples():
        found = c.get("/v1/enterprise", params={"id": row.uscc}, headers=header(keys.reader)).json()["results"]
        for key in (keys.reader, keys.pii):
            detail = c.get(f"/v1/enterprise/{found[0]['entity_id']}", headers=header(key))
            assert detail.status_code == 200 and detail.headers["content-type"] == "application/json"
            Entity.model_validate(detail.json())
            assert detail.json()["members"] and detail.json()["masked"] is (key == keys.reader)
            seen += 1
        r = c.post("/v1/enterprise/match", json={"name": row.name, "legal_rep": row.legal_rep},
                   headers=header(keys.reader))
        assert r.status_code == 200 and MatchResult.model_validate(r.json()).candidates
    assert seen == 16


def test_unregistered_needs_its_scope_and_pages(client):
    c, keys = client
    assert c.get("/v1/unregistered", headers=header(keys.reader)).status_code == 403
    r = c.get("/v1/unregistered", params={"limit": 5, "district": "西湖区"}, headers=header(keys.inspector))
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["limit"] == 5 and len(page["items"]) <= 5 and page["total"] >= len(page["items"])
    assert c.get("/v1/unregistered", params={"since": "yesterday"}, headers=header(keys.inspector)).status_code == 422


def test_openapi_has_examples_security_and_problem_responses(client):
    c, keys = client
    spec = c.get("/openapi.json", headers=header(keys.reader)).json()
    assert spec["components"]["securitySchemes"]["ApiKey"]["name"] == "X-API-Key"
    assert "examples" in spec["components"]["schemas"]["MatchResult"]
    assert "application/problem+json" in spec["paths"]["/v1/{domain}/{entity_id}"]["get"]["responses"]["404"]["content"]


import schemathesis  # noqa: E402  (dev extra; a missing install fails, never skips)


def test_schemathesis_finds_no_server_error(store_copy):
    from hypothesis import HealthCheck, given, settings

    keys = make_keys(store_copy)
    app = create_app(store_copy, limits=UNLIMITED, open_docs=True)
    with TestClient(app):  # runs the lifespan: store, indexes, models
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        failures = []
        calls = []
        for op_result in schema.get_all_operations():
            operation = op_result.ok()

            def make(operation):
                @settings(max_examples=15, deadline=None, database=None,
                          suppress_health_check=list(HealthCheck))
                @given(case=operation.as_strategy())
                def check(case):
                    for key in (keys.pii, None):
                        response = case.call(headers={"X-API-Key": key} if key else {})
                        calls.append(response.status_code)
                        # a domain without a published model answers matches 503 model-unavailable, by design
                        unmodelled = response.status_code == 503 and "model-unavailable" in response.text
                        if response.status_code >= 500 and not unmodelled:
                            failures.append((operation.label, response.status_code, response.text[:200]))
                return check
            make(operation)()
        assert failures == []
        assert len(calls) > 50 and any(code == 200 for code in calls)


def test_get_by_id_answers_the_same_through_its_documented_route(client, module_store):
    """GET by ID is served by a plain Starlette route; without it the documented APIRoute answers."""
    from api.routers.entities import BY_ID

    c, keys = client
    app = create_app(module_store, limits=UNLIMITED)
    app.router.routes.remove(BY_ID)
    cases = [("/v1/enterprise/E000000002", keys.reader), ("/v1/enterprise/E000000002", keys.pii),
             ("/v1/person/P000000001", keys.reader), ("/v1/enterprise/E999999999", keys.reader),
             ("/v1/enterprise/E12", keys.reader), ("/v1/company/E000000002", keys.reader),
             ("/v1/enterprise/E000000002", keys.police_only), ("/v1/enterprise/E000000002", "rk_bad")]
    with TestClient(app) as documented:
        for path, key in cases:
            same = {**header(key), "X-Request-ID": "same-id"}  # else only the generated IDs differ
            fast, slow = c.get(path, headers=same), documented.get(path, headers=same)
            assert (fast.status_code, fast.headers["content-type"]) == (slow.status_code, slow.headers["content-type"])
            assert fast.json() == slow.json(), path
    assert {fast.status_code for fast in [c.get(p, headers=header(k)) for p, k in cases]} >= {200, 400, 401, 403, 404, 422}
