"""Keys and headers the API tests share (imported by name: every test folder has a conftest)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from resolver.access.access_store import open_access
from resolver.access.keys import create_key, revoke_key
from resolver.store import open_store


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


@dataclass
class Ids:
    merged: str  # A: merged into `keeper`, which later split off `split_off`, which then merged into `last`
    keeper: str
    split_off: str
    last: str
    split: str  # D: its records went to `parts`, none kept its ID
    parts: list[str]


def resolve_enterprise(store, clusters: pd.DataFrame, version: str) -> None:
    store.save_resolution("enterprise", clusters[["unique_id", "cluster_id"]], None, version)


def retire_some(db: Path) -> Ids:
    """Three full resolutions: (1) A merges into B, D's two records go to E and F; (2) B splits
    one record off into a new entity N; (3) N merges into E."""
    store = open_store(db)
    try:
        clusters = store.membership("enterprise").rename(columns={"entity_id": "cluster_id"})
        sizes = clusters.groupby("cluster_id").size()
        big = sorted(sizes[sizes >= 3].index)
        two = sorted(sizes[sizes == 2].index)
        a, d, (b, e, f) = two[0], two[1], big[:3]
        clusters.loc[clusters["cluster_id"] == a, "cluster_id"] = b
        d1, d2 = clusters.loc[clusters["cluster_id"] == d, "unique_id"]
        clusters.loc[clusters["unique_id"] == d1, "cluster_id"] = e
        clusters.loc[clusters["unique_id"] == d2, "cluster_id"] = f
        resolve_enterprise(store, clusters, "v-merge")
        moved = clusters.loc[clusters["cluster_id"] == b, "unique_id"].iloc[0]
        clusters.loc[clusters["unique_id"] == moved, "cluster_id"] = "n"
        resolve_enterprise(store, clusters, "v-split")
        membership = store.membership("enterprise")
        n = membership.loc[membership["unique_id"] == moved, "entity_id"].iloc[0]
        clusters.loc[clusters["cluster_id"] == "n", "cluster_id"] = e
        resolve_enterprise(store, clusters, "v-chain")
    finally:
        store.close()
    return Ids(merged=a, keeper=b, split_off=n, last=e, split=d, parts=sorted([e, f]))
