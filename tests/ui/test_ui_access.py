"""Who may see what in the workbench, over HTTP against a real server: sign-in and its cookie,
sessions that end (sign-out, revoked key), session fixation, CSRF on every form, scopes,
masking as in the API, audit rows, and the pages kept out of /openapi.json."""

from __future__ import annotations

import re
import time

import httpx
from ui_support import csrf_of, sign_in

from resolver.access.access_store import open_access
from resolver.access.keys import create_key, revoke_key

COOKIE = "resolver_ui"



def _signed_in(served, key: str) -> httpx.Client:
    client = served.client()
    answer = sign_in(client, key)
    assert answer.status_code == 303 and answer.headers["location"] == "/ui/", answer.text[:300]
    return client


def _api(served, key: str, path: str, **params) -> dict:
    answer = httpx.get(served.url + path, params=params, headers={"X-API-Key": key}, timeout=60)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_pages_need_a_session_and_say_where_to_sign_in(served):
    with served.client() as client:
        for path in ("/ui/", "/ui/search?q=x", "/ui/worklist", "/ui/entity/enterprise/E000000001",
                     "/ui/review/enterprise", "/ui/worklist.xlsx"):
            answer = client.get(path)
            assert answer.status_code == 303 and answer.headers["location"].startswith("/ui/login?next="), path
        # a forged cookie is no session
        client.cookies.set(COOKIE, "made-up-session-id", domain="127.0.0.1", path="/ui")
        assert client.get("/ui/").status_code == 303


def test_sign_in_sets_a_strict_httponly_cookie_secure_over_https(served):
    with served.client() as client:
        answer = sign_in(client, served.keys.reader)
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert "Path=/ui" in cookie and "Secure" not in cookie
        page = client.get("/ui/")
        assert page.status_code == 200 and "人社" in page.text
        assert page.headers["cache-control"] == "no-store" and page.headers["x-frame-options"] == "DENY"
        assert "script-src 'self'" in page.headers["content-security-policy"]
    # behind a TLS proxy on the same host (uvicorn trusts 127.0.0.1): both cookies are Secure, which
    # httpx keeps off plain http, so they are sent by hand here
    https = {"X-Forwarded-Proto": "https"}
    page = httpx.get(served.url + "/ui/login", headers=https)
    assert "Secure" in page.headers["set-cookie"]
    token = re.search(r'name="login_token" value="([^"]+)"', page.text).group(1)
    answer = httpx.post(served.url + "/ui/login", data={"api_key": served.keys.reader, "login_token": token},
                        headers={**https, "Cookie": f"resolver_ui_login={token}"})
    assert answer.status_code == 303
    assert answer.headers["set-cookie"].startswith(f"{COOKIE}=") and "Secure" in answer.headers["set-cookie"]


def test_a_wrong_key_gets_no_session_and_the_login_form_needs_its_token(served):
    with served.client() as client:
        answer = sign_in(client, served.keys.reader + "x")
        assert answer.status_code == 401 and f"{COOKIE}=" not in answer.headers.get("set-cookie", "")
        assert "API 密钥无效" in answer.text
        # a sign-in posted from elsewhere (no login token cookie): login CSRF
    with served.client() as fresh:
        forged = fresh.post("/ui/login", data={"api_key": served.keys.reader, "login_token": "x", "next": "/ui/"})
        assert forged.status_code == 403 and f"{COOKIE}=" not in forged.headers.get("set-cookie", "")


def test_session_fixation_a_planted_session_is_never_adopted(served):
    attacker = _signed_in(served, served.keys.reader)
    planted = attacker.cookies.get(COOKIE)
    with served.client() as victim:
        victim.cookies.set(COOKIE, planted, domain="127.0.0.1", path="/ui")
        sign_in(victim, served.keys.inspector)
        own = victim.cookies.get(COOKIE)
        assert own and own != planted
        assert "税务稽查" in victim.get("/ui/").text
    # the planted session ended with the sign-in that replaced it: the attacker holds nothing
    assert attacker.get("/ui/").status_code == 303
    attacker.close()


def test_sign_out_ends_the_session_and_needs_the_csrf_token(served):
    client = _signed_in(served, served.keys.reader)
    sid = client.cookies.get(COOKIE)
    home = client.get("/ui/")
    assert client.post("/ui/logout", data={}).status_code == 403
    assert client.post("/ui/logout", data={"csrf": "wrong"}).status_code == 403
    assert client.get("/ui/").status_code == 200  # still signed in
    assert client.post("/ui/logout", data={"csrf": csrf_of(home.text)}).status_code == 303
    with served.client() as replay:  # the old cookie, replayed
        replay.cookies.set(COOKIE, sid, domain="127.0.0.1", path="/ui")
        assert replay.get("/ui/").status_code == 303
    client.close()


