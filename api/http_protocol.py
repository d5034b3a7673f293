"""uvicorn's HTTP protocol with its own rejects as problem+json.

A request the HTTP parser refuses (a malformed request line, a bad header, an oversized
header block) never reaches the app: uvicorn answers 400 itself, as plain text. This
subclass of the protocol uvicorn would pick (httptools when installed, else h11) answers the
same 400 as `application/problem+json`. There is no audit row for it: no API call was made,
and nothing in it can be trusted enough to record (uvicorn logs a warning).
"""

from __future__ import annotations

import asyncio
import json

from uvicorn.protocols.http.auto import AutoHTTPProtocol

PROBLEM_BODY = json.dumps({
    "type": "/problems/bad-request", "title": "Bad Request", "status": 400,
    "detail": "the request is not valid HTTP/1.1 and was not read"}).encode()


def _problem_protocol() -> type[asyncio.Protocol]:
    base = AutoHTTPProtocol
    if base.__name__ == "H11Protocol":
        import h11

        class H11ProblemProtocol(base):  # type: ignore[misc, valid-type]
            def send_400_response(self, msg: str) -> None:
                headers = [(b"content-type", b"application/problem+json"), (b"connection", b"close"),
                           (b"content-length", str(len(PROBLEM_BODY)).encode())]
                for event in (h11.Response(status_code=400, headers=headers, reason=b"Bad Request"),
                              h11.Data(data=PROBLEM_BODY), h11.EndOfMessage()):
                    self.transport.write(self.conn.send(event))
                self.transport.close()

        return H11ProblemProtocol

    class HttpToolsProblemProtocol(base):  # type: ignore[misc, valid-type]
        def send_400_response(self, msg: str) -> None:
            content = [b"HTTP/1.1 400 Bad Request\r\n"]
            for name, value in self.server_state.default_headers:
                content.extend([name, b": ", value, b"\r\n"])
            content.extend([b"content-type: application/problem+json\r\n",
                            b"content-length: " + str(len(PROBLEM_BODY)).encode() + b"\r\n",
                            b"connection: close\r\n", b"\r\n", PROBLEM_BODY])
            self.transport.write(b"".join(content))
            self.transport.close()

    return HttpToolsProblemProtocol


ProblemHTTPProtocol = _problem_protocol()
