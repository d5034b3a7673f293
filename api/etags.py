"""ETags on entity answers: a hash of the answer's bytes as this caller sees them, so the
masked and the unmasked answer of one entity carry different tags, and an answer changes its
tag whenever anything in it changes (a member joins, a golden value moves, the ID retires).
A client that sends the tag back as If-None-Match gets 304 with no body while it holds.

Shared caches keep none of it: every /v1 answer is `Cache-Control: no-store` (api.middleware),
as answers hold personal data; the tag serves the client's own copy."""

from __future__ import annotations

import hashlib

from starlette.requests import Request
from starlette.responses import Response


def etag(body: bytes) -> str:
    """128 bits of the body's SHA-256: with the CPU's SHA instructions 2.5x faster than BLAKE2b
    (5 kB answer: 17 µs against 44 µs, measured on the shared 2-core box under load)."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def matches(header: str | None, tag: str) -> bool:
    """Whether an If-None-Match header names `tag` (weak comparison, RFC 9110 §13.1.2)."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    return any(t.strip().removeprefix("W/") == tag for t in header.split(","))


def tagged(request: Request, body: bytes, headers: dict[str, str] | None = None) -> Response:
    """`body` (JSON) with its ETag, or 304 when the request's If-None-Match names the tag."""
    tag = etag(body)
    out = {"ETag": tag, **(headers or {})}
    if matches(request.headers.get("if-none-match"), tag):
        return Response(status_code=304, headers=out)
    return Response(body, media_type="application/json", headers=out)
