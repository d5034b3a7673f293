"""A page of the inspector's 漏管户 list (resolver.unregistered), JSON-ready."""

from __future__ import annotations

import math
from typing import Any

from resolver.unregistered import find_unregistered


def _json(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return _json(value.item())
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    return value


def unregistered_page(store: Any, *, lists: list[str], district: str | None, industry: str | None,
                      since: str | None, as_of: str | None, offset: int, limit: int) -> dict[str, Any]:
    """Rows `offset`..`offset+limit` of the filtered list, with the total for paging."""
    frame = find_unregistered(store, as_of=as_of, lists=tuple(lists), district=district,
                              industry=industry, since=since)
    rows = frame.iloc[offset:offset + limit].to_dict("records")
    items = [{k: _json(v) for k, v in row.items()} for row in rows]
    return {"total": len(frame), "offset": offset, "limit": limit, "items": items}
