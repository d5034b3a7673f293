"""The API contract department systems integrate against (issue 21), on a real `resolver serve`:
retired master IDs point to their successors (through chains of merges and splits), history
and member pages, offset/limit/total on every list, typed golden values, ETags, operationIds."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
from api_support import header
from pydantic import ValidationError

from api.golden_models import golden_model
from api.models import Entity, HistoryPage, MembersPage, SearchResult
from fixtures.live_server import Server
from resolver.access.access_store import open_access
from resolver.domains import load_schema

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def served(contract_server):
    return contract_server


def _get(srv: Server, path: str, key: str, **params: object) -> httpx.Response:
    return httpx.get(srv.url + path, headers=header(key), params=params, timeout=30)


def test_a_merged_id_answers_200_with_its_current_successors_through_the_chain(served):
    srv, keys, ids = served
    r = _get(srv, f"/v1/enterprise/{ids.merged}", keys.reader)
    assert r.status_code == 200, r.text
    body = Entity.model_validate(r.json())
    # A → B (merge); B split off N, which merged into E: A's records are now in B and E
    assert body.active is False and body.successors == sorted([ids.keeper, ids.last])
    assert body.event is not None and body.event.kind == "merged" and body.event.entity_ids == [ids.keeper]
    assert body.event.model_version == "v-merge" and re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+", body.event.at)
    links = re.findall(r'<([^>]+)>; rel="successor-version"', r.headers["link"])
    assert links == [f"/v1/enterprise/{s}" for s in body.successors]
    for successor in body.successors:  # each one answers as an active entity
        assert _get(srv, f"/v1/enterprise/{successor}", keys.reader).json()["active"] is True
    nested = _get(srv, f"/v1/enterprise/{ids.split_off}", keys.reader).json()
    assert nested["successors"] == [ids.last] and nested["event"]["model_version"] == "v-chain"
    # the audit row names every master ID the answer gave: the old one and its successors
    audited = open_access(srv.db).query("SELECT endpoint, returned_ids FROM audit_log ORDER BY audit_id")
    assert ("GET /v1/{domain}/{entity_id}", ",".join([ids.merged, *body.successors])) in audited


def test_a_split_id_that_kept_nothing_points_to_every_part(served):
    srv, keys, ids = served
    body = _get(srv, f"/v1/enterprise/{ids.split}", keys.reader).json()
    assert body["active"] is False and body["successors"] == ids.parts
    assert body["event"]["kind"] == "split" and body["event"]["entity_ids"] == ids.parts


def test_an_active_id_has_no_successors_and_no_link(served):
    srv, keys, ids = served
    r = _get(srv, f"/v1/enterprise/{ids.keeper}", keys.reader)
    assert r.json()["active"] is True and r.json()["successors"] == [] and r.json()["event"] is None
    assert "link" not in r.headers


def test_history_lists_merges_and_splits_with_model_version_and_time_paged(served):
    srv, keys, ids = served
    page = HistoryPage.model_validate(_get(srv, f"/v1/enterprise/{ids.keeper}/history", keys.reader).json())
    assert [(e.kind, e.model_version) for e in page.items][1:] == [("absorbed", "v-merge"), ("split", "v-split")]
    assert page.items[0].kind == "created" and page.items[1].entity_ids == [ids.merged]
    assert page.items[2].entity_ids == [ids.split_off] and page.total == 3 and not any(e.retired for e in page.items)
    assert [e.at for e in page.items] == sorted(e.at for e in page.items)
    second = _get(srv, f"/v1/enterprise/{ids.keeper}/history", keys.reader, offset=1, limit=1).json()
    assert (second["total"], second["offset"], second["limit"]) == (3, 1, 1)
    assert [e["event_id"] for e in second["items"]] == [page.items[1].event_id]
    split = _get(srv, f"/v1/enterprise/{ids.split}/history", keys.reader).json()["items"]
    assert [(e["kind"], e["retired"]) for e in split] == [("created", False), ("split", True)]  # one event, not two
    merged = _get(srv, f"/v1/enterprise/{ids.split_off}/history", keys.reader).json()["items"]
    assert [e["kind"] for e in merged] == ["created", "merged"] and merged[0]["entity_ids"] == [ids.keeper]


def test_history_errors_are_problems_like_the_entity_answer(served):
    srv, keys, ids = served
    assert _get(srv, "/v1/enterprise/E999999999/history", keys.reader).status_code == 404
    bad = _get(srv, "/v1/enterprise/330106199001021234/history", keys.reader)
    assert bad.status_code == 400 and "330106199001021234" not in bad.text  # never echoed: it may be an ID number
    assert _get(srv, f"/v1/enterprise/{ids.merged}/history", keys.police_only).status_code == 403
    assert httpx.get(srv.url + f"/v1/enterprise/{ids.merged}/history").status_code == 401
    assert _get(srv, f"/v1/enterprise/{ids.merged}/history", keys.reader, limit=0).status_code == 422


def test_etag_is_per_answer_as_seen_and_if_none_match_gives_304(served):
    srv, keys, ids = served
    path = f"/v1/enterprise/{ids.keeper}"
    masked, full = _get(srv, path, keys.reader), _get(srv, path, keys.pii)
    tag = masked.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', tag) and full.headers["etag"] != tag
    assert _get(srv, path, keys.reader).headers["etag"] == tag  # stable while the entity is unchanged
    for sent in (tag, f"W/{tag}", f'"other", {tag}'):
        again = httpx.get(srv.url + path, headers={**header(keys.reader), "If-None-Match": sent})
        assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == tag
    other = httpx.get(srv.url + path, headers={**header(keys.pii), "If-None-Match": tag})
    assert other.status_code == 200 and other.json()["masked"] is False
    retired = _get(srv, f"/v1/enterprise/{ids.merged}", keys.reader)
    assert httpx.get(srv.url + f"/v1/enterprise/{ids.merged}", headers={
        **header(keys.reader), "If-None-Match": retired.headers["etag"]}).status_code == 304


def test_golden_numbers_and_dates_are_typed_and_a_write_changes_the_etag(served):
    srv, keys, _ = served
    body = {"source": "tax", "records": [{"source_record_id": "typed-1", "fields": {
        "name": "杭州前所未有测绘有限公司", "registered_capital": "92.0", "employees": 12, "revenue": 1.5,
        "established": "2015-3-1"}}]}
    r = httpx.post(srv.url + "/v1/enterprise/records", json=body, headers=header(keys.writer), timeout=30)
    assert r.status_code == 200, r.text
    entity_id = r.json()["results"][0]["entity_id"]
    first = _get(srv, f"/v1/enterprise/{entity_id}", keys.reader)
    golden = first.json()["golden"]
    assert golden["registered_capital"] == 92 and isinstance(golden["registered_capital"], int)
    assert golden["employees"] == 12 and golden["revenue"] == 1.5 and golden["established"] == "2015-03-01"
    hits = _get(srv, "/v1/enterprise", keys.reader, name="杭州前所未有测绘有限公司").json()["results"]
    assert hits[0]["golden"]["registered_capital"] == 92  # search answers type them the same way
    # the domain's documented golden model holds the answer as it is (strict: "92.0" would fail)
    documented = _get(srv, "/openapi.json", keys.reader).json()["components"]["schemas"]["EnterpriseGolden"]
    assert documented["properties"]["established"]["anyOf"][0] == {"type": "string", "format": "date"}
    assert {"type": "number"} in documented["properties"]["registered_capital"]["anyOf"]
    golden_model(load_schema("enterprise")).model_validate_json(json.dumps(golden), strict=True)
    with pytest.raises(ValidationError):
        golden_model(load_schema("enterprise")).model_validate_json('{"registered_capital": "92.0"}', strict=True)
    body["records"][0]["fields"]["registered_capital"] = 93.5  # the department corrects its record
    assert httpx.post(srv.url + "/v1/enterprise/records", json=body, headers=header(keys.writer),
                      timeout=30).json()["results"][0]["entity_id"] == entity_id
    after = _get(srv, f"/v1/enterprise/{entity_id}", keys.reader)
    assert after.json()["golden"]["registered_capital"] == 93.5 and after.headers["etag"] != first.headers["etag"]


def test_every_list_answer_has_offset_limit_and_total(served, built):
    srv, keys, ids = served
    entity = _get(srv, f"/v1/enterprise/{ids.keeper}", keys.reader).json()
    pages = [_get(srv, f"/v1/enterprise/{ids.keeper}/members", keys.reader, offset=o, limit=2).json()
             for o in range(0, entity["size"], 2)]
    assert all(p["total"] == entity["size"] and p["limit"] == 2 and p["masked"] for p in pages)
    assert [m for p in pages for m in p["items"]] == entity["members"]  # the pages add up to the entity's members
    MembersPage.model_validate(pages[0])
    assert _get(srv, "/v1/enterprise/E999999999/members", keys.reader).status_code == 404

    uscc = built.enterprises.dropna(subset=["uscc"]).iloc[0]["uscc"]
    found = SearchResult.model_validate(_get(srv, "/v1/enterprise", keys.reader, id=uscc).json())
    assert (found.total, found.offset, found.limit, len(found.results)) == (1, 0, 20, 1)
    past = _get(srv, "/v1/enterprise", keys.reader, id=uscc, offset=1).json()
    assert past["total"] == 1 and past["results"] == [] and past["offset"] == 1
    people = built.people["name"].value_counts()
    name = people.index[0]
    whole = _get(srv, "/v1/person", keys.reader, name=name).json()
    parts = [_get(srv, "/v1/person", keys.reader, name=name, offset=o, limit=1).json() for o in range(whole["total"])]
    assert [p["results"][0]["entity_id"] for p in parts] == [h["entity_id"] for h in whole["results"]]

    listed = _get(srv, "/v1/unregistered", keys.inspector, limit=3, offset=0).json()
    assert {"total", "offset", "limit", "items"} <= set(listed) and listed["limit"] == 3


def test_operation_ids_are_explicit_readable_and_unique(served):
    srv, keys, _ = served
    spec = _get(srv, "/openapi.json", keys.reader).json()
    ids = [op["operationId"] for ops in spec["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids)) >= 10
    # FastAPI's generated ones look like `match_v1__domain__match_post`
    assert all(re.fullmatch(r"[a-z]+(?:[A-Z][a-z0-9]*)+", i) for i in ids), ids
    named = {(m, p): op["operationId"] for p, ops in spec["paths"].items() for m, op in ops.items()}
    assert named[("get", "/v1/{domain}/{entity_id}")] == "getEntity"
    assert named[("get", "/v1/{domain}")] == "searchEntities"
    assert named[("post", "/v1/{domain}/match")] == "matchRecords"
    assert named[("post", "/v1/{domain}/records")] == "postRecords"
    assert named[("get", "/v1/unregistered")] == "listUnregistered"
    assert named[("get", "/v1/{domain}/{entity_id}/history")] == "getEntityHistory"


def test_a_route_added_later_gets_a_readable_operation_id():
    from fastapi import FastAPI

    from api.operations import operation_id

    app = FastAPI(generate_unique_id_function=operation_id)

    @app.get("/v1/review/{domain}")
    async def review_queue() -> dict[str, str]:
        return {}

    @app.patch("/v1/unregistered/{entity_id}")
    async def unregistered_case() -> dict[str, str]:
        return {}

    @app.post("/v1/review/{domain}/decisions")
    async def record_decisions() -> dict[str, str]:
        return {}

    ops = [op["operationId"] for ops in app.openapi()["paths"].values() for op in ops.values()]
    assert ops == ["reviewQueue", "updateUnregisteredCase", "recordDecisions"]


def test_openapi_points_only_to_documents_in_the_repository(served):
    srv, keys, _ = served
    text = _get(srv, "/openapi.json", keys.reader).text
    named = set(re.findall(r"(?<![\w/])((?:docs/)?[\w.-]+\.md)\b", text))
    assert "docs/api.md" in named and "CHANGELOG.md" in named
    missing = [n for n in named if not (ROOT / n).is_file()]
    assert missing == []


def test_one_value_literals_are_documented_as_enums_for_client_generators():
    from typing import Literal

    from fastapi import FastAPI
    from pydantic import BaseModel

    from api.openapi_compat import consts_as_enums

    class Decision(BaseModel):
        match: bool | Literal["review"]

    app = FastAPI()

    @app.get("/decision", response_model=Decision)
    async def get_decision() -> dict[str, object]:
        return {"match": "review"}

    spec = app.openapi()
    consts_as_enums(spec)
    assert spec["components"]["schemas"]["Decision"]["properties"]["match"]["anyOf"] == [
        {"type": "boolean"}, {"type": "string", "enum": ["review"]}]
    assert '"const"' not in str(spec).replace("'", '"')


def test_every_documented_example_is_a_valid_answer_of_its_model():
    import inspect

    from pydantic import BaseModel

    from api import models

    shown = 0
    for _, model in inspect.getmembers(models, lambda m: inspect.isclass(m) and issubclass(m, BaseModel)
                                       and m is not BaseModel):
        for example in model.model_json_schema().get("examples", []):
            model.model_validate(example)
            shown += 1
    assert shown >= 6
