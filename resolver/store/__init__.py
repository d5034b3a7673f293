"""The master store: source records, entities with stable master IDs, golden records, history."""

from resolver.store.store import IngestCounts, Store, open_store

__all__ = ["IngestCounts", "Store", "open_store"]
