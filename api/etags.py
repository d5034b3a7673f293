"""ETags on entity answers: a hash of the answer's bytes as this caller sees them, so the
masked and the unmasked answer of one entity carry different tags, and an answer changes its
tag whenever anything in it changes (a member joins, a golden value moves, the ID retires).
A client that sends the tag back as If-None-Match gets 304 with no body while it holds."""

from __future__ import annotations

import hashlib

from starlette.requests import Request
from starlette.responses import Response

# An answer differs by key (masking), so only the caller may keep it, and must ask again.
CACHE_HEADERS = {"Cache-Control": "private, no-cache", "Vary": "X-API-Key"}


def etag(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


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
    out = {**CACHE_HEADERS, "ETag": tag, **(headers or {})}
    if matches(request.headers.get("if-none-match"), tag):
        return Response(status_code=304, headers=out)
    return Response(body, media_type="application/json", headers=out)
