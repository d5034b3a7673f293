"""Workbench sessions without HTTP: IDs only ever issued here, idle and absolute expiry, ending a
key's sessions, CSRF tokens per session, keys read again by ID (revocation, new scopes)."""

from __future__ import annotations

import pytest

from resolver.access.access_store import open_access
from resolver.access.keys import AuthenticationError, create_key, revoke_key
from resolver.access.sessions import SessionStore, csrf_ok, key_by_id


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_session_is_found_only_by_the_id_it_was_issued_with():
    store = SessionStore()
    sid, session = store.create("k1")
    assert store.get(sid) is session
    assert store.get(sid + "x") is None and store.get("") is None and store.get(None) is None
    other, _ = store.create("k1")
    assert other != sid and len(sid) >= 40  # 32 random bytes, URL-safe
    assert sid not in repr(store._sessions)  # kept only as its hash


def test_sessions_expire_when_idle_and_after_their_lifetime():
    clock = Clock()
    store = SessionStore(idle=60, lifetime=300, clock=clock)
    sid, _ = store.create("k1")
    for _ in range(4):  # used every 50 s: the idle clock restarts each time
        clock.now += 50
        assert store.get(sid) is not None
    clock.now += 61
    assert store.get(sid) is None
    sid, _ = store.create("k1")
    for _ in range(6):
        clock.now += 50
    assert store.get(sid) is None  # 300 s after creation, however busy


def test_ending_a_key_ends_only_its_sessions():
    store = SessionStore()
    a, _ = store.create("k1")
    b, _ = store.create("k2")
    store.end_key("k1")
    assert store.get(a) is None and store.get(b) is not None
    store.end(b)
    assert store.get(b) is None


def test_csrf_tokens_belong_to_their_session():
    store = SessionStore()
    _, one = store.create("k1")
    _, two = store.create("k1")
    assert csrf_ok(one, one.csrf) and not csrf_ok(one, two.csrf)
    assert not csrf_ok(one, "") and not csrf_ok(one, None) and not csrf_ok(one, one.csrf + "x")


def test_a_full_table_drops_the_oldest_sessions():
    clock = Clock()
    store = SessionStore(size=10, clock=clock)
    ids = []
    for _ in range(10):
        clock.now += 1
        ids.append(store.create("k")[0])
    newest = store.create("k")[0]
    assert store.get(ids[0]) is None and store.get(newest) is not None and len(store) <= 10


def test_keys_are_read_again_by_id(tmp_path):
    access = open_access(tmp_path / "m.duckdb")
    key_id, _ = create_key(access, "税务稽查", "unregistered:read")
    key = key_by_id(access, key_id)
    assert key.department == "税务稽查" and key.scopes == frozenset({"unregistered:read"})
    revoke_key(access, key_id)
    with pytest.raises(AuthenticationError, match="revoked"):
        key_by_id(access, key_id)
    with pytest.raises(AuthenticationError, match="unknown"):
        key_by_id(access, "0" * 16)
