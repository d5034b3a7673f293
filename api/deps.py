"""Dependencies the routers share, as Annotated aliases: an authenticated call (engine,
caller, audit record), rate-limited per key, checked for the domain's read scope.

They are `async def` (none blocks the loop): FastAPI runs a plain `def` dependency in its
thread pool, and four thread hand-offs per request cost more than the look-up itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

import orjson
from fastapi import Depends, Path, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool

from resolver.access.keys import ApiKey, KeyCache, require_scope
from resolver.access.masking import pii_scope
from resolver.domains import domain_names, is_domain
from resolver.lookup.service import LookupService


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
# Any domain with a schema in the rules folder; checked by `check_domain`, listed as an enum in
# /openapi.json by `document_domains` when the app is created.
DomainPath = Annotated[str, Path(description="a domain of the rules folder")]


def _one_of(names: tuple[str, ...]) -> str:
    quoted = [f"'{n}'" for n in names]
    return " or ".join([", ".join(quoted[:-1]), quoted[-1]] if len(quoted) > 1 else quoted)


def check_domain(text: str, names: tuple[str, ...] | None = None) -> str:
    """`text` when it names a domain of the rules folder (`names`: the domains the app was
    created with); else a 422, as for a value outside an enum."""
    if not (text in names if names is not None else is_domain(text)):
        names = names if names is not None else domain_names()
        raise RequestValidationError([{"loc": ("path", "domain"), "type": "enum",
                                       "msg": f"Input should be {_one_of(names)}", "input": text}])
    return text


def document_domains(schema: dict[str, Any], names: tuple[str, ...]) -> None:
    """List `names` (the domains present) as the `domain` path parameter's enum in an OpenAPI
    document: one `Domain` component every route refers to (a generated client gets one enum)."""
    schema.setdefault("components", {}).setdefault("schemas", {})["Domain"] = {
        "type": "string", "enum": list(names), "title": "Domain", "description": "a domain of the rules folder"}
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for param in operation.get("parameters", []) if isinstance(operation, dict) else []:
                if param.get("name") == "domain" and param.get("in") == "path":
                    param["schema"] = {"$ref": "#/components/schemas/Domain"}


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
    check_domain(domain, getattr(request.app.state, "domains", None))
    call = await authenticated(request)
    require_scope(call.key, f"{domain}:read")
    call.domain = domain
    return call


DomainReader = Annotated[Call, Depends(domain_reader)]


def json_response(data: Any) -> Response:
    """`data` as JSON, sent as is. Returning a Response skips FastAPI's re-validation of the
    result against the route's response_model (still what /openapi.json documents; the
    tests check the answers against it): that validation cost as much as the look-up."""
    return Response(orjson.dumps(data), media_type="application/json")
