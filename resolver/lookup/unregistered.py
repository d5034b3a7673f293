"""A page of the inspector's 漏管户 list (resolver.unregistered), JSON-ready."""

from __future__ import annotations

from typing import Any

from resolver.access.masking import mask_fields
from resolver.lookup.entity import json_value
from resolver.unregistered import find_unregistered
from resolver.unregistered.rules import default_path


def list_domain() -> str:
    """The domain the 漏管户 list is about: the one whose rules folder has the rule file."""
    return default_path().parent.name


def unregistered_page(store: Any, *, lists: list[str], district: str | None, industry: str | None,
                      since: str | None, as_of: str | None, offset: int, limit: int,
                      unmasked: bool = False) -> dict[str, Any]:
    """Rows `offset`..`offset+limit` of the filtered list, with the total for paging; personal
    fields masked as everywhere unless `unmasked` (the caller holds the list domain's pii scope)."""
    frame = find_unregistered(store, as_of=as_of, lists=tuple(lists), district=district,
                              industry=industry, since=since)
    rows = frame.iloc[offset:offset + limit].to_dict("records")
    domain = list_domain()
    items = [mask_fields(domain, {k: json_value(v) for k, v in row.items()}, unmasked) for row in rows]
    return {"total": len(frame), "offset": offset, "limit": limit, "items": items}
