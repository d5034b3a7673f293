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

from resolver.paths import rules_dir
from resolver.store import commits
from resolver.store.reads import Reader
from resolver.unregistered.case_facts import case_frame
from resolver.unregistered.cases import CaseStore
from resolver.unregistered.detect import as_of_date
from resolver.unregistered.offices import TaxOffices, load_offices
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
        self._rules: tuple[tuple[tuple[str, int, int], ...], UnregisteredRules, Departments, TaxOffices] | None = None
        self._path = path
        self._cases: CaseStore | None = None
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

    @property
    def cases(self) -> CaseStore:
        """The case store of this store file (opened on first use)."""
        if self._cases is None:
            self._cases = CaseStore(self._path)
        return self._cases

    def rules(self) -> tuple[tuple[tuple[str, int, int], ...], UnregisteredRules, Departments, TaxOffices]:
        """(the rule files' signature, the rules, the departments, the tax offices), read again
        when a file changed."""
        now = time.monotonic()
        if self._rules is None or now - self._rules_checked >= RULES_RECHECK_SECONDS:
            files = rules_files()
            if self._rules is None or self._rules[0] != files:
                rules = load_rules()
                self._rules = (files, rules, load_departments(rules.domain), load_offices())
            self._rules_checked = now
        return self._rules

    def frame(self, store: Any, as_of: str | None) -> pd.DataFrame:
        """Every row of every list on `as_of` (default today) with its case facts
        (resolver.unregistered.case_facts), computed at most once per key."""
        day = as_of_date(as_of)
        with self._lock:
            files, rules, departments, offices = self.rules()
            # read under the lock: a commit after this read makes a later call compute again
            key = (self.version, day, files)
            for have, frame in self._entries:
                if have == key:
                    self.hits += 1
                    return frame
            self.misses += 1
            frame = case_frame(store, day, rules, departments, offices)
            # an entry of an earlier version can never match again
            self._entries = [(key, frame), *[e for e in self._entries if e[0][0] == key[0]]][:self.size]
            return frame


