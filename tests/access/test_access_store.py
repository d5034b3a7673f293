"""The access store without HTTP: keys with departments, sources and limits; the audit chain and
its export; the server secret; migration of keys and audit rows from an old DuckDB store."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from resolver.access.access_store import SECRET_ENV, access_path, open_access, secret_path
from resolver.access.audit import export_audit, iter_audit, query_fingerprint, write_audit
from resolver.access.keys import (
    AuthenticationError,
    PermissionDeniedError,
    authenticate,
    create_key,
    list_keys,
    require_source,
)
from resolver.access.limits import RateLimitedError, RateLimits
from resolver.errors import ResolverError
from resolver.store import open_store

CLI = [sys.executable, "-m", "resolver"]
ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}


def _calls(access, n, **extra):
    for i in range(n):
        write_audit(access, key_id="k" * 16, department="人社", endpoint="GET /v1/{domain}/{entity_id}",
                    query={"entity_id": f"E{i:09d}"}, returned_ids=[f"E{i:09d}"], status=200,
                    client="127.0.0.1", **extra)


def test_a_key_with_a_no_break_space_or_any_stray_character_is_refused(tmp_path):
    access = open_access(tmp_path / "m.duckdb")
    _, key = create_key(access, "公安", "person:read")
    assert authenticate(access, key).department == "公安"
    for bad in (key + "\u00a0", key + "Â\u00a0", "\u00a0" + key, key + "\u200b", key + " "):
        with pytest.raises(AuthenticationError, match="malformed"):
            authenticate(access, bad)


def test_sources_default_to_the_department_of_the_same_name_and_bind_writes(tmp_path):
    access = open_access(tmp_path / "m.duckdb")
    tax = authenticate(access, create_key(access, "tax", "records:write")[1])
    quality_bureau = authenticate(access, create_key(access, "质监", "records:write")[1])
    both = authenticate(access, create_key(access, "市场监管", "records:write", sources="commerce,quality")[1])
    assert tax.sources == {"tax"} and quality_bureau.sources == set() and both.sources == {"commerce", "quality"}
    require_source(tax, "tax")
    with pytest.raises(PermissionDeniedError, match="may not write source 'tax'"):
        require_source(both, "tax")
    with pytest.raises(ResolverError, match="unknown source"):
        create_key(access, "x", "records:write", sources="taxes")
    assert {k["sources"] for k in list_keys(access)} == {"tax", "", "commerce,quality"}


def test_token_bucket_per_key_with_retry_after_and_key_overrides(tmp_path):
    access = open_access(tmp_path / "m.duckdb")
    plain = authenticate(access, create_key(access, "人社", "person:read")[1])
    free = authenticate(access, create_key(access, "公安", "person:read", rate_limit=0, match_rate_limit=0)[1])
    now = [100.0]
    limits = RateLimits(rate_limit=100, match_rate_limit=10, clock=lambda: now[0])
    for _ in range(10):
        limits.take(plain, match=True)
    with pytest.raises(RateLimitedError) as refused:
        limits.take(plain, match=True)
    assert 0 < refused.value.retry_after <= 0.1
    limits.take(plain)  # other calls still pass: 11 of 100
    now[0] += 0.101  # one match token back
    limits.take(plain, match=True)
    for _ in range(500):
        limits.take(free, match=True)


def test_fingerprints_are_keyed_and_the_secret_lives_outside_both_stores(tmp_path, monkeypatch):
    monkeypatch.delenv(SECRET_ENV, raising=False)
    db = tmp_path / "m.duckdb"
    access = open_access(db)
    _calls(access, 1)
    secret_file = secret_path(db)
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    row = next(iter_audit(access))
    plain = hashlib.sha256(json.dumps(["GET /v1/{domain}/{entity_id}", {"entity_id": "E000000000"}],
                                      ensure_ascii=False, sort_keys=True).encode()).hexdigest()
    assert row["query_fingerprint"] != plain
    assert row["query_fingerprint"] == query_fingerprint(access.secret, row["endpoint"], {"entity_id": "e000000000 "})
    assert secret_file.read_text().strip().encode() not in access_path(db).read_bytes()
    monkeypatch.setenv(SECRET_ENV, "ab" * 32)  # a vault's secret instead of the file, for a new store
    assert open_access(tmp_path / "other.duckdb").secret == bytes.fromhex("ab" * 32)
    assert not secret_path(tmp_path / "other.duckdb").exists()


def _tamper(db: Path, sql: str) -> None:
    import sqlite3

    con = sqlite3.connect(access_path(db))
    con.execute(sql)
    con.commit()
    con.close()


@pytest.mark.parametrize("tampering", [
    "UPDATE audit_log SET status = 404 WHERE audit_id = 3",
    "UPDATE audit_log SET key_id = NULL WHERE audit_id = 5",
    "DELETE FROM audit_log WHERE audit_id = 4",
])
def test_audit_export_verifies_the_chain_and_names_the_tampered_row(tmp_path, tampering):
    db = tmp_path / "m.duckdb"
    access = open_access(db)
    _calls(access, 6)
    verified, written, _, broken = export_audit(access, tmp_path / "ok.csv")
    assert (verified, written, broken) == (6, 6, None)
    with open(tmp_path / "ok.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["audit_id"] for r in rows] == ["1", "2", "3", "4", "5", "6"] and rows[0]["client"] == "127.0.0.1"
    _tamper(db, tampering)
    result = subprocess.run([*CLI, "audit", "export", "--db", str(db), "--out", str(tmp_path / "bad.jsonl")],
                            capture_output=True, text=True, env=ENV)
    assert result.returncode == 1
    assert "audit chain broken at row" in result.stderr and "Traceback" not in result.stderr
    assert (tmp_path / "bad.jsonl").exists()  # written all the same: it is evidence


def test_audit_export_since_and_cli_success(tmp_path):
    db = tmp_path / "m.duckdb"
    access = open_access(db)
    _calls(access, 2, logged_at="2026-01-01T10:00:00.000000+00:00")
    _calls(access, 3, logged_at="2026-03-01T10:00:00.000000+00:00")
    out = tmp_path / "since.jsonl"
    result = subprocess.run([*CLI, "audit", "export", "--db", str(db), "--since", "2026-02-01", "--out", str(out)],
                            capture_output=True, text=True, env=ENV)
    assert result.returncode == 0, result.stderr
    assert "wrote 3 of 5" in result.stdout and "hash chain verified: 5 rows" in result.stdout
    assert [json.loads(line)["logged_at"][:7] for line in out.read_text().splitlines()] == ["2026-03"] * 3


def _store_before_request_ids(db: Path) -> None:
    """An access store as written before rows carried a request ID: the audit table without the
    column, three rows chained over their eight values (the HMAC computed here, as it was)."""
    import hmac
    import sqlite3

    secret = open_access(db).secret  # the file, the secret and its check
    con = sqlite3.connect(access_path(db))
    con.execute("DROP TABLE audit_log")
    con.execute("CREATE TABLE audit_log (audit_id INTEGER PRIMARY KEY, logged_at TEXT NOT NULL, key_id TEXT, "
                "department TEXT, endpoint TEXT NOT NULL, query_fingerprint TEXT NOT NULL, returned_ids TEXT NOT NULL, "
                "status INTEGER NOT NULL, client TEXT, prev_hash TEXT NOT NULL, row_hash TEXT NOT NULL)")
    prev = "0" * 64
    for i in (1, 2, 3):
        row = (f"2026-01-0{i}T10:00:00+00:00", "k" * 16, "人社", "GET /v1/{domain}/{entity_id}", "f" * 64,
               f"E{i:09d}", 200, "127.0.0.1")
        text = json.dumps([i, *row], ensure_ascii=True, separators=(",", ":"))
        link = hmac.new(secret, (prev + text).encode("ascii"), hashlib.sha256).hexdigest()
        con.execute("INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", (i, *row, prev, link))
        prev = link
    con.commit()
    con.close()


@pytest.mark.parametrize("tampering", [
    None,
    "UPDATE audit_log SET request_id = 'req-x' WHERE audit_id = 2",  # an old row given an ID
    "UPDATE audit_log SET request_id = NULL WHERE audit_id = 4",  # a new row's ID removed
    "UPDATE audit_log SET request_id = 'req-2' WHERE audit_id = 4",  # … or changed
])
def test_rows_carry_their_request_id_and_an_old_log_gains_the_column(tmp_path, tampering):
    db = tmp_path / "m.duckdb"
    _store_before_request_ids(db)
    access = open_access(db)
    _calls(access, 1, request_id="req-1")
    _calls(access, 1)  # the CLI's rows have none
    if tampering:
        _tamper(db, tampering)
    verified, written, _, broken = export_audit(access, tmp_path / "audit.csv")
    with open(tmp_path / "audit.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert (verified, written) == (5, 5)
    if tampering is None:
        assert broken is None
        assert [r["request_id"] for r in rows] == ["", "", "", "req-1", ""]
    else:
        assert broken is not None and broken.startswith(f"row {tampering[-1]}: its hash does not match"), broken


def test_keys_and_audit_rows_of_an_old_duckdb_store_move_to_the_access_store(tmp_path):
    db = tmp_path / "old.duckdb"
    store = open_store(db)
    salt, secret = "ab" * 16, "S" * 43
    store.cursor().execute("INSERT INTO api_keys VALUES ('0123456789abcdef', ?, '公安', 'person:read', now(), NULL)",
                      [f"{salt}${hashlib.sha256((salt + secret).encode()).hexdigest()}"])
    store.cursor().execute("INSERT INTO audit_log (logged_at, key_id, department, endpoint, query_fingerprint, "
                      "returned_ids, status) VALUES (now(), '0123456789abcdef', '公安', "
                      "'GET /v1/person/by-id/33010619791005148X\r\n', ?, 'P000000001', 200)", ["f" * 64])
    store.close()
    access = open_access(db)
    assert authenticate(access, f"rk_0123456789abcdef_{secret}").department == "公安"
    (row,) = list(iter_audit(access))
    assert row["endpoint"] == "GET /v1/person/{…}/{…}" and row["query_fingerprint"] != "f" * 64
    assert export_audit(access, tmp_path / "a.csv")[3] is None
    store = open_store(db)
    try:  # nothing left behind in DuckDB, where the old unkeyed fingerprints were
        assert store.cursor().execute("SELECT (SELECT count(*) FROM api_keys) + (SELECT count(*) FROM audit_log)"
                                 ).fetchall()[0][0] == 0
    finally:
        store.close()
    assert len(list_keys(open_access(db))) == 1  # migrated once


def test_a_lost_or_different_secret_is_refused_not_silently_replaced(tmp_path, monkeypatch):
    monkeypatch.delenv(SECRET_ENV, raising=False)
    db = tmp_path / "m.duckdb"
    _calls(open_access(db), 2)
    secret_path(db).unlink()
    with pytest.raises(ResolverError, match="not the one"):
        _calls(open_access(db), 1)
    monkeypatch.setenv(SECRET_ENV, "cd" * 32)
    with pytest.raises(ResolverError, match="not the one"):
        _calls(open_access(db), 1)
