"""POST /admin/jobs: a CLI command line run inside the server (resolver.jobs), its output
streamed back as NDJSON. Not under /v1 and not in /openapi.json: it is the local operator's,
authenticated by the control token of `DB.serve.json` (X-Resolver-Control), never an API key.

Body: {"argv": ["export", "golden", "--db", …], "cwd": "/caller/working/dir"}. Answer: one
JSON object a line, {"stream": "stdout"|"stderr", "line": …} as the job prints, then
{"exit": code}. A client that goes away does not stop the job (a thread cannot be stopped;
its writes are transactions either way)."""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import AsyncIterator
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from api.problems import problem, problem_for
from resolver.jobs import runner
from resolver.jobs.control import TOKEN_HEADER

router = APIRouter()


def _authorised(request: Request) -> bool:
    expected: str | None = getattr(request.app.state, "control_token", None)
    given = request.headers.get(TOKEN_HEADER)
    if not expected or given is None:
        return False
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode())


@router.post("/admin/jobs", include_in_schema=False)
async def run_job(request: Request) -> Response:
    if not _authorised(request):
        refused = problem(401, "unauthenticated", f"a job needs the control token of the store's control "
                          f"file in {TOKEN_HEADER}")
        del refused.headers["www-authenticate"]  # not an API-key realm
        return refused
    try:
        body: Any = orjson.loads(await request.body())
        if not isinstance(body, dict):
            raise runner.JobRefusedError("expected a JSON object with argv and cwd")
        service = request.app.state.service
        line = runner.prepare(body.get("argv"), body.get("cwd") or "", service.store.path)
    except orjson.JSONDecodeError:
        return problem_for(runner.JobRefusedError("the body is not JSON"))
    except runner.JobRefusedError as exc:
        return problem_for(exc)

    loop = asyncio.get_running_loop()
    messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    def emit(message: dict[str, Any]) -> None:  # from the job's thread
        try:
            loop.call_soon_threadsafe(messages.put_nowait, message)
        except RuntimeError:  # the server's loop is closed (stopping): the job's print must not fail
            pass

    runner.start(line, service, emit)

    async def stream() -> AsyncIterator[bytes]:
        while True:
            message = await messages.get()
            yield orjson.dumps(message) + b"\n"
            if "exit" in message:
                return

    return StreamingResponse(stream(), media_type="application/x-ndjson")
