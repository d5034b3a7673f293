"""The serving documents of entities as the last commit left them, given by a writer that holds
them in memory (a server's resolver.lookup.doc_cache) for the write it is about to make: its
golden records (resolver.store.golden) and documents (resolver.store.docs) then take the old
golden values, conflicts and members of the entities they rewrite from here instead of reading
the store's tables for them (scans at 1M records: ~0.25 s for the golden values, ~0.1-0.3 s for
the members' rows). Set per thread (`documents_before`); read nowhere else."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import orjson

# An entity's document (JSON bytes) as the last commit left it, None when it has none.
Documents = Callable[[str], bytes | None]


class Before:
    """The documents of one write, each parsed once (golden records and documents both read them)."""

    def __init__(self, documents: Documents):
        self._documents = documents
        self._parsed: dict[str, dict[str, Any] | None] = {}

    def get(self, entity_id: str) -> dict[str, Any] | None:
        if entity_id not in self._parsed:
            text = self._documents(entity_id)
            self._parsed[entity_id] = None if text is None else orjson.loads(text)
        return self._parsed[entity_id]


_before: ContextVar[Before | None] = ContextVar("documents_before", default=None)


@contextmanager
def documents_before(documents: Documents) -> Iterator[None]:
    """While inside, the incremental writes of this thread read old golden values, conflicts and
    members from `documents`, which must be those of the store as each write's transaction begins."""
    token = _before.set(Before(documents))
    try:
        yield
    finally:
        _before.reset(token)


def current() -> Before | None:
    """The documents set for this thread's write, or None."""
    return _before.get()
