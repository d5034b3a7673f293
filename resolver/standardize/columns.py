"""Column lists of standardized frames (see docs/columns.md): a domain's schema says them.

`DomainSchema.columns()` (resolver.domains) is the list for any domain. `<DOMAIN>_COLUMNS`
(the domain's name in capitals) reads it from that domain's schema when first asked for, for
the callers and tests that name a domain's list.
"""

from __future__ import annotations

from typing import Any

from resolver.domains import ADDRESS_PARTS, KEY_COLUMNS, domain_names, load_schema


def __getattr__(name: str) -> Any:
    domain = name.removesuffix("_COLUMNS").lower()
    if name.endswith("_COLUMNS") and domain in domain_names():
        return load_schema(domain).columns()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["ADDRESS_PARTS", "KEY_COLUMNS"]
