"""The access store: API keys and the audit trail, in a SQLite file beside the master store.

`resolver serve` holds the DuckDB master store for itself, so keys and audit rows live in
`<db>.access.sqlite` (WAL mode): the server and any number of CLI commands read and write it
at the same time (`resolver keys revoke` while the API runs, `resolver audit export` of a
live log). A writer waits up to `BUSY_TIMEOUT_S` for another one; readers never wait.

`synchronous=FULL`: a commit returns only after the WAL is on disk, so an audit row whose
answer was sent survives kill -9 and a power cut alike (the writer batches many rows per
commit, see resolver.access.audit).

The first open of a store that still has `api_keys` / `audit_log` rows in DuckDB (stores made
before this file existed) copies them here, then empties the DuckDB tables: their old
fingerprints were unkeyed hashes and their endpoints raw paths, so the copies get keyed
fingerprints and route-shaped endpoints instead (see `_migrate`).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import sqlite3
from pathlib import Path
from typing import Any

from resolver.access.chain import chain_rows
from resolver.domains import domain_names
from resolver.errors import ResolverError

BUSY_TIMEOUT_S = 10.0
SECRET_ENV = "RESOLVER_AUDIT_SECRET"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY, key_hash TEXT NOT NULL, department TEXT NOT NULL, scopes TEXT NOT NULL,
    sources TEXT NOT NULL DEFAULT '', rate_limit REAL, match_rate_limit REAL,
    created_at TEXT NOT NULL, revoked_at TEXT);
CREATE TABLE IF NOT EXISTS audit_log (
    audit_id INTEGER PRIMARY KEY, logged_at TEXT NOT NULL, key_id TEXT, department TEXT,
    endpoint TEXT NOT NULL, query_fingerprint TEXT NOT NULL, returned_ids TEXT NOT NULL,
    status INTEGER NOT NULL, client TEXT, prev_hash TEXT NOT NULL, row_hash TEXT NOT NULL,
    request_id TEXT);
CREATE INDEX IF NOT EXISTS audit_log_time ON audit_log (logged_at);
"""


def access_path(db: str | Path) -> Path:
    """Where the access store of the master store `db` lives."""
    return Path(f"{db}.access.sqlite")


def secret_path(db: str | Path) -> Path:
    return Path(f"{db}.audit-secret")


def load_secret(db: str | Path) -> bytes:
    """The server secret that keys audit fingerprints and the hash chain.

    `RESOLVER_AUDIT_SECRET` (hex, 32+ bytes) when set, for operators who keep secrets in a
    vault; otherwise `<db>.audit-secret`, created 0600 on first use. Never in either store: a
    copy of the stores alone cannot reverse a fingerprint or rewrite the chain."""
    env = os.environ.get(SECRET_ENV)
    if env:
        try:
            secret = bytes.fromhex(env.strip())
        except ValueError:
            raise ResolverError(f"{SECRET_ENV} must be hex (64+ hex digits)") from None
        if len(secret) < 32:
            raise ResolverError(f"{SECRET_ENV} must hold at least 32 bytes (64 hex digits)")
        return secret
    path = secret_path(db)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        text = path.read_text(encoding="ascii").strip()
        if not re.fullmatch(r"[0-9a-f]{64,}", text):
            raise ResolverError(f"{path}: not an audit secret (64+ hex digits expected)") from None
        return bytes.fromhex(text)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(os.urandom(32).hex() + "\n")
        f.flush()
        os.fsync(f.fileno())
    return bytes.fromhex(path.read_text(encoding="ascii").strip())


SYNC_MODES = ("full", "normal")


