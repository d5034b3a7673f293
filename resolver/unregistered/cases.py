"""Case work on the 漏管户 list: status, assignee, notes and outcome per master ID, with who and when.

Stored in the access store (`<db>.access.sqlite`, beside keys and audit), not in the master
store: the server holds the DuckDB file as its one writer, while an inspector's update must
work from the API and be read by `resolver unregistered` at any time; and a case update
then never counts as a change of the store, so the cached list is not computed again.

A case belongs to a master ID (stable across re-resolves, resolver.store.master_ids) and
remembers the facts it was decided on (`fingerprint`, resolver.unregistered.case_facts).
Every update appends a row to `unregistered_case_history`; the case row holds the latest state.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from resolver.access.access_store import AccessStore
from resolver.errors import InputError

OPEN = "待核查"
IN_PROGRESS = "核查中"
REGISTERED = "已办理税务登记"
NOT_OPERATING = "确认未经营"
FALSE_ALARM = "误报"
STATUSES = (OPEN, IN_PROGRESS, REGISTERED, NOT_OPERATING, FALSE_ALARM)
# Outcomes that take a case off the list until its facts change (then it reopens).
CLOSED = (NOT_OPERATING, FALSE_ALARM)
MAX_TEXT = 2000
MAX_NAME = 50

_SCHEMA = """
CREATE TABLE IF NOT EXISTS unregistered_cases (
    entity_id TEXT PRIMARY KEY, status TEXT NOT NULL, assignee TEXT, note TEXT, reason TEXT,
    fingerprint TEXT, score REAL, updated_at TEXT NOT NULL, key_id TEXT, department TEXT);
CREATE TABLE IF NOT EXISTS unregistered_case_history (
    change_id INTEGER PRIMARY KEY, entity_id TEXT NOT NULL, changed_at TEXT NOT NULL, key_id TEXT,
    department TEXT, status TEXT, assignee TEXT, note TEXT, reason TEXT, fingerprint TEXT, score REAL);
CREATE INDEX IF NOT EXISTS unregistered_case_history_entity ON unregistered_case_history (entity_id, change_id);
"""
CASE_FIELDS = ("entity_id", "status", "assignee", "note", "reason", "fingerprint", "score", "updated_at",
               "key_id", "department")
HISTORY_FIELDS = ("changed_at", "key_id", "department", "status", "assignee", "note", "reason", "fingerprint",
                  "score")


@dataclass(frozen=True)
class Change:
    """One update as asked: None leaves a field as it is; "" clears assignee or note."""

    status: str | None = None
    assignee: str | None = None
    note: str | None = None
    reason: str | None = None

    def check(self) -> None:
        """Raise InputError naming the field for an update that cannot be recorded."""
        if self.status is None and self.assignee is None and self.note is None and self.reason is None:
            raise InputError("nothing to record: give status, assignee, note or reason")
        if self.status is not None and self.status not in STATUSES:
            raise InputError(f"status: '{self.status}' is not one of {', '.join(STATUSES)}")
        if self.status == FALSE_ALARM and not (self.reason or "").strip():
            raise InputError(f"reason: a case marked {FALSE_ALARM} needs the reason it is one")
        if self.assignee is not None and len(self.assignee) > MAX_NAME:
            raise InputError(f"assignee: longer than {MAX_NAME} characters")
        for name, text in (("note", self.note), ("reason", self.reason)):
            if text is not None and len(text) > MAX_TEXT:
                raise InputError(f"{name}: longer than {MAX_TEXT} characters")


class CaseStore:
    """The cases of the master store at `db` (tables created on first use)."""

    def __init__(self, db: str | Path, access: AccessStore | None = None):
        # not open_access: its one-time key migration may open the DuckDB file, which a CLI
        # command holds read-only and a running server holds for itself
        self.access = access or AccessStore(db)
        con = self.access.connect()
        try:
            con.executescript(_SCHEMA)
        finally:
            con.close()

    def all(self) -> dict[str, dict[str, Any]]:
        """Every case, by master ID."""
        rows = self.access.query(f"SELECT {', '.join(CASE_FIELDS)} FROM unregistered_cases")
        return {r[0]: dict(zip(CASE_FIELDS, r, strict=True)) for r in rows}

    def get(self, entity_id: str) -> dict[str, Any] | None:
        rows = self.access.query(f"SELECT {', '.join(CASE_FIELDS)} FROM unregistered_cases WHERE entity_id = ?",
                                 [entity_id])
        return dict(zip(CASE_FIELDS, rows[0], strict=True)) if rows else None

    def history(self, entity_id: str) -> list[dict[str, Any]]:
        """Every update of one case, oldest first."""
        rows = self.access.query(
            f"SELECT {', '.join(HISTORY_FIELDS)} FROM unregistered_case_history WHERE entity_id = ? ORDER BY change_id",
            [entity_id])
        return [dict(zip(HISTORY_FIELDS, r, strict=True)) for r in rows]

    def record(self, entity_id: str, change: Change, *, fingerprint: str | None, score: float | None,
               key_id: str | None, department: str | None) -> dict[str, Any]:
        """Apply `change` to the case (creating it as 待核查), append it to the history; the new state.

        `fingerprint` and `score` are the case's facts now; they are kept with a new status (the
        facts that status was decided on), else the recorded ones stay."""
        change.check()
        now = datetime.now(UTC).isoformat(timespec="seconds")
        con = self.access.connect()
        try:
            with con:
                con.execute("BEGIN IMMEDIATE")
                old = _row(con, entity_id) or {"status": OPEN, "assignee": None, "note": None, "reason": None,
                                               "fingerprint": fingerprint, "score": score}
                new = dict(old)
                if change.status is not None:
                    new.update(status=change.status, fingerprint=fingerprint or old["fingerprint"],
                               score=score if score is not None else old["score"])
                    # a reason belongs to the outcome it explains
                    new["reason"] = (change.reason or "").strip() or None
                elif change.reason is not None:
                    new["reason"] = change.reason.strip() or None
                if new["status"] == FALSE_ALARM and not new["reason"]:
                    raise InputError(f"reason: a case marked {FALSE_ALARM} needs the reason it is one")
                for name in ("assignee", "note"):
                    value = getattr(change, name)
                    if value is not None:
                        new[name] = value.strip() or None
                new.update(entity_id=entity_id, updated_at=now, key_id=key_id, department=department)
                con.execute(f"INSERT OR REPLACE INTO unregistered_cases ({', '.join(CASE_FIELDS)}) "
                            f"VALUES ({', '.join('?' * len(CASE_FIELDS))})", [new[f] for f in CASE_FIELDS])
                con.execute(
                    "INSERT INTO unregistered_case_history (entity_id, changed_at, key_id, department, status, "
                    "assignee, note, reason, fingerprint, score) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [entity_id, now, key_id, department, change.status, change.assignee, change.note,
                     change.reason, new["fingerprint"], new["score"]])
        finally:
            con.close()
        return new


def _row(con: sqlite3.Connection, entity_id: str) -> dict[str, Any] | None:
    rows = con.execute(f"SELECT {', '.join(CASE_FIELDS)} FROM unregistered_cases WHERE entity_id = ?",
                       [entity_id]).fetchall()
    return dict(zip(CASE_FIELDS, rows[0], strict=True)) if rows else None
