"""Keys and headers the API tests share (imported by name: every test folder has a conftest)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from resolver.access.access_store import open_access
from resolver.access.keys import create_key, revoke_key


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


def header(key: str) -> dict[str, str]:
    return {"X-API-Key": key}