def test_revoking_the_key_ends_its_session_on_the_next_request(served):
    key_id, key = create_key(open_access(served.db), "统计", "enterprise:read")
    client = _signed_in(served, key)
    assert client.get("/ui/search").status_code == 200
    revoke_key(open_access(served.db), key_id)
    answer = client.get("/ui/search")
    assert answer.status_code == 303 and answer.headers["location"].startswith("/ui/login")
    client.close()


def test_a_key_without_the_scope_sees_neither_page_nor_data(served):
    listed = _api(served, served.keys.inspector, "/v1/unregistered", limit=5)["items"]
    assert listed
    client = _signed_in(served, served.keys.reader)  # enterprise:read, no unregistered:read
    for path in ("/ui/worklist", "/ui/worklist.xlsx", "/ui/review/enterprise"):
        answer = client.get(path)
        assert answer.status_code == 403, path
        assert not any(i["entity_id"] in answer.text or str(i["name"]) in answer.text for i in listed), path
    home = client.get("/ui/")
    assert "/ui/worklist" not in home.text and "/ui/review/" not in home.text
    client.close()
    person = _signed_in(served, served.keys.person_only)
    entity = listed[0]["entity_id"]
    answer = person.get(f"/ui/entity/enterprise/{entity}")
    assert answer.status_code == 403 and entity not in answer.text.split("</header>")[1]
    assert person.get("/ui/search", params={"domain": "enterprise", "q": "有限公司"}).status_code == 403
    assert person.get(f"/ui/charts/cluster/enterprise/{entity}").status_code == 403
    person.close()


def test_recording_needs_the_write_scope_and_the_csrf_token(served):
    entity = _api(served, served.keys.inspector, "/v1/unregistered", limit=1)["items"][0]["entity_id"]
    reader = _signed_in(served, served.keys.list_reader)  # may read the list, not record on it
    page = reader.get("/ui/worklist")
    assert page.status_code == 200 and entity in page.text and f'action="/ui/worklist/{entity}"' not in page.text
    denied = reader.post(f"/ui/worklist/{entity}", data={"csrf": csrf_of(page.text), "status": "核查中"})
    assert denied.status_code == 403
    reader.close()
    inspector = _signed_in(served, served.keys.inspector)
    token = csrf_of(inspector.get("/ui/worklist").text)
    for form in ({"status": "核查中"}, {"status": "核查中", "csrf": ""}, {"status": "核查中", "csrf": token + "x"}):
        assert inspector.post(f"/ui/worklist/{entity}", data=form).status_code == 403
    case = httpx.get(f"{served.url}/v1/unregistered/{entity}", headers={"X-API-Key": served.keys.inspector})
    assert case.json()["case"] is None  # nothing was recorded
    # another session's token is not this one's
    other = _signed_in(served, served.keys.inspector)
    foreign = csrf_of(other.get("/ui/worklist").text)
    assert inspector.post(f"/ui/worklist/{entity}", data={"status": "核查中", "csrf": foreign}).status_code == 403
    done = inspector.post(f"/ui/worklist/{entity}", data={"status": "核查中", "assignee": "张三", "csrf": token})
    assert done.status_code == 303
    case = httpx.get(f"{served.url}/v1/unregistered/{entity}", headers={"X-API-Key": served.keys.inspector}).json()
    assert case["case"]["status"] == "核查中" and case["case"]["assignee"] == "张三"
    assert case["case"]["key_id"] == served.access_key_ids["inspector"]
    history = inspector.get(f"/ui/worklist/{entity}").text  # who recorded what, and when
    assert "张三" in history and served.access_key_ids["inspector"] in history and "税务稽查" in history
    inspector.close()
    other.close()


def test_review_decisions_need_the_csrf_token(served):
    steward = _signed_in(served, served.keys.steward)
    page = steward.get("/ui/review/enterprise")
    assert page.status_code == 200
    form = {"left": "tax:x", "right": "tax:y", "decision": "different"}
    assert steward.post("/ui/review/enterprise/decisions", data=form).status_code == 403
    assert steward.post("/ui/review/enterprise/decisions", data={**form, "csrf": "nope"}).status_code == 403
    steward.close()


