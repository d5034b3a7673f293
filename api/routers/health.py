"""GET /health: liveness and which model versions are loaded. No key needed."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from api.deps import Service
from api.models import Health
from resolver.domains import domain_names

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
