"""One domain's serving documents (resolver.store.docs) held in memory, so a look-up by master
ID reads no DuckDB at all.

A point read of one document costs ~0.7 ms alone and 1–2 ms with four threads reading at
once; from memory it is a dict look-up, a slice of an Arrow buffer and unpacking it (LZ4,
~3 µs). The documents are held packed as stored (resolver.store.docs.pack), 2.8× smaller than
their text.

The server's service (resolver.lookup.service) keeps one per domain current with every commit
made in the process: documents an incremental write rewrote are read again into a small
overlay that takes precedence over the bulk arrays (`fetch` before the commit, `update` after
it); a whole-domain change loads a new cache, which replaces this one.

With RESOLVER_DOC_CACHE=off the server holds none (`StoredDocs`) and a look-up by ID is one
indexed point read of the store instead.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from resolver.store.docs import unpack
from resolver.store.reads import Reader

if TYPE_CHECKING:
    from resolver.store import Store

Fresh = dict[str, tuple[str, bytes] | None]  # master ID → (domain, document), None: gone


class DocCache:
    """The serving documents of one domain, read through `reader` now."""

    def __init__(self, reader: Reader, domain: str):
        self.domain = domain
        self._chunks: list[tuple[np.ndarray, memoryview]] = []  # (offsets, packed documents) per Arrow batch
        self._where: dict[str, int] = {}  # master ID → chunk << 32 | row
        self._overlay: Fresh = {}
        # streamed in batches: one big fetch kept three copies at once
        for batch in reader.doc_batches(65536, domain):
            n = len(self._chunks) << 32
            self._where.update((e, n | i) for i, e in enumerate(batch.column(0).to_pylist()))
            self._chunks.append(_buffers(batch.column(2)))

    def get(self, entity_id: str) -> tuple[str, bytes] | None:
        """(domain, JSON document as UTF-8 bytes) of one master ID, or None."""
        if entity_id in self._overlay:
            return self._overlay[entity_id]
        at = self._where.get(entity_id)
        if at is None:
            return None
        offsets, data = self._chunks[at >> 32]
        row = at & 0xFFFFFFFF
        # bytes, not str: no decoding here and none in orjson, which parses UTF-8 as it is
        return self.domain, unpack(data[offsets[row]:offsets[row + 1]])

    @staticmethod
    def fetch(reader: Reader, entity_ids: set[str]) -> Fresh:
        """The documents of `entity_ids` as `reader` sees them (the writing transaction's)."""
        return reader.written_docs(sorted(entity_ids))

    def update(self, fresh: Fresh) -> None:
        """Take documents rewritten by a committed write (a dict update: atomic for each reader)."""
        self._overlay.update(fresh)


class StoredDocs(DocCache):
    """DocCache's reads from the store itself: nothing held in memory, ~0.7 ms a look-up."""

    def __init__(self, store: Store, domain: str):  # noqa: D107 - no documents are loaded
        self.domain = domain
        self._store = store

    def get(self, entity_id: str) -> tuple[str, bytes] | None:
        with self._store.reader() as reader:
            return reader.doc(entity_id)

    def update(self, fresh: Fresh) -> None:
        """Nothing to take: once committed the store holds the rewritten documents."""


def load_docs(store: Store, reader: Reader, domain: str) -> DocCache:
    """The domain's documents in memory, or read from the store with RESOLVER_DOC_CACHE=off."""
    if os.environ.get("RESOLVER_DOC_CACHE", "").lower() in ("off", "0", "no", "false"):
        return StoredDocs(store, domain)
    return DocCache(reader, domain)


def _buffers(column: pa.Array) -> tuple[np.ndarray, memoryview]:
    """An Arrow binary column's offsets (from its first row) and its data buffer."""
    if column.null_count:
        raise ValueError("a serving document is NULL")
    _, offsets, data = column.buffers()
    kind = np.int64 if pa.types.is_large_binary(column.type) else np.int32
    return np.frombuffer(offsets, dtype=kind)[column.offset:column.offset + len(column) + 1], memoryview(data)
