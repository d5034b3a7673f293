"""GET /metrics: Prometheus text format, for a key holding `metrics:read`.

Who may read it: a key with the `metrics:read` scope, sent as `X-API-Key` or as
`Authorization: Bearer <key>` (Prometheus' `authorization` scrape setting). Not audited (it is
not a look-up; a scrape every 15 s would fill the log), not rate-limited. It holds no
personal data: labels are route templates, methods, statuses, domains, model versions and
build versions, never anything a caller sent.

What it holds (resolver.metrics for the format):
- resolver_http_requests_total, resolver_http_request_duration_seconds: per method, route, status
- resolver_audit_queue_rows: audit rows waiting for their commit (or kept for retry)
- resolver_audit_rows_written_total, resolver_audit_commits_total, resolver_audit_rows_lost_total
- resolver_write_batch_records, resolver_write_batch_calls, resolver_write_batch_seconds: group
  commits of POST /records (the last: how long each held the store's write lock)
- resolver_checkpoint_seconds: the background checkpoints, which hold the write lock too
- resolver_model_info{domain,version}: the published model version of each domain (1)
- resolver_store_size_bytes{file}: the master store, its WAL, the access store and its WAL
- resolver_unregistered_cache_total{result}: GET /v1/unregistered served from the cache or computed
- resolver_build_info{version,python,duckdb}, process_cpu_seconds_total,
  process_resident_memory_bytes, process_start_time_seconds
"""

from __future__ import annotations

import os
import platform
import resource
import time
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

import duckdb
from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from api.deps import caller
from api.observe import request_metrics
from api.problems import problem_for
from resolver import metrics
from resolver.access.access_store import access_path
from resolver.access.keys import require_scope
from resolver.domains import domain_names
from resolver.metrics import Counter, Gauge, Histogram, Labels, Registry

router = APIRouter(tags=["health"])
SCOPE = "metrics:read"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_STARTED = time.time()


def _version() -> str:
    try:
        return metadata.version("resolver")
    except metadata.PackageNotFoundError:  # run from a checkout
        return "unknown"


def app_registry(state: Any, db_path: str | Path) -> tuple[Registry, Counter, Histogram]:
    """The app's metrics; gauges read `state` (audit writer, service, unregistered cache) when asked."""
    db = Path(db_path)
    registry = Registry()
    requests, latency = request_metrics()
    registry.add(requests)
    registry.add(latency)

    def audit(attribute: str) -> Any:
        def read() -> Iterable[tuple[Labels, float]]:
            writer = getattr(state, "audit_writer", None)
            if writer is not None:
                yield (), float(writer.backlog() if attribute == "backlog" else getattr(writer, attribute))
        return read

    registry.add(Gauge("resolver_audit_queue_rows", "Audit rows waiting for their commit or kept for retry",
                       (), audit("backlog")))
    for name, attribute, text in (("rows_written", "written", "Audit rows committed"),
                                  ("commits", "commits", "Audit group commits"),
                                  ("rows_lost", "lost", "Audit rows lost (retry backlog full)")):
        registry.add(Gauge(f"resolver_audit_{name}_total", text, (), audit(attribute), kind="counter"))

    def models() -> Iterable[tuple[Labels, float]]:
        service = getattr(state, "service", None)
        if service is None:
            return
        for domain in domain_names():
            latest = service.store.latest_model(domain)
            if latest is not None:
                yield (domain, latest[0]), 1

    registry.add(Gauge("resolver_model_info", "The published model version of each domain", ("domain", "version"),
                       models))

    def sizes() -> Iterable[tuple[Labels, float]]:
        access = access_path(db)
        for label, path in (("master", db), ("master_wal", Path(f"{db}.wal")), ("access", access),
                            ("access_wal", Path(f"{access}-wal"))):
            try:
                yield (label,), os.stat(path).st_size
            except OSError:
                continue

    registry.add(Gauge("resolver_store_size_bytes", "Size of the store's files", ("file",), sizes))

    def cache() -> Iterable[tuple[Labels, float]]:
        unregistered = getattr(state, "unregistered", None)
        if unregistered is not None:
            yield ("hit",), unregistered.hits
            yield ("miss",), unregistered.misses

    registry.add(Gauge("resolver_unregistered_cache_total", "GET /v1/unregistered answered from the cached list "
                       "(hit) or after computing it (miss)", ("result",), cache, kind="counter"))
    build = ((_version(), platform.python_version(), duckdb.__version__), 1)
    registry.add(Gauge("resolver_build_info", "Versions of this server", ("version", "python", "duckdb"),
                       lambda: [build]))
    registry.add(Gauge("process_cpu_seconds_total", "CPU time of this process (user + system)", (),
                       lambda: [((), sum(os.times()[:2]))], kind="counter"))
    registry.add(Gauge("process_resident_memory_bytes", "Resident memory of this process", (), _rss))
    registry.add(Gauge("process_start_time_seconds", "When this process started (Unix time)", (),
                       lambda: [((), _STARTED)]))
    return registry, requests, latency


def _rss() -> Iterable[tuple[Labels, float]]:
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        yield (), pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):  # not Linux: the peak instead
        yield (), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _key_header(request: Request) -> str | None:
    key = request.headers.get("x-api-key")
    if key is None:
        auth = request.headers.get("authorization", "")
        if auth[:7].lower() == "bearer ":
            key = auth[7:].strip()
    return key


@router.get("/metrics", summary="Prometheus metrics (a key with metrics:read)", response_class=Response,
            responses={200: {"content": {CONTENT_TYPE: {}}}})
async def read_metrics(request: Request) -> Response:
    try:
        key = await caller(request.app.state.keys, _key_header(request))
        require_scope(key, SCOPE)
    except Exception as exc:  # noqa: BLE001 - AuthenticationError, PermissionDeniedError: their own answers
        return problem_for(exc)
    registry: Registry = request.app.state.metrics
    text = await run_in_threadpool(lambda: registry.text() + metrics.ENGINE.text())
    return Response(text, media_type=CONTENT_TYPE)
