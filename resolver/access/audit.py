"""The audit log: one row per API call, durable before the answer leaves the server.

A row names the time, the key and its department, the endpoint as its route template
(`GET /v1/{domain}/{entity_id}`: never the raw path, which carries identifiers), a keyed
fingerprint of the query, the master IDs returned, the HTTP status, the client address and the
request ID (the `X-Request-ID` of the answer and of the server's log lines for the call).
There is no switch to turn it off.

Fingerprints are HMAC-SHA256 under the server secret (resolver.access.access_store.load_secret)
of the normalised query: equal queries give equal fingerprints, so the log proves what was
asked, but without the secret a fingerprint cannot be reversed by enumerating IDs (an
unkeyed hash of an 18-digit ID falls to a birth-date enumeration in seconds).

Rows form a hash chain: `row_hash = HMAC(secret, prev_hash + row)`, so changing, deleting
or reordering a row breaks every later link (`verify_chain`, `resolver audit export`).

Durability (group commit): a request hands its row to the `AuditWriter` and waits; every
row waiting goes into one SQLite transaction, and then all their answers are released.
- sync "full": the commit fsyncs, on the writer thread (the event loop never waits on a
  disk); under load a commit carries many rows, so the fsync is shared.
- sync "normal": the commit only hands the bytes to the OS (kill -9 safe, not power-cut
  safe), ~0.05 ms, so it runs on the event loop itself, once per loop turn for every row
  that reached it: a thread would have to win the GIL from the busy loop for each group
  (up to the 5 ms switch interval). The writer thread then only retries failed rows and
  checkpoints the WAL.
"""

from __future__ import annotations

import asyncio
import csv
import json
import logging
import sqlite3
import threading
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from resolver.access.access_store import AccessStore
from resolver.access.chain import GENESIS, ROW_COLUMNS, chain_rows, hmac_hex, link_hash
from resolver.errors import ResolverError

log = logging.getLogger("resolver.audit")

WITHHELD = 503
CHECKPOINT_SECONDS = 5.0


class AuditUnavailableError(ResolverError):
    """The audit row could not be made durable, so the answer is withheld (HTTP 503)."""


class AuditChainError(ResolverError):
    """The audit log's hash chain does not verify: a row was changed, removed or reordered."""


