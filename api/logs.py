"""Request IDs and the server's log lines.

Each request has an ID (api.observe sets it): the caller's `X-Request-ID` when it is sane, else
a new one. It lives in a context variable, so every log line written while the request is
handled (on the event loop, or in a worker thread: anyio copies the context) carries it, and
problem+json bodies name it (api.problems). Lines written outside a request carry none.

`resolver serve --log-format text` (default) writes
    2026-11-30 05:40:01,123 INFO resolver.api [3f2a…] message
and `--log-format json` one JSON object per line:
    {"time": "…Z", "level": "INFO", "logger": "…", "message": "…", "request_id": "…"}
plus, for access lines (`--access-log`), method, route (the template, never the raw path),
status, duration_ms and key_id (the key's public ID: it joins the line to the audit row).
"""

from __future__ import annotations

import logging
import re
import secrets
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
# Bounded so a caller cannot write arbitrary text (CR/LF, JSON, megabytes) into the log.
_SANE_ID = re.compile(r"[A-Za-z0-9._:+/=-]{1,64}")
ACCESS_FIELDS = ("method", "route", "status", "duration_ms", "key_id")
FORMATS = ("text", "json")
ACCESS_LOGGER = "resolver.requests"


def request_id_from(header: bytes | None) -> str:
    """The caller's X-Request-ID when it is 1-64 characters of [A-Za-z0-9._:+/=-], else a new one."""
    if header is not None and len(header) <= 64:
        text = header.decode("latin-1")
        if _SANE_ID.fullmatch(text):
            return text
    return secrets.token_hex(16)


class RequestIdFilter(logging.Filter):
    """Puts the current request's ID on every record (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if getattr(record, "request_id", None) is None:
            record.request_id = "-"
        return super().format(record)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace(
                "+00:00", "Z"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None)}
        for name in ACCESS_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


def log_config(log_format: str = "text", level: str = "info", access_log: bool = False) -> dict[str, Any]:
    """A logging.config.dictConfig for uvicorn.run(log_config=…): uvicorn's own loggers and
    the resolver's write through one stderr handler, in `log_format`, each line with its
    request ID; with `access_log`, one line per request (ACCESS_LOGGER, at any `level`).
    Other libraries' warnings still show (root at WARNING)."""
    if log_format not in FORMATS:
        raise ValueError(f"log format {log_format!r}: expected one of {', '.join(FORMATS)}")
    level = level.upper()
    handler = {"handlers": ["stderr"], "propagate": False}
    return {
        "version": 1, "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"text": {"()": TextFormatter}, "json": {"()": JsonFormatter}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr",
                                "formatter": log_format, "filters": ["request_id"]}},
        "loggers": {"uvicorn": {**handler, "level": level}, "uvicorn.error": {"level": level},
                    "uvicorn.access": {**handler, "level": level},
                    "resolver": {**handler, "level": level}, "api": {**handler, "level": level},
                    ACCESS_LOGGER: {"level": "INFO" if access_log else "WARNING"}},
        "root": {"handlers": ["stderr"], "level": "WARNING"},
    }
