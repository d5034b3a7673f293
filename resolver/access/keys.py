"""API keys: shown once, stored as salted SHA-256, mapped to a department, its scopes, the
sources it may write and its rate limits. They live in the access store (SQLite beside the
master store, resolver.access.access_store), so `resolver keys` works while the API runs.

A key reads `rk_<key_id>_<secret>`. Only `key_id` (public, the audit log names it) and
`salt$sha256(salt + secret)` are stored, so a copy of the store gives no usable key.
The secret is 32 random bytes, so one salted hash (not a slow KDF) is enough.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from resolver.access.access_store import AccessStore
from resolver.domains import domain_names
from resolver.errors import NotFoundError, ResolverError
from resolver.paths import rules_dir

log = logging.getLogger("resolver.access")

# Scope vocabulary. `<domain>:read` answers look-ups, `<domain>:pii` unmasks personal fields,
# for every domain of the rules folder; these two are the domain-independent ones.
OTHER_SCOPES = ("records:write", "unregistered:read", "unregistered:write", "metrics:read", "review:read",
                "review:write")


def known_scopes() -> tuple[str, ...]:
    return (*(f"{d}:{s}" for d in domain_names() for s in ("read", "pii")), *OTHER_SCOPES)

# Exactly this, nothing around it: the HTTP parser already trims spaces and tabs, so any other
# character (a no-break space pasted from a document) is a different, malformed key.
_KEY_RE = re.compile(r"rk_([0-9a-f]{16})_([A-Za-z0-9_-]{20,64})")


class AuthenticationError(ResolverError):
    """No API key, or a key that is unknown, malformed or revoked (HTTP 401)."""


class PermissionDeniedError(ResolverError):
    """The key is valid but lacks the scope this call needs (HTTP 403)."""


@dataclass(frozen=True)
class ApiKey:
    """An authenticated caller. `rate_limit` / `match_rate_limit`: requests per second for this
    key (None: the server's default; 0: unlimited)."""

    key_id: str
    department: str
    scopes: frozenset[str]
    sources: frozenset[str] = frozenset()
    rate_limit: float | None = None
    match_rate_limit: float | None = None

    def allows(self, scope: str) -> bool:
        return scope in self.scopes


def _hash(salt: str, secret: str) -> str:
    return hashlib.sha256((salt + secret).encode("utf-8")).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def parse_scopes(text: str) -> frozenset[str]:
    """Comma-separated scopes, each checked against known_scopes()."""
    scopes = frozenset(s.strip() for s in text.split(",") if s.strip())
    known = known_scopes()
    unknown = sorted(scopes - set(known))
    if unknown:
        raise ResolverError(f"unknown scope(s): {', '.join(unknown)} (known: {', '.join(known)})")
    if not scopes:
        raise ResolverError("a key needs at least one scope")
    return scopes


def known_sources() -> frozenset[str]:
    """Source names with a mapping in matching_rules/sources/."""
    return frozenset(p.stem for p in (rules_dir() / "sources").glob("*.yaml"))


def parse_sources(text: str | None, department: str) -> frozenset[str]:
    """The sources a key may write: `text` (comma-separated), or by default the source named
    like the department (a key of department `tax` writes source `tax`), if there is one."""
    known = known_sources()
    if text is None:
        return frozenset({department}) & known
    sources = frozenset(s.strip() for s in text.split(",") if s.strip())
    unknown = sorted(sources - known)
    if unknown:
        raise ResolverError(f"unknown source(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    return sources


def _rate(value: float | None, name: str) -> float | None:
    if value is not None and value < 0:
        raise ResolverError(f"{name} must be 0 (unlimited) or more requests per second")
    return value


def create_key(access: AccessStore, department: str, scopes: str | frozenset[str], *,
               sources: str | None = None, rate_limit: float | None = None,
               match_rate_limit: float | None = None) -> tuple[str, str]:
    """Create a key; return (key_id, full key). The full key is not stored and cannot be shown again."""
    department = department.strip()
    if not department:
        raise ResolverError("a key needs a department")
    scope_set = parse_scopes(scopes) if isinstance(scopes, str) else parse_scopes(",".join(scopes))
    source_set = parse_sources(sources, department)
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    access.execute(
        "INSERT INTO api_keys (key_id, key_hash, department, scopes, sources, rate_limit, match_rate_limit,"
        " created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)",
        [key_id, f"{salt}${_hash(salt, secret)}", department, ",".join(sorted(scope_set)),
         ",".join(sorted(source_set)), _rate(rate_limit, "--rate-limit"),
         _rate(match_rate_limit, "--match-rate-limit"), _now()])
    return key_id, f"rk_{key_id}_{secret}"


def _split(text: str | None) -> frozenset[str]:
    return frozenset(s for s in (text or "").split(",") if s)


def authenticate(access: AccessStore, presented: str | None) -> ApiKey:
    """The caller behind `presented`, or AuthenticationError. Constant-time hash comparison."""
    if not presented:
        raise AuthenticationError("missing X-API-Key header")
    match = _KEY_RE.fullmatch(presented)
    if not match:
        raise AuthenticationError("malformed API key")
    key_id, secret = match.groups()
    rows = access.query(
        "SELECT key_hash, department, scopes, sources, rate_limit, match_rate_limit, revoked_at "
        "FROM api_keys WHERE key_id = ?", [key_id])
    if not rows:
        raise AuthenticationError("unknown API key")
    key_hash, department, scopes, sources, rate, match_rate, revoked_at = rows[0]
    salt, _, digest = key_hash.partition("$")
    if not hmac.compare_digest(digest, _hash(salt, secret)):
        raise AuthenticationError("unknown API key")
    if revoked_at is not None:
        raise AuthenticationError("API key revoked")
    return ApiKey(key_id, department, _split(scopes), _split(sources), rate, match_rate)


class KeyCache:
    """Keys authenticated in the last `ttl` seconds, so a look-up does not read `api_keys` each
    time (a point read costs about as much as the rest of a GET). A revocation reaches a running
    server within `ttl`. Failures are not cached: a wrong key is checked against the store again.

    A key used in the second half of its `ttl` is checked again in the background while the
    cached answer still serves: when every request of a busy caller waited for that check at
    the same moment, 20 clients stalled for ~100 ms every `ttl` (behind an audit commit).
    """

    def __init__(self, access: AccessStore, ttl: float = 5.0, size: int = 10_000):
        self.access, self.ttl, self.size = access, ttl, size
        self._keys: dict[bytes, tuple[ApiKey, float]] = {}
        self._rechecks: dict[bytes, threading.Thread] = {}
        self._gates: dict[bytes, threading.Lock] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _digest(presented: str | None) -> bytes:
        return hashlib.sha256((presented or "").encode("utf-8", "replace")).digest()

    def cached(self, presented: str | None) -> ApiKey | None:
        """The key if it was authenticated within `ttl` (no store read), else None."""
        digest = self._digest(presented)
        hit = self._keys.get(digest)
        if hit is None:
            return None
        age = time.monotonic() - hit[1]
        if age >= self.ttl:
            return None
        if age >= self.ttl / 2:
            self._recheck_later(digest, presented)
        return hit[0]

    def authenticate(self, presented: str | None) -> ApiKey:
        key = self.cached(presented)
        if key is not None:
            return key
        digest = self._digest(presented)
        with self._lock:
            if len(self._gates) >= self.size:
                self._gates.clear()
            gate = self._gates.setdefault(digest, threading.Lock())
        # One store read per key at a time: 20 requests arriving with an expired key all read
        # the store at once and the first answers took ~100 ms; now one reads, the rest wait.
        with gate:
            key = self.cached(presented)
            if key is not None:
                return key
            now = time.monotonic()
            key = authenticate(self.access, presented)
            self._remember(digest, key, now)
            return key

    def wait_rechecks(self, timeout: float = 5.0) -> None:
        """Block until the background checks running now are done (tests)."""
        for thread in list(self._rechecks.values()):
            thread.join(timeout)

    def _remember(self, digest: bytes, key: ApiKey, at: float) -> None:
        with self._lock:
            if len(self._keys) >= self.size:
                self._keys.clear()
            self._keys[digest] = (key, at)

    def _recheck_later(self, digest: bytes, presented: str | None) -> None:
        with self._lock:
            if digest in self._rechecks:
                return
            thread = self._rechecks[digest] = threading.Thread(
                target=self._recheck, args=(digest, presented), name="key-recheck", daemon=True)
        thread.start()

    def _recheck(self, digest: bytes, presented: str | None) -> None:
        try:
            now = time.monotonic()
            self._remember(digest, authenticate(self.access, presented), now)
        except AuthenticationError:  # revoked since: refused from the next request on
            with self._lock:
                self._keys.pop(digest, None)
        except Exception:  # noqa: BLE001 - the entry expires at its ttl and is checked in line
            log.exception("background key check failed")
        finally:
            with self._lock:
                self._rechecks.pop(digest, None)


def require_scope(key: ApiKey, scope: str) -> None:
    if not key.allows(scope):
        raise PermissionDeniedError(f"key {key.key_id} ({key.department}) lacks scope '{scope}'")


def require_source(key: ApiKey, source: str) -> None:
    """A key writes only the sources its department owns (set at `keys create --sources`)."""
    if source not in key.sources:
        owned = ", ".join(sorted(key.sources)) or "none"
        raise PermissionDeniedError(
            f"key {key.key_id} ({key.department}) may not write source '{source}' (it writes: {owned})")


_LIST = ("key_id", "department", "scopes", "sources", "rate_limit", "match_rate_limit", "created_at", "revoked_at")


def list_keys(access: AccessStore) -> list[dict[str, object]]:
    """Every key without its hash."""
    rows = access.query(f"SELECT {', '.join(_LIST)} FROM api_keys ORDER BY created_at, key_id")
    return [dict(zip(_LIST, r, strict=True)) for r in rows]


def revoke_key(access: AccessStore, key_id: str) -> None:
    """Revoke a key (idempotent); a running server refuses it within its key cache's ttl."""
    if not access.query("SELECT 1 FROM api_keys WHERE key_id = ?", [key_id]):
        raise NotFoundError(f"no API key '{key_id}'")
    access.execute("UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL", [_now(), key_id])
