"""Dependencies the routers share, as Annotated aliases: an authenticated call (engine,
caller, audit record), rate-limited per key, checked for the domain's read scope.

They are `async def` (none blocks the loop): FastAPI runs a plain `def` dependency in its
thread pool, and four thread hand-offs per request cost more than the look-up itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any

import orjson
from fastapi import Depends, Path, Request, Response
from starlette.concurrency import run_in_threadpool

from resolver.access.keys import ApiKey, KeyCache, require_scope
from resolver.access.masking import pii_scope
from resolver.lookup.service import LookupService


class Domain(StrEnum):
    enterprise = "enterprise"
    person = "person"


@dataclass
class AuditRecord:
    """What the audit middleware writes for this request; routers fill query and returned IDs.
    `endpoint` is the route template (set when the route is known), never the raw path."""

    endpoint: str = ""
    query: Any = None
    returned_ids: list[str] = field(default_factory=list)
    key: ApiKey | None = None


async def get_service(request: Request) -> LookupService:
    service: LookupService = request.app.state.service
    return service


Service = Annotated[LookupService, Depends(get_service)]
DomainPath = Annotated[Domain, Path(description="`enterprise` or `person`")]


@dataclass
class Call:
    """An authenticated /v1 call: the engine, the caller's key, the audit record to fill and,
    for /v1/{domain} routes, the domain (read access already checked)."""

    service: LookupService
    key: ApiKey
    audit: AuditRecord
    domain: str = ""

    @property
    def unmasked(self) -> bool:
        """The caller may see the domain's personal fields in full."""
        return bool(self.domain) and self.key.allows(pii_scope(self.domain))


async def caller(keys: KeyCache, header: str | None) -> ApiKey:
    """The key behind `header`: from the cache (µs), else checked against the access store in a
    worker thread (it reads SQLite)."""
    key = keys.cached(header)
    if key is None:
        key = await run_in_threadpool(keys.authenticate, header)
    return key


async def authenticated(request: Request) -> Call:
    """The caller named by the X-API-Key header (documented as the ApiKey security scheme),
    authenticated and rate-limited once per request. Routes get it through one dependency:
    FastAPI 0.165 spends ~0.1 ms solving each dependency of each request, as much as a GET's
    look-up."""
    state = request.scope.setdefault("state", {})
    call: Call | None = state.get("call")
    if call is not None:
        return call
    app_state = request.app.state
    audit = state.get("audit")
    if audit is None:  # outside the audit middleware (never in the real app)
        audit = state["audit"] = AuditRecord()
    route = request.scope.get("route")
    template = route.path if route is not None else ""
    if template:
        audit.endpoint = f"{request.method} {template}"
    key = await caller(app_state.keys, request.headers.get("x-api-key"))
    audit.key = key
    app_state.limits.take(key, match=template.endswith("/match"))
    call = state["call"] = Call(app_state.service, key, audit)
    return call


def scope_check(scope: str) -> Any:
    """A dependency that lets only callers holding `scope` through."""
    async def check(request: Request) -> Call:
        call = await authenticated(request)
        require_scope(call.key, scope)
        return call
    return Depends(check)


async def domain_reader(request: Request, domain: DomainPath) -> Call:
    """The authenticated call, for a caller holding `<domain>:read`."""
    call = await authenticated(request)
    require_scope(call.key, f"{domain.value}:read")
    call.domain = domain.value
    return call


DomainReader = Annotated[Call, Depends(domain_reader)]


def json_response(data: Any) -> Response:
    """`data` as JSON, sent as is. Returning a Response skips FastAPI's re-validation of the
    result against the route's response_model (still what /openapi.json documents; the
    tests check the answers against it): that validation cost as much as the look-up."""
    return Response(orjson.dumps(data), media_type="application/json")
