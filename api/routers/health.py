"""GET /health: the process answers, and which model versions are published. GET /ready: the
server can answer look-ups now. No key needed for either.

Ready means: the start-up finished (store open, indexes added, documents and blocking indexes
loaded, models compiled: uvicorn listens only after that, so before it a probe's connection is
refused), the store answers a query, the audit log takes rows (else every /v1 answer is
withheld with a 503), and each domain's published model is loaded. A domain with no published
model is served without matching, as at start (`models` says null for it): that is a state
of the store, not of the server. Otherwise 503 problem+json with every reason (`reasons`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from api.deps import Service, json_response
from api.models import Health, Problem, Ready
from api.problems import problem
from resolver.domains import domain_names
from resolver.lookup.service import ModelUnavailableError

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, summary="Is the server up, which models does it use")
async def health(service: Service) -> Health:
    def versions() -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for domain in domain_names():
            latest = service.store.latest_model(domain)
            out[domain] = latest[0] if latest else None
        return out
    return Health(status="ok", store=Path(service.store.path).name, models=await run_in_threadpool(versions))


def readiness(state: Any) -> tuple[list[str], dict[str, str | None]]:
    """(why the server is not ready, the model version loaded per domain: None for a domain
    with no published model, served without matching)."""
    service = getattr(state, "service", None)
    if service is None:
        return ["starting: the store, its documents and the models are still loading"], {}
    reasons: list[str] = []
    writer = getattr(state, "audit_writer", None)
    audit = writer.unavailable() if writer is not None else "the audit writer is not running"
    if audit:
        reasons.append(f"audit: {audit}")
    loaded: dict[str, str | None] = {}
    try:
        published = {d: service.store.latest_model(d) for d in domain_names()}
    except Exception as exc:  # noqa: BLE001 - any failure is the reason
        reasons.append(f"store: {str(exc).splitlines()[0][:200]}")
        return reasons, loaded
    for domain, latest in published.items():
        loaded[domain] = None
        if latest is None:
            continue
        try:
            compiled, _ = service.model(domain)  # loaded at start; a newer one is loaded here
            loaded[domain] = compiled.version
        except ModelUnavailableError as exc:
            reasons.append(f"{domain}: {exc}")
        except Exception as exc:  # noqa: BLE001 - a model that does not load, whatever the error
            reasons.append(f"{domain}: model {latest[0]} cannot be loaded: {str(exc).splitlines()[0][:200]}")
    return reasons, loaded


@router.get("/ready", response_model=Ready, summary="Can the server answer look-ups now",
            responses={503: {"model": Problem, "content": {"application/problem+json": {}}}})
async def ready(request: Request) -> Response:
    reasons, loaded = await run_in_threadpool(readiness, request.app.state)
    if reasons:
        return problem(503, "not-ready", "; ".join(reasons), reasons=reasons)
    return json_response({"status": "ready", "models": loaded})
