"""Dependencies the routers share, as Annotated aliases: the engine, the caller, the audit record.

They are `async def` although none awaits: FastAPI runs a plain `def` dependency in its
thread pool, and four thread hand-offs per request cost more than the look-up itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any

import orjson
from fastapi import Depends, Header, Path, Request, Response
from starlette.concurrency import run_in_threadpool

from resolver.access.keys import ApiKey, require_scope
from resolver.access.masking import pii_scope
from resolver.lookup.service import LookupService


class Domain(StrEnum):
    enterprise = "enterprise"
    person = "person"


@dataclass
class AuditRecord:
    """What the audit middleware writes for this request; routers fill query and returned IDs."""

    endpoint: str
    query: Any = None
    returned_ids: list[str] = field(default_factory=list)
    key: ApiKey | None = None


async def get_service(request: Request) -> LookupService:
    service: LookupService = request.app.state.service
    return service


async def get_audit(request: Request) -> AuditRecord:
    record = request.scope.get("state", {}).get("audit")
    if record is None:  # outside the audit middleware (never in the real app)
        record = AuditRecord(endpoint=request.url.path)
        request.state.audit = record
    route = request.scope.get("route")
    record.endpoint = f"{request.method} {getattr(route, 'path', request.url.path)}"
    return record


Service = Annotated[LookupService, Depends(get_service)]
Audit = Annotated[AuditRecord, Depends(get_audit)]


async def get_caller(service: Service, audit: Audit,
                     x_api_key: Annotated[str | None, Header(alias="X-API-Key", max_length=200)] = None
                     ) -> ApiKey:
    key = service.keys.cached(x_api_key)
    if key is None:
        key = await run_in_threadpool(service.keys.authenticate, x_api_key)
    audit.key = key
    return key


Caller = Annotated[ApiKey, Depends(get_caller)]
DomainPath = Annotated[Domain, Path(description="`enterprise` or `person`")]


def scope_check(scope: str) -> Any:
    """A dependency that lets only callers holding `scope` through."""
    async def check(key: Caller) -> ApiKey:
        require_scope(key, scope)
        return key
    return Depends(check)


async def domain_reader(domain: DomainPath, key: Caller) -> ApiKey:
    require_scope(key, f"{domain.value}:read")
    return key


DomainReader = Annotated[ApiKey, Depends(domain_reader)]


def unmasked(domain: Domain, key: ApiKey) -> bool:
    return key.allows(pii_scope(domain.value))


def json_response(data: Any) -> Response:
    """`data` as JSON, sent as is. Returning a Response skips FastAPI's re-validation of the
    result against the route's response_model (still what /openapi.json documents; the
    tests check the answers against it): that validation cost as much as the look-up."""
    return Response(orjson.dumps(data), media_type="application/json")
