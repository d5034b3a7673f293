"""create_app(db_path): the FastAPI application, with a lifespan that opens the store and its
access store (keys, audit), adds the look-up indexes, loads the published models and warms up
before the first request."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI

from api import docs, golden_models, problems, schema_models, ui
from api.deps import document_domains
from api.middleware import MAX_BODY_BYTES, GuardMiddleware
from api.observe import ObserveMiddleware
from api.openapi_compat import consts_as_enums
from api.operations import operation_id
from api.routers import entities, health, jobs, match, metrics, relations, review, unregistered
from resolver.access.access_store import open_access
from resolver.access.audit import AuditWriter
from resolver.access.keys import KeyCache
from resolver.access.limits import RateLimits
from resolver.domains import domain_names, load_domains
from resolver.lookup.checkpoints import Checkpointer
from resolver.lookup.checkpoints import settings as checkpoint_settings
from resolver.lookup.queries import ensure_indexes
from resolver.lookup.service import LookupService
from resolver.lookup.unregistered import UnregisteredCache
from resolver.store import open_store

log = logging.getLogger("resolver.api")

DESCRIPTION = """Identity look-ups over the master store: golden records, search, match, incremental records.

Every `/v1` call needs an `X-API-Key` header; the key's department and scopes decide what
it may see (`<domain>:read` and `<domain>:pii` for each domain, `records:write`,
`unregistered:read`, `unregistered:write`; `review:read` and `review:write` for the review queue). Personal
fields (each domain's schema.yaml marks them `pii`) are masked unless the key holds the domain's
`:pii` scope. Each key has a
rate limit (429 with `Retry-After` past it; matches have a lower one). Every call's audit row
is on disk before its answer is sent. Errors are `application/problem+json`, with the
request's ID (`request_id`; also the `X-Request-ID` header of every answer: send your own,
1-64 characters of `A-Za-z0-9._:+/=-`, or one is made).

`/health` says the process answers, `/ready` that it can serve look-ups (503 with the reasons
if not), `/metrics` is in Prometheus' text format for a key with the `metrics:read` scope.

The integration guide (authentication, every endpoint with examples, a Python client, the
error table, rate limits, and the versioning and deprecation policy of `/v1`) is `docs/api.md`
in the resolver repository; its changes are listed in `CHANGELOG.md` at the repository's root.
"""


DEFAULT_THREADS = 4


def create_app(db_path: str | Path, threads: int = DEFAULT_THREADS, *, limits: RateLimits | None = None,
               open_docs: bool = False, audit_sync: str = "full",
               match_batch_max: int = schema_models.DEFAULT_MATCH_BATCH) -> FastAPI:
    """The app over the store at `db_path`; `threads` bounds the worker threads that run look-ups;
    `limits`: the per-key rate limits (defaults of resolver.access.limits); `open_docs`: serve
    /docs, /redoc and /openapi.json to anyone (else /openapi.json needs a key, see api.docs);
    `audit_sync`: "full" (an audit row is fsynced before its answer) or "normal" (written to the
    OS before it: survives a killed server, not a power cut), see docs/access.md;
    `match_batch_max`: the most named queries one match call may hold.

    Few threads answer 20 clients faster than many: the look-ups are mostly Python and share
    the GIL, so 40 threads (anyio's default) mostly take turns. Measured at 1M records, 20
    clients matching (one to three runs each): p99 97-98 ms with 4 threads, 104-128 ms with
    2 or 8, 112-169 ms with 40.
    """
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = max(1, threads)
        store = open_store(db_path)
        writer = service = cache = checkpoints = None
        try:
            access = open_access(db_path, store)
            app.state.keys = KeyCache(access)
            app.state.limits = limits or RateLimits()
            writer = app.state.audit_writer = AuditWriter(access, sync=audit_sync).start()
            ensure_indexes(store)
            service = LookupService(store)
            service.warm_up()
            # the store's log is checkpointed between writes, not inside one (resolver.lookup.checkpoints)
            checkpoints = app.state.checkpoints = Checkpointer(service, **checkpoint_settings()).start()
            checkpoints.on_signal()  # SIGUSR1: checkpoint now (an operator, bench_api --write-plan)
            cache = app.state.unregistered = UnregisteredCache(db_path)
            # ~330k long-lived objects (models, tokenizer, schemas): a full collection walking
            # them paused every request for ~120 ms. Frozen, they are never walked again.
            gc.freeze()
            app.state.service = service
            log.info("serving %s", db_path)
            yield
        finally:
            if writer is not None:
                writer.close()  # every waiting audit row is committed before the server stops
            if checkpoints is not None:
                checkpoints.close()
            if service is not None:
                service.close()
            if cache is not None:
                cache.close()
            store.close()

    app = FastAPI(title="resolver", version="1", description=DESCRIPTION, lifespan=lifespan,
                  generate_unique_id_function=operation_id,  # getEntity, searchEntities … (api.operations)
                  docs_url=None, redoc_url=None, openapi_url=None,  # api.docs serves them
                  openapi_tags=[{"name": "entities"}, {"name": "match"}, {"name": "relations"}, {"name": "unregistered"},
                                {"name": "review"}, {"name": "health"}])
    problems.install(app)
    app.state.metrics, requests, latency = metrics.app_registry(app.state, db_path)
    # Starlette tries routes in order, so the look-ups come first: GET by ID without FastAPI's
    # overhead (see serve_entity; it leaves /v1/review/… and /v1/unregistered/… to their routers),
    # then match. No other route takes their method and path, so the order changes no answer.
    app.router.routes.append(entities.BY_ID)
    app.include_router(match.router)
    review.include(app)  # before the entities router: /v1/review/{domain} is not /v1/{domain}/{entity_id}
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(jobs.router)  # POST /admin/jobs: CLI verbs run here (control token, not in /openapi.json)
    app.include_router(unregistered.router)  # before /v1/{domain} so "unregistered" is not a domain
    app.include_router(relations.router)  # /v1/{domain}/{entity_id}/relations and /verification
    app.include_router(entities.router)
    app.add_middleware(GuardMiddleware, max_match_body=MAX_BODY_BYTES + 2048 * match_batch_max)  # type: ignore[arg-type]
    ui.install(app)  # GET /ui/: the workbench pages, their sessions and audit (not in /openapi.json)
    # added last, so outermost: the request ID is set before the audit middleware runs, and
    # every answer (the audit middleware's own 503 too) is counted and carries it
    app.add_middleware(ObserveMiddleware, requests=requests, latency=latency)  # type: ignore[arg-type]
    app.state.domains = domain_names()  # the /v1/{domain} values, listed in /openapi.json too
    app.state.request_models = schema_models.RequestModels(app.state.domains, match_batch_max)
    _add_security_scheme(app)
    docs.install(app, open_docs)
    return app


def _add_security_scheme(app: FastAPI) -> None:
    original = app.openapi

    def openapi() -> dict:  # type: ignore[type-arg]
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        schema.setdefault("components", {})["securitySchemes"] = {
            "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}}
        schema["security"] = [{"ApiKey": []}]
        document_domains(schema, app.state.domains)
        schema_models.document(schema, app.state.request_models)  # typed bodies from each domain's schema
        problems.document_problems(schema)
        golden_models.document(schema, load_domains())
        consts_as_enums(schema)  # for client generators (api.openapi_compat)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
