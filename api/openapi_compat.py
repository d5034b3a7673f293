"""What /openapi.json says in a form client generators read: pydantic writes a one-value
Literal as JSON Schema's `const`, which openapi-python-client (0.29) turns into a check that
rejects every other member of a union (`bool | Literal["review"]` then fails on `true`). The
same schema as a one-value `enum` generates a working parser; the two mean the same."""

from __future__ import annotations

from typing import Any


def consts_as_enums(node: Any) -> None:
    """Rewrite every `{"const": v}` in an OpenAPI document (in place) as `{"enum": [v]}`."""
    if isinstance(node, dict):
        if "const" in node and "enum" not in node:
            node["enum"] = [node.pop("const")]
        for value in node.values():
            consts_as_enums(value)
    elif isinstance(node, list):
        for value in node:
            consts_as_enums(value)
