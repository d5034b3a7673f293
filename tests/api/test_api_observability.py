"""Observability on a real `resolver serve` (uvicorn on loopback), JSON log on request:
/metrics (strictly parsed), /ready beside /health, request IDs, the cached 漏管户 list."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import time

import httpx
import pytest
from api_support import header, make_keys
from prometheus_text import parse, value

from fixtures.live_server import Server
from resolver import metrics
from resolver.access.access_store import access_path, open_access
from resolver.access.keys import create_key

BY_ID = "/v1/{domain}/{entity_id}"
HEX_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture(scope="module")
def server(built, tmp_path_factory):
    db = tmp_path_factory.mktemp("observe") / "master.duckdb"
    shutil.copy(built.path, db)
    keys = make_keys(db)
    metrics_key = create_key(open_access(db), "运维", "metrics:read")[1]
    log = db.parent / "server.log"
    srv = Server(db, args=("--log-format", "json", "--access-log", "--log-level", "info"), output=log)
    yield srv, keys, metrics_key, built
    srv.stop()


def scrape(srv, key):
    r = httpx.get(srv.url + "/metrics", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    return r.text, parse(r.text)


def log_lines(srv):
    """Every line the server wrote, each one JSON object (a line that is not fails here)."""
    return [json.loads(line) for line in srv.output.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_metrics_count_requests_by_route_template_and_status(server):
    srv, keys, metrics_key, built = server
    _, before = scrape(srv, metrics_key)
    for _ in range(3):
        assert httpx.get(srv.url + "/v1/enterprise/E000000002", headers=header(keys.reader)).status_code == 200
    assert httpx.get(srv.url + "/v1/enterprise/E999999999", headers=header(keys.reader)).status_code == 404
    assert httpx.get(srv.url + "/v1/enterprise/E000000002").status_code == 401
    assert httpx.get(srv.url + "/no/such/path/330106").status_code == 404
    text, after = scrape(srv, metrics_key)

    def delta(sample, **labels):
        return value(after, sample, **labels) - value(before, sample, **labels)

    total = "resolver_http_requests_total"
    assert delta(total, method="GET", route=BY_ID, status="200") == 3
    assert delta(total, method="GET", route=BY_ID, status="404") == 1
    assert delta(total, method="GET", route=BY_ID, status="401") == 1
    assert delta(total, method="GET", route="(no route)", status="404") == 1
    latency = "resolver_http_request_duration_seconds"
    assert delta(latency + "_count", method="GET", route=BY_ID, status="200") == 3
    assert delta(latency + "_bucket", method="GET", route=BY_ID, status="200", le="+Inf") == 3
    assert 0 < delta(latency + "_sum", method="GET", route=BY_ID, status="200") < 30
    # the routes a label may name are the app's templates, nothing a caller sent
    routes = {labels["route"] for _, labels, _ in after[total].samples}
    assert routes <= {BY_ID, "/v1/{domain}", "/v1/{domain}/match", "/v1/unregistered", "/v1/{domain}/records",
                      "/metrics", "/health", "/ready", "(no route)"}, routes


def test_metrics_hold_no_identifier_or_personal_value(server):
    srv, keys, metrics_key, built = server
    person = built.people.iloc[0]
    company = built.enterprises.dropna(subset=["uscc"]).iloc[2]
    sent = [person["id_number"], person["name"], company["uscc"], company["name"], "E000000002", "330106"]
    httpx.get(srv.url + "/v1/person", params={"id": person["id_number"]}, headers=header(keys.pii))
    httpx.get(srv.url + "/v1/person", params={"name": person["name"]}, headers=header(keys.pii))
    httpx.post(srv.url + "/v1/enterprise/match", json={"name": company["name"], "uscc": company["uscc"]},
               headers=header(keys.reader))
    httpx.get(srv.url + f"/v1/enterprise/{company['uscc']}", headers=header(keys.reader))
    httpx.get(srv.url + f"/v1/person/{person['id_number']}", headers=header(keys.pii))
    text, families = scrape(srv, metrics_key)
    assert value(families, "resolver_http_requests_total", method="GET", route="/v1/{domain}", status="200") >= 2
    for raw in sent:
        assert str(raw) not in text


def test_metrics_report_audit_models_store_and_build(server):
    srv, keys, metrics_key, _ = server
    health = httpx.get(srv.url + "/health").json()
    _, families = scrape(srv, metrics_key)
    assert value(families, "resolver_audit_queue_rows") >= 0 and "resolver_audit_queue_rows" in families
    assert value(families, "resolver_audit_rows_written_total") > 0
    assert value(families, "resolver_model_info", domain="enterprise", version=health["models"]["enterprise"]) == 1
    assert value(families, "resolver_store_size_bytes", file="master") == srv.db.stat().st_size
    assert families["resolver_build_info"].samples[0][2] == 1
    assert families["resolver_write_batch_records"].kind == "histogram"


def test_metrics_need_a_key_with_metrics_read(server):
    srv, keys, _, _ = server
    r = httpx.get(srv.url + "/metrics")
    assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
    r = httpx.get(srv.url + "/metrics", headers=header(keys.pii))
    assert r.status_code == 403 and "metrics:read" in r.json()["detail"]


def test_request_id_given_or_made_is_in_header_problem_and_log_line(server):
    srv, keys, _, _ = server
    given = "trace-0f3a:42"
    r = httpx.get(srv.url + "/v1/enterprise/E999999999", headers={**header(keys.reader), "X-Request-ID": given})
    assert r.status_code == 404 and r.headers["x-request-id"] == given and r.json()["request_id"] == given
    made = httpx.get(srv.url + "/v1/enterprise/E999999998", headers=header(keys.reader))
    assert HEX_ID.fullmatch(made.headers["x-request-id"]) and made.json()["request_id"] == made.headers["x-request-id"]
    for insane in ("a" * 65, "two words", '{"inject":1}'):
        r = httpx.get(srv.url + "/v1/enterprise/E999999997", headers={**header(keys.reader), "X-Request-ID": insane})
        assert HEX_ID.fullmatch(r.headers["x-request-id"]) and r.json()["request_id"] == r.headers["x-request-id"]
    ok = httpx.get(srv.url + "/health", headers={"X-Request-ID": "health-1"})
    assert ok.headers["x-request-id"] == "health-1"

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the server writes its line after the answer
        lines = log_lines(srv)
        if {given, made.headers["x-request-id"]} <= {line.get("request_id") for line in lines}:
            break
        time.sleep(0.1)
    by_id = {line["request_id"]: line for line in lines if line.get("request_id")}
    for request_id in (given, made.headers["x-request-id"]):
        line = by_id[request_id]
        assert line["logger"] == "resolver.requests" and line["level"] == "INFO"
        assert (line["method"], line["route"], line["status"]) == ("GET", BY_ID, 404)
        assert line["duration_ms"] > 0 and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"])
        assert len(line["key_id"]) == 16
        assert "E99999999" not in json.dumps(line)  # the route template, never the raw path
    assert all({"time", "level", "logger", "message", "request_id"} <= set(line) for line in lines)


def test_ready_and_health_and_ready_503_while_the_audit_log_is_locked(server):
    srv, keys, _, _ = server
    ready = httpx.get(srv.url + "/ready")
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["status"] == "ready"
    assert body["models"]["enterprise"] == httpx.get(srv.url + "/health").json()["models"]["enterprise"]
    assert body["models"]["person"] is None  # no published person model: served without matching

    # another process holds the access store's write lock: audit rows cannot be committed
    lock = sqlite3.connect(access_path(srv.db), timeout=1, isolation_level=None)
    try:
        lock.execute("BEGIN EXCLUSIVE")
        r = httpx.get(srv.url + "/v1/enterprise/E000000002", headers=header(keys.reader), timeout=60)
        assert r.status_code == 503 and r.json()["type"] == "/problems/audit-unavailable"
        assert r.json()["request_id"] == r.headers["x-request-id"]
        not_ready = httpx.get(srv.url + "/ready")
        assert not_ready.status_code == 503 and not_ready.headers["content-type"] == "application/problem+json"
        assert not_ready.json()["reasons"][0].startswith("audit: ") and "request_id" in not_ready.json()
        assert httpx.get(srv.url + "/health").status_code == 200  # the process still answers
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    deadline = time.monotonic() + 30  # the writer retries every second (each try may wait out a busy timeout)
    while httpx.get(srv.url + "/ready").status_code != 200:
        assert time.monotonic() < deadline, "not ready again after the lock was released"
        time.sleep(0.2)
    assert httpx.get(srv.url + "/v1/enterprise/E000000002", headers=header(keys.reader)).status_code == 200


def test_unregistered_list_is_cached_until_a_write_changes_it(server):
    srv, keys, metrics_key, _ = server

    def listed():
        r = httpx.get(srv.url + "/v1/unregistered", params={"limit": 500}, headers=header(keys.inspector))
        assert r.status_code == 200, r.text
        return r.json()["items"]

    def cache(result):
        return value(scrape(srv, metrics_key)[1], "resolver_unregistered_cache_total", result=result)

    first = listed()
    hits, misses = cache("hit"), cache("miss")
    assert listed() == first
    assert (cache("hit"), cache("miss")) == (hits + 1, misses)  # the second call computed nothing

    suspect = next(i for i in first if i["uscc"])
    writes = value(scrape(srv, metrics_key)[1], "resolver_write_batch_seconds_count")
    r = httpx.post(srv.url + "/v1/enterprise/records", headers=header(keys.writer), timeout=60, json={
        "source": "tax", "records": [{"source_record_id": "obs-cache-1",
                                      "fields": {"name": suspect["name"], "uscc": suspect["uscc"]}}]})
    assert r.status_code == 200, r.text
    assert r.json()["results"][0]["entity_id"] == suspect["entity_id"]  # its tax record joined it
    # the server reports how long the write held the store's lock
    assert value(scrape(srv, metrics_key)[1], "resolver_write_batch_seconds_count") == writes + 1
    after = listed()
    assert cache("miss") == misses + 1
    assert suspect["entity_id"] in {i["entity_id"] for i in first}
    assert suspect["entity_id"] not in {i["entity_id"] for i in after}  # now it has a tax record


def test_engine_histograms_take_observations_and_refuse_unknown_names():
    before = metrics.ENGINE.metrics["resolver_write_batch_records"].series.get(())
    count = before.count if before else 0
    metrics.observe("resolver_write_batch_records", 37)
    families = parse(metrics.ENGINE.text())
    assert value(families, "resolver_write_batch_records_count") == count + 1
    assert value(families, "resolver_write_batch_records_bucket", le="50") - \
        value(families, "resolver_write_batch_records_bucket", le="20") >= 1
    with pytest.raises(KeyError):
        metrics.observe("resolver_write_batch_recs", 1)


def test_ready_says_starting_before_the_service_is_loaded():
    from types import SimpleNamespace

    from api.routers.health import readiness

    # the app's state before its lifespan has loaded the service (uvicorn does not listen yet)
    assert readiness(SimpleNamespace()) == (["starting: the store, its documents and the models are still loading"], {})
