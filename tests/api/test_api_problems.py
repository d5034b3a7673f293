"""The exception → status table, entry by entry, and hostile input: always 4xx with a reason, never 500."""

from __future__ import annotations

import pytest
from api_support import header, make_keys
from fastapi.exceptions import RequestValidationError
from fastapi.testclient import TestClient

from api import create_app
from api.problems import PROBLEMS, AuditUnavailableError, PayloadTooLargeError
from resolver.access.keys import AuthenticationError, PermissionDeniedError
from resolver.access.limits import RateLimitedError, RateLimits
from resolver.errors import ConfigError, InputError, NotFoundError, ResolverError
from resolver.lookup.service import ModelUnavailableError

EXPECTED = {
    AuthenticationError: 401, PermissionDeniedError: 403, NotFoundError: 404, PayloadTooLargeError: 413,
    InputError: 400, RequestValidationError: 422, RateLimitedError: 429, ModelUnavailableError: 503,
    AuditUnavailableError: 503, ConfigError: 500, ResolverError: 500,
}


def _make(exc_type: type[Exception]) -> Exception:
    if exc_type is ConfigError:
        return ConfigError("rules.yaml", ["bad key"])
    if exc_type is RequestValidationError:
        return RequestValidationError([{"loc": ("query", "x"), "msg": "bad", "type": "value_error"}])
    if exc_type is RateLimitedError:
        return RateLimitedError("slow down", retry_after=0.2)
    return exc_type("reason for a human")


@pytest.fixture(scope="module")
def client(module_store):
    keys = make_keys(module_store)
    app = create_app(module_store, limits=RateLimits(0, 0))
    for exc_type in EXPECTED:
        def raiser(exc_type: type[Exception] = exc_type) -> None:
            raise _make(exc_type)
        app.add_api_route(f"/v1/raise/{exc_type.__name__}", raiser)
    app.router.routes.sort(key=lambda r: 0 if "/raise/" in getattr(r, "path", "") else 1)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c, keys


def test_table_covers_every_exception_once():
    assert {t: s for t, s, _ in PROBLEMS} == EXPECTED


@pytest.mark.parametrize("exc_type", list(EXPECTED), ids=lambda t: t.__name__)
def test_each_exception_maps_to_its_status_as_problem_json(client, exc_type):
    c, _ = client
    r = c.get(f"/v1/raise/{exc_type.__name__}")
    assert r.status_code == EXPECTED[exc_type]
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert {"type", "title", "status", "detail"} <= set(body) and body["status"] == r.status_code
    assert (r.headers.get("retry-after") == "1") is (exc_type is RateLimitedError)


def test_unexpected_exception_is_500_without_internals(client):
    c, _ = client
    c.app.add_api_route("/v1/raise/boom", lambda: 1 / 0)
    c.app.router.routes.sort(key=lambda r: 0 if "/raise/" in getattr(r, "path", "") else 1)
    r = c.get("/v1/raise/boom")
    assert r.status_code == 500 and "ZeroDivision" not in r.text
    assert r.headers["content-type"] == "application/problem+json"


HOSTILE_IDS = ["'; DROP TABLE entities; --", "E000000001' OR '1'='1", "\x00\x01", "9133" * 30, "%", "_", "()"]


@pytest.mark.parametrize("value", HOSTILE_IDS)
def test_hostile_search_values_are_4xx(client, value):
    c, keys = client
    for params in ({"id": value}, {"name": value}):
        r = c.get("/v1/enterprise", params=params, headers=header(keys.reader))
        assert 400 <= r.status_code < 500 or (r.status_code == 200 and "name" in params), r.text
        assert r.headers["content-type"].startswith("application/") and r.status_code != 500


@pytest.mark.parametrize("body,status", [
    (b"{not json", 422),
    (b"[1, 2]", 422),
    (b'{"name": ["a"]}', 422),
    (b'{"name": {"x": 1}}', 422),
    (b'{"nonsense_field": "x"}', 422),  # the domain's typed record (api.schema_models)
    (b'{"name": "\\u0000\\u0007"}', 400),
    (b'{"name": "' + b"a" * 300 + b'"}', 422),
    (b'{"registered_capital": true}', 422),
    (b'{"queries": {"q1": {"name": "x", "uscc": 12}}}', 422),
    (b"{}", 400),
    (b'{"name": "' + b"a" * 70_000 + b'"}', 422),  # a match body may hold 100 queries: 264 KiB
    (b'{"name": "' + b"a" * 300_000 + b'"}', 413),
])
def test_bad_match_bodies(client, body, status):
    c, keys = client
    r = c.post("/v1/enterprise/match", content=body,
               headers={**header(keys.reader), "content-type": "application/json"})
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"


def test_unknown_domain_and_bad_master_id(client):
    c, keys = client
    assert c.get("/v1/company/E000000001", headers=header(keys.reader)).status_code == 422
    assert c.get("/v1/enterprise/P000000001", headers=header(keys.reader)).status_code == 400
    assert c.get("/v1/enterprise/E999999999", headers=header(keys.reader)).status_code == 404


def test_person_match_without_a_model_is_503(client):
    c, keys = client
    r = c.post("/v1/person/match", json={"name": "张三"}, headers=header(keys.reader))
    assert r.status_code == 503 and "person" in r.json()["detail"]


def test_answer_withheld_when_audit_cannot_be_written(client, monkeypatch):
    from resolver.access.audit import read_audit

    c, keys = client
    writer = c.app.state.audit_writer
    assert c.get("/v1/enterprise/E000000001", headers=header(keys.reader)).status_code == 200
    assert writer.unavailable() is None

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")
    monkeypatch.setattr("resolver.access.audit.chain_rows", broken)
    r = c.get("/v1/enterprise/E000000001", headers=header(keys.reader))  # its commit fails: withheld
    assert r.status_code == 503 and "audit" in r.json()["detail"] and "golden" not in r.text
    assert "disk full" in (writer.unavailable() or "")
    r = c.get("/v1/enterprise/E000000001", headers=header(keys.reader))  # refused while failing
    assert r.status_code == 503 and "golden" not in r.text

    monkeypatch.undo()  # the disk has room again: the writer retries, keeps the rows, recovers
    assert writer.wait_flushed(timeout=20), writer.backlog()
    assert writer.unavailable() is None
    assert c.get("/v1/enterprise/E000000001", headers=header(keys.reader)).status_code == 200
    statuses = [r["status"] for r in read_audit(writer.access, limit=4)]
    assert sorted(statuses) == [200, 200, 503, 503], statuses  # the withheld answers are in the log as such


def test_answer_withheld_when_the_audit_writer_is_not_running(module_store):
    keys = make_keys(module_store)
    with TestClient(create_app(module_store)) as c:
        c.app.state.audit_writer.close()
        r = c.get("/v1/enterprise/E000000001", headers=header(keys.reader))
        assert r.status_code == 503 and "not running" in r.json()["detail"]
