"""A page of the inspector's 漏管户 list (resolver.unregistered), JSON-ready, from a cache.

Computing the list is a scan of the list domain's records and membership (10 s at 1M
records); filtering and paging it is not. `UnregisteredCache` keeps the whole list (every
sub-list, unfiltered) per (version, as_of, rule files). The version counts the commits that
changed the list domain, made by any Store of the file in this process (an ingest, a POST
/records, a resolution, a newly published model; the server is the store's one writer), as
resolver.store.commits reports them; so the next call after such a commit computes the list
again, and so do an edited rule file or mapping and a new day (as_of defaults to today). A
write to another domain leaves the list alone. Filters and pages are cut from the cached
list per call.

The rule file and the mappings take ~40 ms to read: they are read again only when one of
their files changed (size or time), checked at most once a second.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pandas as pd

from resolver.access.masking import mask_fields
from resolver.lookup.entity import json_value
from resolver.paths import rules_dir
from resolver.store import commits
from resolver.store.reads import Reader
from resolver.unregistered.detect import as_of_date, check_lists, classify_all, select
from resolver.unregistered.roles import Departments, load_departments
from resolver.unregistered.rules import UnregisteredRules, default_path, load_rules

RULES_RECHECK_SECONDS = 1.0


def list_domain() -> str:
    """The domain the 漏管户 list is about: the one whose rules folder has the rule file."""
    return default_path().parent.name


def rules_files() -> tuple[tuple[str, int, int], ...]:
    """(path, mtime, size) of the files the list's rules are read from: the list domain's folder
    (rule file, schema) and the mappings."""
    paths = [*default_path().parent.glob("*.yaml"), *(rules_dir() / "sources").glob("*.yaml")]
    out = []
    for path in sorted(paths):
        try:
            st = path.stat()
        except OSError:  # removed meanwhile: the load says so
            continue
        out.append((str(path), st.st_mtime_ns, st.st_size))
    return tuple(out)


class UnregisteredCache:
    """The last `size` computed lists of the store file at `path`, each with what it was computed
    from. The store is given per call (a Store of that file, whichever the server holds now).
    `close()` stops listening to the file's commits."""

    def __init__(self, path: Any, size: int = 4):
        self.size = size
        self.version = 0  # commits that changed the list domain so far
        self._stop = commits.listen(path, self._on_commit)
        self._entries: list[tuple[tuple[Any, ...], pd.DataFrame]] = []
        self._lock = threading.Lock()  # one computation at a time; callers of the same key wait for it
        self._rules: tuple[tuple[tuple[str, int, int], ...], UnregisteredRules, Departments] | None = None
        self._rules_checked = 0.0
        self.hits = 0
        self.misses = 0

    def close(self) -> None:
        self._stop()

    def _on_commit(self, changes: list[commits.Change], reader: Reader) -> commits.Apply | None:
        """Before a commit: if it changes the list domain, count it once it is committed."""
        domain = list_domain()
        return self._changed if any(c.domain == domain for c in changes) else None

    def _changed(self) -> None:
        # Runs with the file's gate held exclusively, one commit at a time: no lock (self._lock
        # is held through a computation, seconds at 1M, which the commit must not wait for).
        # A computation under way keeps the version it read, so its result is never taken as newer.
        self.version += 1

    def rules(self) -> tuple[tuple[tuple[str, int, int], ...], UnregisteredRules, Departments]:
        """(the rule files' signature, the rules, the departments), read again when a file changed."""
        now = time.monotonic()
        if self._rules is None or now - self._rules_checked >= RULES_RECHECK_SECONDS:
            files = rules_files()
            if self._rules is None or self._rules[0] != files:
                rules = load_rules()
                self._rules = (files, rules, load_departments(rules.domain))
            self._rules_checked = now
        return self._rules

    def frame(self, store: Any, as_of: str | None) -> pd.DataFrame:
        """Every row of every list on `as_of` (default today), computed at most once per key."""
        day = as_of_date(as_of)
        with self._lock:
            files, rules, departments = self.rules()
            # read under the lock: a commit after this read makes a later call compute again
            key = (self.version, day, files)
            for have, frame in self._entries:
                if have == key:
                    self.hits += 1
                    return frame
            self.misses += 1
            frame = classify_all(store, day, rules, departments)
            # an entry of an earlier version can never match again
            self._entries = [(key, frame), *[e for e in self._entries if e[0][0] == key[0]]][:self.size]
            return frame


def unregistered_page(store: Any, *, lists: list[str], district: str | None, industry: str | None,
                      since: str | None, as_of: str | None, offset: int, limit: int,
                      unmasked: bool = False, cache: UnregisteredCache | None = None) -> dict[str, Any]:
    """Rows `offset`..`offset+limit` of the filtered list, with the total for paging; personal
    fields masked as everywhere unless `unmasked` (the caller holds the list domain's pii scope).
    With `cache`, the list comes from it (computed only when the store or the rules changed)."""
    check_lists(lists)
    own = cache is None
    cache = cache or UnregisteredCache(store.path, size=1)
    try:
        frame = select(cache.frame(store, as_of), lists, district=district, industry=industry, since=since)
    finally:
        if own:
            cache.close()
    rows = frame.iloc[offset:offset + limit].to_dict("records")
    domain = list_domain()
    items = [mask_fields(domain, {k: json_value(v) for k, v in row.items()}, unmasked) for row in rows]
    return {"total": len(frame), "offset": offset, "limit": limit, "items": items}