def connect(path: Path, sync: str = "full") -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL. `sync`: "full", a commit
    is on disk when it returns (fsync); "normal", it is in the OS's hands (survives the process
    being killed, not the machine losing power)."""
    if sync not in SYNC_MODES:
        raise ResolverError(f"audit sync mode {sync!r}: expected one of {', '.join(SYNC_MODES)}")
    con = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute(f"PRAGMA synchronous={sync.upper()}")
    return con


class AccessStore:
    """The access store of one master store; opens a short-lived connection per operation
    (keys and CLI) or a long-lived one for the audit writer (`connect()`)."""

    def __init__(self, db: str | Path):
        self.db = Path(db)
        self.path = access_path(db)
        self._secret: bytes | None = None

    @property
    def secret(self) -> bytes:
        """The server secret, checked against the one the log was written with: a lost secret
        file silently replaced by a new one would make every fingerprint and link unverifiable."""
        if self._secret is None:
            secret = load_secret(self.db)
            check = hmac.new(secret, b"resolver audit secret", hashlib.sha256).hexdigest()[:16]
            con = self.connect()
            try:
                with con:
                    con.execute("BEGIN IMMEDIATE")
                    known = con.execute("SELECT value FROM meta WHERE key = 'secret_check'").fetchall()
                    if not known:
                        con.execute("INSERT INTO meta VALUES ('secret_check', ?)", [check])
            finally:
                con.close()
            if known and known[0][0] != check:
                raise ResolverError(
                    f"the audit secret ({SECRET_ENV} or {secret_path(self.db)}) is not the one {self.path} "
                    "was written with: restore it (fingerprints and the hash chain depend on it)")
            self._secret = secret
        return self._secret

    def connect(self, sync: str = "full") -> sqlite3.Connection:
        return connect(self.path, sync)

    def query(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[tuple[Any, ...]]:
        con = self.connect()
        try:
            return con.execute(sql, params).fetchall()
        finally:
            con.close()

    def execute(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> int:
        """Run one write in its own transaction; the number of rows it changed."""
        con = self.connect()
        try:
            with con:
                con.execute("BEGIN IMMEDIATE")
                return con.execute(sql, params).rowcount
        finally:
            con.close()


def open_access(db: str | Path, store: Any = None) -> AccessStore:
    """The access store of the master store `db`, created (and migrated) if it does not exist.

    `store`: the master store when the caller has it open (the server); otherwise the DuckDB
    file is opened only if there is something to migrate from it."""
    access = AccessStore(db)
    con = access.connect()
    try:
        con.executescript(_SCHEMA)
        _add_request_id(con)
        migrated = con.execute("SELECT value FROM meta WHERE key = 'migrated_from_duckdb'").fetchall()
    finally:
        con.close()
    if not migrated:
        _migrate(access, store)
    return access


def _add_request_id(con: sqlite3.Connection) -> None:
    """The audit log of an access store made before rows carried their request ID gets the
    column (empty for its old rows, which verify as they were written: resolver.access.chain)."""
    def missing() -> bool:
        return "request_id" not in {r[1] for r in con.execute("PRAGMA table_info(audit_log)")}
    if missing():
        with con:
            con.execute("BEGIN IMMEDIATE")
            if missing():  # another process may have added it meanwhile
                con.execute("ALTER TABLE audit_log ADD COLUMN request_id TEXT")


_ROUTE_WORDS = {"v1", "match", "records", "unregistered", "review", "decisions", "relations"}  # and the domains


def route_shape(endpoint: str) -> str:
    """A stored raw endpoint (`GET /v1/person/330…`) as a route shape (`GET /v1/person/{…}`):
    segments outside the API's own words are replaced, so no identifier survives."""
    method, _, path = (endpoint or "").partition(" ")
    method = method if method.isalpha() and method.isupper() else "?"
    words = _ROUTE_WORDS | set(domain_names())
    parts = [p if p in words or (p.startswith("{") and p.endswith("}")) else "{…}"
             for p in path.split("?")[0].split("/")[1:]]
    return f"{method} /{'/'.join(parts)}"


def _migrate(access: AccessStore, store: Any) -> None:
    """Copy keys and audit rows from a DuckDB store made before the access store existed."""

    own = None
    if store is None and access.db.exists():
        from resolver.store import open_store

        own = store = open_store(access.db)
    try:
        keys: list[tuple[Any, ...]] = []
        audit: list[tuple[Any, ...]] = []
        if store is not None:
            with store.reader() as reader:
                keys, audit = reader.legacy_access_rows()
        secret = access.secret if audit else b""
        con = access.connect()
        try:
            with con:
                con.execute("BEGIN IMMEDIATE")
                if con.execute("SELECT 1 FROM meta WHERE key = 'migrated_from_duckdb'").fetchall():
                    return  # another process migrated first
                con.executemany(
                    "INSERT OR IGNORE INTO api_keys (key_id, key_hash, department, scopes, created_at, revoked_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)", keys)
                rows = [(at, key_id, dept, route_shape(endpoint),
                         # the old unkeyed sha256 is itself reversible: keep it only keyed
                         hmac.new(secret, (fp or "").encode(), hashlib.sha256).hexdigest(),
                         ids or "", int(status or 0), None, None)
                        for at, key_id, dept, endpoint, fp, ids, status in audit]
                chain_rows(con, secret, rows)
                con.execute("INSERT INTO meta VALUES ('migrated_from_duckdb', ?)", [f"{len(keys)} keys, {len(audit)} audit rows"])
        finally:
            con.close()
        if store is not None and (keys or audit):
            store.drop_legacy_access_rows()
    finally:
        if own is not None:
            own.close()
