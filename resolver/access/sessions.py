"""Sign-in sessions of the web workbench (/ui): an API key, presented once, becomes a session.

A session lives in the server's memory only (one `resolver serve` process; a restart signs
everyone out). Its ID is 32 random bytes, sent to the browser as an HttpOnly cookie and kept
here only as its SHA-256, so a memory dump of the table gives no usable cookie. A session is
bound to its key ID: every request reads the key again from the access store (not the 5 s key
cache), so a revoked key ends its sessions on their next request. Each session has its own
CSRF token, which every form of the pages carries back.

An ID is only ever made here (`create`), at sign-in: a cookie value this table did not issue
is never adopted, so a session ID planted in a victim's browser before sign-in (session
fixation) is worthless.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field

from resolver.access.access_store import AccessStore
from resolver.access.keys import ApiKey, AuthenticationError

IDLE_SECONDS = 30 * 60  # signed out after 30 minutes without a request
LIFETIME_SECONDS = 8 * 3600  # and after a working day whatever happens


@dataclass
class Session:
    key_id: str
    csrf: str
    created: float
    seen: float
    data: dict[str, str] = field(default_factory=dict)


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8", "replace")).hexdigest()


class SessionStore:
    """Sessions by the SHA-256 of their ID; `clock` is time.monotonic (tests pass their own)."""

    def __init__(self, idle: float = IDLE_SECONDS, lifetime: float = LIFETIME_SECONDS, size: int = 10_000,
                 clock: object = time.monotonic):
        self.idle, self.lifetime, self.size = idle, lifetime, size
        self._clock = clock
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def _now(self) -> float:
        return float(self._clock())  # type: ignore[operator]

    def create(self, key_id: str) -> tuple[str, Session]:
        """A new session for `key_id`: (the ID to send as the cookie, the session)."""
        session_id = secrets.token_urlsafe(32)
        now = self._now()
        session = Session(key_id, secrets.token_urlsafe(32), now, now)
        with self._lock:
            if len(self._sessions) >= self.size:
                self._drop_expired(now)
            if len(self._sessions) >= self.size:  # still full: the oldest go first
                for old in sorted(self._sessions, key=lambda k: self._sessions[k].seen)[: self.size // 10 or 1]:
                    del self._sessions[old]
            self._sessions[_digest(session_id)] = session
        return session_id, session

    def get(self, session_id: str | None) -> Session | None:
        """The live session of `session_id` (its idle clock restarted), or None: unknown, expired."""
        if not session_id:
            return None
        digest = _digest(session_id)
        now = self._now()
        with self._lock:
            session = self._sessions.get(digest)
            if session is None:
                return None
            if now - session.seen > self.idle or now - session.created > self.lifetime:
                del self._sessions[digest]
                return None
            session.seen = now
            return session

    def end(self, session_id: str | None) -> None:
        if session_id:
            with self._lock:
                self._sessions.pop(_digest(session_id), None)

    def end_key(self, key_id: str) -> None:
        """End every session of `key_id` (its key was found revoked)."""
        with self._lock:
            for digest in [d for d, s in self._sessions.items() if s.key_id == key_id]:
                del self._sessions[digest]

    def __len__(self) -> int:
        return len(self._sessions)

    def _drop_expired(self, now: float) -> None:
        for digest in [d for d, s in self._sessions.items()
                       if now - s.seen > self.idle or now - s.created > self.lifetime]:
            del self._sessions[digest]


def csrf_ok(session: Session, token: str | None) -> bool:
    """The form's token is the session's (constant-time comparison)."""
    return bool(token) and hmac.compare_digest(session.csrf.encode(), str(token).encode("utf-8", "replace"))


def key_by_id(access: AccessStore, key_id: str) -> ApiKey:
    """The key as the access store holds it now (scopes included), or AuthenticationError when it
    is unknown or revoked. One SQLite point read: a page view checks its key every time."""
    rows = access.query("SELECT department, scopes, sources, rate_limit, match_rate_limit, revoked_at "
                        "FROM api_keys WHERE key_id = ?", [key_id])
    if not rows:
        raise AuthenticationError("unknown API key")
    department, scopes, sources, rate, match_rate, revoked_at = rows[0]
    if revoked_at is not None:
        raise AuthenticationError("API key revoked")
    split = lambda text: frozenset(s for s in (text or "").split(",") if s)  # noqa: E731
    return ApiKey(key_id, department, split(scopes), split(sources), rate, match_rate)
