"""The workbench's tests: a copy of the session's demo store (tests/conftest.py), keys for each
kind of user, and one real `resolver serve` for the folder."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from fixtures.live_server import Server
from resolver.access.access_store import open_access
from resolver.access.keys import create_key


@dataclass
class Keys:
    inspector: str  # enterprise:read, unregistered:read, unregistered:write
    steward: str  # enterprise:read, person:read, review:read, review:write
    reader: str  # enterprise:read (masked), nothing else
    pii: str  # enterprise:read, enterprise:pii
    person_only: str  # person:read
    list_reader: str  # unregistered:read only: may read the list, not record anything


@dataclass
class Served:
    url: str
    db: Path
    keys: Keys
    access_key_ids: dict[str, str]

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60, follow_redirects=False)


def make_keys(db: Path) -> tuple[Keys, dict[str, str]]:
    access = open_access(db)
    ids: dict[str, str] = {}

    def key(name: str, department: str, scopes: str) -> str:
        key_id, full = create_key(access, department, scopes, rate_limit=0, match_rate_limit=0)
        ids[name] = key_id
        return full
    keys = Keys(
        inspector=key("inspector", "税务稽查", "enterprise:read,unregistered:read,unregistered:write"),
        steward=key("steward", "数据管理", "enterprise:read,person:read,review:read,review:write"),
        reader=key("reader", "人社", "enterprise:read"),
        pii=key("pii", "公安", "enterprise:read,enterprise:pii"),
        person_only=key("person_only", "民政", "person:read"),
        list_reader=key("list_reader", "税务", "unregistered:read"),
    )
    return keys, ids


@pytest.fixture(scope="session")
def served(demo_copy: Callable[[str], Path]) -> Iterator[Served]:
    """A copy of the demo store served by `resolver serve`, one for the folder's modules (a server
    start is seconds): tests change it (cases, decisions, a resolve), so each reads what it
    compares against before it acts."""
    db = demo_copy("served")
    keys, ids = make_keys(db)
    with Server(db, timeout=120) as server:
        yield Served(server.url, db, keys, ids)
