"""Column lists of standardized frames (see docs/columns.md): a domain's schema says them.

`DomainSchema.columns()` (resolver.domains) is the list for any domain; the upper-case names
below are the reference domains' lists, read from their schemas when first asked for, kept
for the callers and tests that name them.
"""

from __future__ import annotations

from typing import Any

from resolver.domains import ADDRESS_PARTS, KEY_COLUMNS, load_schema

_BY_DOMAIN = {"ENTERPRISE_COLUMNS": "enterprise", "PERSON_COLUMNS": "person"}


def __getattr__(name: str) -> Any:
    if name in _BY_DOMAIN:
        return load_schema(_BY_DOMAIN[name]).columns()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["ADDRESS_PARTS", "KEY_COLUMNS"]
