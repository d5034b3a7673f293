"""Code lists: a field of type `code` reads its raw words into one of the schema's `values`.

A list whose words departments write in their own vocabulary has a normalizer here, keyed on
its allowed values (so any field declaring that list gets it); any other list is matched as
cleaned text (resolver.standardize.generic.clean_code).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial

from resolver.standardize import generic
from resolver.standardize.dates import STATUSES, normalize_status

# Allowed values -> the normalizer that knows the words departments use for them.
KNOWN: dict[frozenset[str], Callable[[str], str | None]] = {
    STATUSES: normalize_status,  # 存续/在业/注销/吊销/迁出/非正常 … (business registration status)
}


def normalizer(values: Iterable[str]) -> Callable[[str], str | None]:
    """The per-value normalizer of a code list with these allowed ``values`` (none: any text)."""
    allowed = frozenset(values)
    if allowed in KNOWN:
        return KNOWN[allowed]
    if not allowed:
        return generic.clean_code
    return partial(generic.clean_code, allowed=frozenset(filter(None, map(generic.clean_text, allowed))))
