"""A copy of the session's demo store (tests/conftest.py), its unmasked serving documents read
before the server starts (the attacker's targets), keys, and a real uvicorn server started
through `resolver serve`."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest

from fixtures.live_server import Server
from resolver.access.access_store import open_access
from resolver.access.keys import create_key
from resolver.linking.model import LinkModel, published_model
from resolver.store import open_store
from resolver.store.docs import unpack


@dataclass
class Sample:
    db: Path
    docs: dict[str, dict[str, Any]]  # master ID → unmasked serving document
    domain_of: dict[str, str]
    models: dict[str, LinkModel]  # domain → published model


@dataclass
class Live:
    url: str
    reader: str  # enterprise:read, person:read — no pii scope
    inspector: str  # unregistered:read
    pii: str  # both domains with pii
    writer: str  # enterprise:read, records:write (department tax, writes source tax)
    sample: Sample

    def client(self, key: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"X-API-Key": key}, timeout=30)


@pytest.fixture(scope="session")
def sample(demo_copy: Callable[[str], Path]) -> Sample:
    db = demo_copy("sample")  # the server below writes to it (keys, audit rows, records)
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("SELECT entity_id, domain, doc FROM serving_docs").fetchall()
    finally:
        con.close()
    store = open_store(db)
    try:
        models = {d: published_model(store, d) for d in ("enterprise", "person")}
    finally:
        store.close()
    return Sample(db, {e: json.loads(unpack(d)) for e, _, d in rows}, {e: dom for e, dom, _ in rows}, models)


@pytest.fixture(scope="session")
def live(sample: Sample) -> Iterator[Live]:
    # unlimited keys (rate_limit 0): the suite asks thousands of questions on purpose
    access = open_access(sample.db)

    def key(department: str, scopes: str, sources: str | None = None) -> str:
        return create_key(access, department, scopes, sources=sources, rate_limit=0, match_rate_limit=0)[1]
    reader = key("人社", "enterprise:read,person:read")
    inspector = key("税务稽查", "unregistered:read")
    pii = key("公安", "enterprise:read,enterprise:pii,person:read,person:pii")
    writer = key("tax", "enterprise:read,records:write", "tax")
    with Server(sample.db, timeout=120) as server:
        yield Live(server.url, reader, inspector, pii, writer, sample)
