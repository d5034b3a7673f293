"""uvicorn's HTTP protocols with their own rejects as problem+json.

A request the HTTP parser refuses (a malformed request line, a bad header, an oversized
header block) never reaches the app: uvicorn answers 400 itself, as plain text. These
subclasses answer the same 400 as `application/problem+json`; `ProblemHTTPProtocol` is the
one uvicorn would pick (httptools when installed, else h11). There is no audit row for such
a request: no API call was made, and nothing in it can be trusted enough to record (uvicorn
logs a warning).
"""

from __future__ import annotations

import asyncio
import json

import h11
from uvicorn.protocols.http.auto import AutoHTTPProtocol
from uvicorn.protocols.http.h11_impl import H11Protocol

PROBLEM_BODY = json.dumps({
    "type": "/problems/bad-request", "title": "Bad Request", "status": 400,
    "detail": "the request is not valid HTTP/1.1 and was not read"}).encode()
_HEADERS = [(b"content-type", b"application/problem+json"), (b"connection", b"close"),
            (b"content-length", str(len(PROBLEM_BODY)).encode())]


class H11ProblemProtocol(H11Protocol):
    def send_400_response(self, msg: str) -> None:
        for event in (h11.Response(status_code=400, headers=_HEADERS, reason=b"Bad Request"),
                      h11.Data(data=PROBLEM_BODY), h11.EndOfMessage()):
            self.transport.write(self.conn.send(event))
        self.transport.close()


def _httptools_protocol() -> type[asyncio.Protocol] | None:
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # httptools not installed
        return None

    class HttpToolsProblemProtocol(HttpToolsProtocol):
        def send_400_response(self, msg: str) -> None:
            content = [b"HTTP/1.1 400 Bad Request\r\n"]
            for name, value in [*self.server_state.default_headers, *_HEADERS]:
                content.extend([name, b": ", value, b"\r\n"])
            content.extend([b"\r\n", PROBLEM_BODY])
            self.transport.write(b"".join(content))
            self.transport.close()

    return HttpToolsProblemProtocol


HttpToolsProblemProtocol = _httptools_protocol()
ProblemHTTPProtocol: type[asyncio.Protocol] = (
    HttpToolsProblemProtocol if HttpToolsProblemProtocol is not None and AutoHTTPProtocol is not H11Protocol
    else H11ProblemProtocol)
