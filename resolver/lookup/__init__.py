"""Look-ups over the master store: an entity by master ID, search by identifier or name,
match a record against the published model, and incremental ingest. Tested without HTTP."""

from resolver.lookup.entity import get_entity
from resolver.lookup.search import search

__all__ = ["get_entity", "search"]
