"""Fixtures for the API tests: one small master store per session, copied per test module."""

from __future__ import annotations

import logging
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lookup"))
from lookup_data import Built, build_store  # noqa: E402

from resolver.access.access_store import open_access  # noqa: E402
from resolver.access.keys import create_key, revoke_key  # noqa: E402


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    logging.getLogger("splink").setLevel(logging.ERROR)
    return build_store(tmp_path_factory.mktemp("master"))


@dataclass
class Keys:
    reader: str  # enterprise:read, person:read (masked)
    pii: str  # person:read, person:pii, enterprise:read, enterprise:pii
    writer: str  # enterprise:read, records:write; department tax, so it writes source tax
    inspector: str  # unregistered:read
    police_only: str  # person:read only
    revoked: str


def make_keys(path: Path) -> Keys:
    access = open_access(path)
    keys = Keys(
        reader=create_key(access, "人社", "enterprise:read,person:read")[1],
        pii=create_key(access, "公安", "person:read,person:pii,enterprise:read,enterprise:pii")[1],
        writer=create_key(access, "tax", "enterprise:read,records:write")[1],  # writes source tax (its name)
        inspector=create_key(access, "税务稽查", "unregistered:read")[1],
        police_only=create_key(access, "民政", "person:read")[1],
        revoked="",
    )
    key_id, keys.revoked = create_key(access, "统计", "enterprise:read")
    revoke_key(access, key_id)
    return keys


@pytest.fixture
def store_copy(built: Built, tmp_path: Path) -> Iterator[Path]:
    target = tmp_path / "master.duckdb"
    shutil.copy(built.path, target)
    yield target


@pytest.fixture(scope="module")
def module_store(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the built store shared by one test module (tests there may add to it)."""
    target = tmp_path_factory.mktemp("module") / "master.duckdb"
    shutil.copy(built.path, target)
    return target


def header(key: str) -> dict[str, str]:
    return {"X-API-Key": key}
