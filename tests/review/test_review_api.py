"""GET /v1/review/{domain} and POST /v1/review/{domain}/decisions on a real `resolver serve`
(uvicorn, loopback) over the resolved sample: scopes, masking, paging, decisions stored with
the key that made them, and an audit row for every call."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from fixtures.live_server import Server
from resolver.access.access_store import open_access
from resolver.access.audit import read_audit
from resolver.access.keys import create_key

pytestmark = pytest.mark.slow  # make test-slow; see tests/conftest.py

URL = "/v1/review/enterprise"


@dataclass
class Live:
    url: str
    db: Path
    keys: dict[str, tuple[str, str]]  # name -> (key_id, key)

    def get(self, who: str | None, path: str = URL, **params: object) -> httpx.Response:
        headers = {"X-API-Key": self.keys[who][1]} if who else {}
        return httpx.get(self.url + path, params=params, headers=headers, timeout=60)

    def post(self, who: str, body: dict, path: str = URL + "/decisions") -> httpx.Response:
        return httpx.post(self.url + path, json=body, headers={"X-API-Key": self.keys[who][1]}, timeout=60)

    def audit(self, n: int) -> list[dict]:
        return read_audit(open_access(self.db), limit=n)


@pytest.fixture(scope="module")
def live(module_sample):
    access = open_access(module_sample)
    keys = {
        "steward": create_key(access, "数据管理处", "review:read,review:write,enterprise:read"),
        "steward_pii": create_key(access, "数据管理处", "review:read,enterprise:read,enterprise:pii"),
        "looker": create_key(access, "统计", "review:read,enterprise:read"),  # may read, not decide
        "reader": create_key(access, "人社", "enterprise:read,enterprise:pii"),  # no review scope
        "other_domain": create_key(access, "公安", "review:read,review:write,person:read"),
    }
    with Server(module_sample) as server:
        yield Live(server.url, module_sample, keys)


def test_the_queue_pages_by_priority(live):
    whole = live.get("steward", limit=500)
    assert whole.status_code == 200, whole.text
    page = whole.json()
    assert page["total"] == sum(page["counts"].values()) == len(page["items"]) > 10
    assert page["thresholds"] == {"predict": 0.5, "match": 0.9} and page["masked"] is True
    priorities = [i["priority"] for i in page["items"]]
    assert priorities == sorted(priorities, reverse=True)
    second = live.get("steward", offset=3, limit=3).json()
    assert [i["left"]["unique_id"] for i in second["items"]] == [i["left"]["unique_id"] for i in page["items"][3:6]]
    splits = live.get("steward", kind="split").json()
    assert splits["total"] == page["counts"]["split"] and {i["kind"] for i in splits["items"]} == {"split"}
    both = live.get("steward", kind=["split", "pair"], limit=500).json()
    assert both["total"] == page["counts"]["split"] + page["counts"]["pair"]
    bad = live.get("steward", kind="cluster")
    assert bad.status_code == 400 and bad.headers["content-type"] == "application/problem+json"


def test_records_are_masked_by_the_callers_scope(live):
    masked = live.get("steward", limit=500).json()["items"]
    full = live.get("steward_pii", limit=500).json()["items"]
    pairs = [(m, f) for m, f in zip(masked, full, strict=True) if f["left"]["record"]["fields"].get("legal_rep_id")]
    assert pairs
    for m, f in pairs:
        plain = f["left"]["record"]["fields"]["legal_rep_id"]
        assert "*" not in plain and m["left"]["record"]["fields"]["legal_rep_id"] == plain[:6] + "*" * (len(plain) - 6)
        assert plain not in repr(m)
    assert not any(c["comparison"] == "phone" for i in masked for c in i["comparisons"])
    assert any(c["comparison"] == "phone" for i in full for c in i["comparisons"])


@pytest.mark.parametrize(("who", "method", "status"), [
    (None, "get", 401), ("reader", "get", 403), ("reader", "post", 403), ("looker", "post", 403),
    ("other_domain", "get", 403), ("other_domain", "post", 403)])
def test_a_key_without_the_scopes_gets_nothing(live, who, method, status):
    item = live.get("steward", limit=1).json()["items"][0]
    body = {"left": item["left"]["unique_id"], "right": item["right"]["unique_id"], "decision": "same"}
    r = live.get(who) if method == "get" else live.post(who, body)
    assert r.status_code == status and r.headers["content-type"] == "application/problem+json"
    assert "items" not in r.text and item["left"]["unique_id"] not in r.text
    row = live.audit(1)[0]
    assert row["status"] == status
    assert row["endpoint"] == ("GET /v1/review/{domain}" if method == "get" else "POST /v1/review/{domain}/decisions")


def test_a_decision_is_stored_with_its_key_and_audited(live):
    before = live.get("steward", kind="pair", limit=500).json()
    item = before["items"][0]
    body = {"left": item["right"]["unique_id"], "right": item["left"]["unique_id"], "decision": "different",
            "note": "两个门店,不是一家", "kind": "pair"}
    r = live.post("steward", body)
    assert r.status_code == 201, r.text
    stored = r.json()
    key_id = live.keys["steward"][0]
    assert (stored["key_id"], stored["department"], stored["decision"], stored["note"]) == \
        (key_id, "数据管理处", "different", "两个门店,不是一家")
    assert (stored["unique_id_l"], stored["unique_id_r"]) == (item["left"]["unique_id"], item["right"]["unique_id"])
    row = live.audit(1)[0]
    assert (row["endpoint"], row["status"], row["key_id"], row["department"]) == \
        ("POST /v1/review/{domain}/decisions", 201, key_id, "数据管理处")
    assert f"decision:{stored['decision_id']}" in row["returned_ids"]
    after = live.get("steward", kind="pair", limit=500).json()
    assert after["total"] == before["total"] - 1
    row = live.audit(1)[0]
    assert (row["endpoint"], row["status"]) == ("GET /v1/review/{domain}", 200)
    assert after["items"][0]["left"]["entity_id"] in row["returned_ids"]


@pytest.mark.parametrize(("body", "status"), [
    ({"left": "tax:NOPE", "right": "commerce:NOPE", "decision": "same"}, 404),
    ({"left": "a:1", "right": "b:2", "decision": "maybe"}, 422),
    ({"left": "a:1", "decision": "same"}, 422),
])
def test_bad_decisions_are_problems(live, body, status):
    r = live.post("steward", body)
    assert r.status_code == status and r.headers["content-type"] == "application/problem+json"
    assert live.audit(1)[0]["status"] == status


def test_review_routes_leave_the_entity_route_alone(live):
    item = live.get("steward", limit=1).json()["items"][0]
    entity = item["left"]["entity_id"]
    r = live.get("steward", f"/v1/enterprise/{entity}")
    assert r.status_code == 200 and r.json()["entity_id"] == entity
    assert live.get("steward", "/v1/review/nowhere").status_code == 422
    spec = live.get("steward", "/openapi.json").json()
    assert {"/v1/review/{domain}", "/v1/review/{domain}/decisions"} <= set(spec["paths"])