def test_the_entity_page_masks_exactly_as_the_api(served):
    answers = (_api(served, served.keys.pii, f"/v1/enterprise/E{n:09d}") for n in range(1, 200))
    clear = next(e for e in answers if e["golden"].get("legal_rep_id") and e["golden"].get("phone"))
    entity = clear["entity_id"]
    masked = _api(served, served.keys.reader, f"/v1/enterprise/{entity}")
    reader = _signed_in(served, served.keys.reader)
    page = reader.get(f"/ui/entity/enterprise/{entity}").text
    for field in ("legal_rep_id", "phone"):
        assert masked["golden"][field] != clear["golden"][field]
        assert masked["golden"][field] in page and clear["golden"][field] not in page, field
    personal = {m["fields"][f] for m in clear["members"] for f in ("legal_rep_id", "phone") if m["fields"].get(f)}
    assert personal and not any(v in page for v in personal)
    pii = _signed_in(served, served.keys.pii)
    assert clear["golden"]["legal_rep_id"] in pii.get(f"/ui/entity/enterprise/{entity}").text
    reader.close()
    pii.close()


def test_page_views_and_decisions_are_audited_with_route_and_key(served):
    client = _signed_in(served, served.keys.inspector)
    entity = _api(served, served.keys.inspector, "/v1/unregistered", limit=1)["items"][0]["entity_id"]
    assert client.get(f"/ui/entity/enterprise/{entity}").status_code == 200
    assert client.get("/ui/worklist", params={"district": "江干"}).status_code == 200
    assert client.get("/ui/worklist").status_code == 200
    token = csrf_of(client.get("/ui/worklist").text)
    assert client.post(f"/ui/worklist/{entity}", data={"note": "已电话联系", "csrf": token}).status_code == 303
    client.close()
    deadline = time.monotonic() + 5
    rows: list = []
    while time.monotonic() < deadline:
        rows = open_access(served.db).query(
            "SELECT endpoint, key_id, returned_ids, status FROM audit_log WHERE endpoint LIKE '% /ui/%'")
        if any(r[0] == "POST /ui/worklist/{entity_id}" for r in rows):
            break
        time.sleep(0.1)
    key_id = served.access_key_ids["inspector"]
    by = {(r[0], r[1]) for r in rows}
    assert ("GET /ui/entity/{domain}/{entity_id}", key_id) in by
    assert ("GET /ui/worklist", key_id) in by
    assert ("POST /ui/worklist/{entity_id}", key_id) in by
    assert ("POST /ui/login", key_id) in by
    assert any(r[0] == "GET /ui/entity/{domain}/{entity_id}" and entity in r[2] for r in rows)
    assert not any("江干" in r[0] for r in rows)  # the route, never the raw query


def test_pages_stay_out_of_openapi(served):
    schema = httpx.get(served.url + "/openapi.json", headers={"X-API-Key": served.keys.reader}).json()
    assert not [p for p in schema["paths"] if p.startswith("/ui")]


def test_pages_keep_the_keys_rate_limit(served):
    """A page is no faster way to try guessed IDs than GET /v1/{domain}?id= (docs/security.md)."""
    key = create_key(open_access(served.db), "统计", "enterprise:read", rate_limit=2)[1]
    client = _signed_in(served, key)
    answers = [client.get("/ui/search", params={"domain": "enterprise", "q": f"91330106MA2B{n:06d}"})
               for n in range(8)]
    limited = [a for a in answers if a.status_code == 429]
    assert limited and all(a.status_code in (200, 429) for a in answers)
    assert int(limited[0].headers["retry-after"]) >= 1 and "请求过于频繁" in limited[0].text
    client.close()


def test_splink_charts_leave_out_what_the_key_may_not_read(served):
    answers = (_api(served, served.keys.pii, f"/v1/enterprise/E{n:09d}") for n in range(1, 300))
    clear = next(e for e in answers if e["size"] >= 2 and sum(bool(m["fields"].get("phone")) for m in e["members"]) >= 2)
    personal = {m["fields"][f] for m in clear["members"] for f in ("phone", "legal_rep_id") if m["fields"].get(f)}
    reader, pii = _signed_in(served, served.keys.reader), _signed_in(served, served.keys.pii)
    path = f"/ui/charts/cluster/enterprise/{clear['entity_id']}"
    masked, full = reader.get(path), pii.get(path)
    assert masked.status_code == full.status_code == 200
    assert "connect-src 'none'" in masked.headers["content-security-policy"]
    assert any(v in full.text for v in personal)  # the chart shows them to a key that may read them
    assert not any(v in masked.text for v in personal)
    assert "fonts.googleapis.com" not in masked.text
    reader.close()
    pii.close()
