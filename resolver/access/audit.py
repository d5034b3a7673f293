"""The audit log: one row per API call, written before the answer leaves the server.

The row names the key, its department, the endpoint, a fingerprint of the query (SHA-256
of its normalised form, so the log proves what was asked without storing personal data),
the master IDs returned and the HTTP status. There is no switch to turn it off.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from typing import Any

from resolver.store import Store


def _normalise(value: Any) -> Any:
    if isinstance(value, str):
        return unicodedata.normalize("NFKC", value).strip().upper()
    if isinstance(value, dict):
        return {str(k): _normalise(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_normalise(v) for v in value]
    return value


def query_fingerprint(endpoint: str, query: Any) -> str:
    """sha256 of the endpoint and the normalised query (NFKC, trimmed, upper-case, keys sorted)."""
    text = json.dumps([endpoint, _normalise(query)], ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def write_audit(store: Store, *, key_id: str | None, department: str | None, endpoint: str,
                query: Any, returned_ids: list[str], status: int) -> None:
    """Append one audit row. Raises if the store cannot take it (the caller must then refuse to answer)."""
    store.cursor().execute(
        "INSERT INTO audit_log (logged_at, key_id, department, endpoint, query_fingerprint, "
        "returned_ids, status) VALUES (now(), ?, ?, ?, ?, ?, ?)",
        [key_id, department, endpoint, query_fingerprint(endpoint, query),
         ",".join(dict.fromkeys(returned_ids)), int(status)])


def read_audit(store: Store, limit: int = 100) -> list[dict[str, Any]]:
    """The latest audit rows, newest first."""
    cur = store.cursor().execute(
        "SELECT audit_id, logged_at, key_id, department, endpoint, query_fingerprint, returned_ids, status "
        "FROM audit_log ORDER BY audit_id DESC LIMIT ?", [int(limit)])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