def _normalise(value: Any) -> Any:
    if isinstance(value, str):
        return unicodedata.normalize("NFKC", value).strip().upper()
    if isinstance(value, dict):
        return {str(k): _normalise(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_normalise(v) for v in value]
    return value


def query_fingerprint(secret: bytes, endpoint: str, query: Any) -> str:
    """HMAC-SHA256 of the endpoint and the normalised query (NFKC, trimmed, upper-case, keys
    sorted). ASCII-escaped JSON, so any string (a lone surrogate included) has a fingerprint."""
    text = json.dumps([endpoint, _normalise(query)], ensure_ascii=True, sort_keys=True, default=str)
    return hmac_hex(secret, text.encode("ascii"))


def audit_row(secret: bytes, *, key_id: str | None, department: str | None, endpoint: str, query: Any,
              returned_ids: list[str], status: int, client: str | None = None,
              logged_at: str | None = None, request_id: str | None = None) -> tuple[Any, ...]:
    """The values of one call, in ROW_COLUMNS order (logged_at: now, UTC; request_id: the call's
    X-Request-ID, none for the CLI)."""
    return (logged_at or datetime.now(UTC).isoformat(timespec="microseconds"), key_id, department, endpoint,
            query_fingerprint(secret, endpoint, query), ",".join(dict.fromkeys(returned_ids)), int(status), client,
            request_id)


def insert_rows(access: AccessStore, rows: list[tuple[Any, ...]], con: sqlite3.Connection | None = None) -> None:
    """Commit rows in one transaction (one fsync). Raises if the store cannot take them."""
    if not rows:
        return
    own = con is None
    con = con or access.connect()
    try:
        con.execute("BEGIN IMMEDIATE")
        try:
            chain_rows(con, access.secret, rows)
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
    finally:
        if own:
            con.close()


def write_audit(access: AccessStore, **fields: Any) -> None:
    """Append one audit row synchronously (CLI and tests; the server uses AuditWriter)."""
    insert_rows(access, [audit_row(access.secret, **fields)])


class _Waiter:
    """A request waiting for its row: resolved on its own event loop."""

    __slots__ = ("loop", "future")

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.future: asyncio.Future[None] = self.loop.create_future()


def _release(waiters: list[_Waiter], error: str | None) -> None:
    for w in waiters:
        if not w.future.done():
            if error is None:
                w.future.set_result(None)
            else:
                w.future.set_exception(AuditUnavailableError(error))


class AuditWriter:
    """One thread that commits rows in groups; see the module doc.

    A row whose commit fails is not dropped: it is kept (its status set to 503, the answer
    its caller got), retried every `retry_interval` seconds and with each later group, and
    new answers are withheld until a commit succeeds again. Rows kept are bounded by
    `max_backlog`; past it rows are counted in `lost` and logged (the disk is gone by then)."""

    def __init__(self, access: AccessStore, *, sync: str = "full", max_backlog: int = 20_000,
                 retry_interval: float = 1.0):
        self.access = access
        self.sync = sync  # resolver.access.access_store.connect
        self.secret = access.secret
        self.max_backlog = max_backlog
        self.retry_interval = retry_interval
        self._waiting: list[tuple[tuple[Any, ...], _Waiter | None]] = []
        self._retry: list[tuple[Any, ...]] = []
        self._committing = 0  # rows the writer thread has taken and not yet committed or kept
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._failing: str | None = None
        self._thread: threading.Thread | None = None
        self._inline: list[tuple[tuple[Any, ...], _Waiter | None]] = []  # sync "normal": this loop turn's rows
        self._inline_con: sqlite3.Connection | None = None
        self.written = 0  # rows committed so far
        self.commits = 0
        self.lost = 0

    # -- the request side -------------------------------------------------------------
    def row(self, **fields: Any) -> tuple[Any, ...]:
        return audit_row(self.secret, **fields)

    async def record(self, row: tuple[Any, ...]) -> None:
        """Return once `row` is durable; AuditUnavailableError if it cannot be made so now
        (the row is then kept for retry, recorded as withheld)."""
        problem = self.unavailable()
        if problem:
            self._keep([_withheld(row)])
            raise AuditUnavailableError(problem)
        waiter = _Waiter()
        if self.sync == "normal":
            if not self._inline:
                waiter.loop.call_soon(self._commit_inline)
            self._inline.append((row, waiter))
        else:
            with self._lock:
                self._waiting.append((row, waiter))
            self._wake.set()
        await waiter.future

    def unavailable(self) -> str | None:
        """Why a new row would not be recorded, or None when the writer is healthy."""
        if self._thread is None or not self._thread.is_alive() or self._stop.is_set():
            return "the audit writer is not running"
        if self._failing:
            return f"the audit log cannot be written: {self._failing}"
        if len(self._waiting) > self.max_backlog:
            return f"the audit log is {len(self._waiting)} rows behind"
        return None

    def backlog(self) -> int:
        """Rows not yet committed: waiting, kept for retry, or in the commit under way."""
        return len(self._waiting) + len(self._retry) + self._committing

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> AuditWriter:
        self._con = self.access.connect(self.sync)
        if self.sync == "normal":
            # the loop's commits must not checkpoint (that fsyncs): the writer thread does
            self._inline_con = self.access.connect(self.sync)
            self._inline_con.execute("PRAGMA wal_autocheckpoint=0")
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()
        return self

    def close(self, timeout: float = 10.0) -> None:
        """Stop taking rows, commit everything waiting, stop the thread."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._inline:
            self._commit_inline()
        if self._retry:
            log.error("audit rows not committed at shutdown: %d", len(self._retry))
        self._con.close()
        if self._inline_con is not None:
            self._inline_con.close()

    def wait_flushed(self, timeout: float = 5.0) -> bool:
        """Block until no row is waiting or kept for retry (tests)."""
        import time

        deadline = time.monotonic() + timeout
        while self.backlog() and time.monotonic() < deadline:
            self._wake.set()
            time.sleep(0.01)
        return not self.backlog()

    # -- the writer thread --------------------------------------------------------------
    def _keep(self, rows: list[tuple[Any, ...]]) -> None:
        with self._lock:
            room = max(0, self.max_backlog - len(self._retry))
            self._retry.extend(rows[:room])
            if len(rows) > room:
                self.lost += len(rows) - room
                log.error("audit rows lost (retry backlog full): %d", len(rows) - room)

    def _commit_inline(self) -> None:
        """Sync "normal", on the event loop: commit every row that reached it this turn."""
        batch, self._inline = self._inline, []
        if batch:
            self._commit([], batch, self._inline_con, on_loop=True)

    def _run(self) -> None:
        checkpoint_every = CHECKPOINT_SECONDS if self.sync == "normal" else None
        while True:
            woke = self._wake.wait(self.retry_interval if self._retry else checkpoint_every)
            self._wake.clear()
            if not woke and checkpoint_every:
                self._checkpoint()
            with self._lock:
                batch, self._waiting = self._waiting, []
                retry, self._retry = self._retry, []
                # counted until committed or kept again: a reader of backlog() never sees 0
                # while a commit that may still fail is under way
                self._committing = len(batch) + len(retry)
            if batch or retry:
                try:
                    self._commit(retry, batch)
                finally:
                    self._committing = 0
            if self._stop.is_set() and not self._waiting:
                if self._retry:  # one last try at shutdown
                    with self._lock:
                        retry, self._retry = self._retry, []
                    self._commit(retry, [])
                return

    def _checkpoint(self) -> None:
        try:
            self._con.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except Exception:  # noqa: BLE001 - the next one will do; the WAL only grows meanwhile
            log.exception("audit WAL checkpoint failed")

    def _commit(self, retry: list[tuple[Any, ...]], batch: list[tuple[tuple[Any, ...], _Waiter | None]],
                con: sqlite3.Connection | None = None, on_loop: bool = False) -> None:
        rows = retry + [r for r, _ in batch]
        try:
            insert_rows(self.access, rows, con or self._con)
        except Exception as exc:  # noqa: BLE001 - keep the rows, withhold the answers, retry
            log.exception("audit commit of %d rows failed", len(rows))
            self._failing = str(exc).splitlines()[0][:200] or type(exc).__name__
            self._keep(retry + [_withheld(r) for r, _ in batch])
            self._notify(batch, f"the audit log cannot be written: {self._failing}; answer withheld", on_loop)
            return
        self._failing = None
        self.written += len(rows)
        self.commits += 1
        self._notify(batch, None, on_loop)

    @staticmethod
    def _notify(batch: list[tuple[tuple[Any, ...], _Waiter | None]], error: str | None,
                on_loop: bool = False) -> None:
        if on_loop:  # committed on the waiters' own loop
            _release([w for _, w in batch if w is not None], error)
            return
        by_loop: dict[asyncio.AbstractEventLoop, list[_Waiter]] = {}
        for _, w in batch:
            if w is not None:
                by_loop.setdefault(w.loop, []).append(w)
        for loop, waiters in by_loop.items():  # one wake-up of each loop per group, not per row
            try:
                loop.call_soon_threadsafe(_release, waiters, error)
            except RuntimeError:  # the loop closed; its requests are gone
                pass


def _withheld(row: tuple[Any, ...]) -> tuple[Any, ...]:
    status = ROW_COLUMNS.index("status")
    return (*row[:status], WITHHELD, *row[status + 1:])


# -- reading ---------------------------------------------------------------------------
EXPORT_COLUMNS = ("audit_id", *ROW_COLUMNS, "prev_hash", "row_hash")


def iter_audit(access: AccessStore) -> Iterator[dict[str, Any]]:
    """Every row in chain order (one read transaction: a consistent snapshot while the server writes)."""
    con = access.connect()
    try:
        cur = con.execute(f"SELECT {', '.join(EXPORT_COLUMNS)} FROM audit_log ORDER BY audit_id")
        for row in cur:
            yield dict(zip(EXPORT_COLUMNS, row, strict=True))
    finally:
        con.close()


def verify_row(secret: bytes, prev: str, row: dict[str, Any]) -> str | None:
    """Why `row` does not continue the chain whose last hash is `prev`, or None."""
    if row["prev_hash"] != prev:
        return "its previous-hash does not match the row before it (a row was removed or reordered)"
    values = tuple(row[c] for c in ROW_COLUMNS)
    if link_hash(secret, prev, row["audit_id"], values) != row["row_hash"]:
        return "its hash does not match its contents (the row was changed)"
    return None


def read_audit(access: AccessStore, limit: int = 100) -> list[dict[str, Any]]:
    """The latest audit rows, newest first."""
    rows = access.query(f"SELECT {', '.join(EXPORT_COLUMNS)} FROM audit_log ORDER BY audit_id DESC LIMIT ?",
                        [int(limit)])
    return [dict(zip(EXPORT_COLUMNS, r, strict=True)) for r in rows]


def export_audit(access: AccessStore, out: Path, since: str | None = None) -> tuple[int, int, str, str | None]:
    """Write rows logged at or after `since` (ISO date or time, UTC) to `out` (.csv or .jsonl),
    verifying the whole chain on the way. Returns (rows verified, rows written, last hash,
    the first break or None). The file is written even when the chain breaks: it is evidence."""
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".jsonl"):
        raise ResolverError(f"{out}: audit export writes .csv or .jsonl")
    secret = access.secret
    prev, verified, written, broken = GENESIS, 0, 0, None
    tmp = out.with_name(out.name + ".part")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, EXPORT_COLUMNS) if suffix == ".csv" else None
        if writer:
            writer.writeheader()
        for row in iter_audit(access):
            reason = verify_row(secret, prev, row)
            if reason and broken is None:
                broken = f"row {row['audit_id']}: {reason}"
            verified += 1
            prev = row["row_hash"]
            if since is None or str(row["logged_at"]) >= since:
                if writer:
                    writer.writerow(row)
                else:
                    f.write(json.dumps(row, ensure_ascii=False) + "\n")
                written += 1
    tmp.replace(out)
    return verified, written, prev, broken
