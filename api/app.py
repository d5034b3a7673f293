"""create_app(db_path): the FastAPI application, with a lifespan that opens the store, adds the
look-up indexes, loads the published models and warms up before the first request."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI

from api import problems
from api.middleware import GuardMiddleware
from api.routers import entities, health, match, unregistered
from resolver.access.audit import AuditWriter
from resolver.lookup.queries import ensure_indexes
from resolver.lookup.service import LookupService
from resolver.store import open_store

log = logging.getLogger("resolver.api")

DESCRIPTION = """Identity look-ups over the master store (SPEC §4).

Every `/v1` call needs an `X-API-Key` header; the key's department and scopes decide what
it may see (`enterprise:read`, `person:read`, `enterprise:pii`, `person:pii`,
`records:write`, `unregistered:read`). Personal fields (`id_number`, `phone`,
`legal_rep_id`) are masked unless the key holds the domain's `:pii` scope. Every call is
queued for the audit log before its answer is sent (committed within ~50 ms). Errors are `application/problem+json`.
"""


DEFAULT_THREADS = 4


def create_app(db_path: str | Path, threads: int = DEFAULT_THREADS) -> FastAPI:
    """The app over the store at `db_path`; `threads` bounds the worker threads that run look-ups.

    Few threads answer 20 clients faster than many: the look-ups are mostly Python and share
    the GIL, so 40 threads (anyio's default) mostly take turns. Measured at 1M records, 20
    clients matching (one to three runs each): p99 97-98 ms with 4 threads, 104-128 ms with
    2 or 8, 112-169 ms with 40.
    """
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = max(1, threads)
        store = open_store(db_path)
        writer = None
        try:
            ensure_indexes(store)
            service = LookupService(store)
            service.warm_up()
            # ~330k long-lived objects (models, tokenizer, schemas): a full collection walking
            # them paused every request for ~120 ms. Frozen, they are never walked again.
            gc.freeze()
            app.state.service = service
            writer = app.state.audit_writer = AuditWriter(store).start()
            log.info("serving %s", db_path)
            yield
        finally:
            if writer is not None:
                writer.close()  # every queued audit row is committed before the store closes
            store.close()

    app = FastAPI(title="resolver", version="1", description=DESCRIPTION, lifespan=lifespan,
                  openapi_tags=[{"name": "entities"}, {"name": "match"}, {"name": "unregistered"},
                                {"name": "health"}])
    problems.install(app)
    app.include_router(health.router)
    app.include_router(unregistered.router)  # before /v1/{domain} so "unregistered" is not a domain
    app.include_router(match.router)
    app.include_router(entities.router)
    app.router.routes.insert(0, entities.BY_ID)  # GET by ID without FastAPI's overhead (see serve_entity)
    app.add_middleware(GuardMiddleware, writer_getter=lambda: app.state.audit_writer)  # type: ignore[arg-type]
    _add_security_scheme(app)
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
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
