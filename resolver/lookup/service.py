"""The look-up engine one server holds: the store, its serving documents in memory
(resolver.lookup.doc_cache), the published models compiled for scoring with their blocking
indexes, a standardizer. Thread-safe: each thread keeps its own
store reader (resolver.store.reads; opening one per call costs a cursor); the column lists and the blocking
index (resolver.lookup.block_index) are built once per model version, not per request."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from resolver.access.masking import pii_scope, withhold_personal
from resolver.domains import domain_names, load_domains
from resolver.engine import Resolver
from resolver.errors import InputError, ModelMissingError, ResolverError
from resolver.lookup import queries
from resolver.lookup.block_index import BlockIndex
from resolver.lookup.doc_cache import DocCache
from resolver.lookup.entity import get_entity
from resolver.lookup.match import check_record, match_record
from resolver.lookup.one_record import Standardizer
from resolver.lookup.scoring import CompiledModel, compile_model
from resolver.store import Store
from resolver.store.reads import Reader
from resolver.store.store import records_table

MODEL_RECHECK_SECONDS = 10.0
# A value per field type that makes the standardizer load what that type needs (warm_up).
_SAMPLES = {"enterprise_name": "杭州华新科技有限公司", "address": "杭州市西湖区文三路1号",
            "person_name": "張偉", "date": "1990-01-02"}


class ModelUnavailableError(ResolverError):
    """No published model for the domain (train one first); matching cannot run (HTTP 503)."""


def check_published_models(db_path: str | Path) -> None:
    """Raise ModelUnavailableError, with the reason, when a domain's published model cannot be
    loaded (registered by a path that is gone): `serve` says so in one line before listening."""
    from resolver.store import open_store

    store = open_store(db_path)
    try:
        for domain in domain_names():
            if store.latest_model(domain) is not None:
                try:
                    Resolver(store, domain).model()
                except ModelMissingError as exc:
                    raise ModelUnavailableError(str(exc)) from exc
    finally:
        store.close()


class LookupService:
    def __init__(self, store: Store):
        self.store = store
        self.standardize = Standardizer()
        # every domain's schema as the server starts (an edit applies at the next start, as a
        # mapping's public_columns and the warm-up do); saves a file check per look-up by ID
        self.schemas = load_domains()
        self._models: dict[str, tuple[float, CompiledModel, BlockIndex]] = {}
        self._lock = threading.Lock()
        self._local = threading.local()
        self._columns: dict[str, frozenset[str]] = {}
        self.write_lock = threading.Lock()
        self.docs = DocCache(store)
        store.on_docs_changed(self.docs.changed)

    def reader(self) -> Reader:
        """This thread's reader of the store (created on first use)."""
        reader: Reader | None = getattr(self._local, "reader", None)
        if reader is None:
            reader = self._local.reader = self.store.reader()
        return reader

    def columns(self, domain: str) -> frozenset[str]:
        """Columns of the domain's records table (re-read after an ingest may have added some)."""
        have = self._columns.get(domain)
        if have is None:
            have = self._columns[domain] = frozenset(self.reader().table_columns(records_table(domain)))
        return have

    def forget_columns(self, domain: str) -> None:
        self._columns.pop(domain, None)

    def model(self, domain: str) -> tuple[CompiledModel, BlockIndex]:
        """The domain's latest published model, compiled, with the blocking index built for it;
        re-read when a newer model is registered."""
        queries.check_domain(domain)
        now = time.monotonic()
        cached = self._models.get(domain)
        if cached and now - cached[0] < MODEL_RECHECK_SECONDS:
            return cached[1], cached[2]
        latest = self.store.latest_model(domain)
        if latest is None:
            raise ModelUnavailableError(f"no published {domain} model: run `resolver train --domain {domain}`")
        version = latest[0]
        with self._lock:
            cached = self._models.get(domain)
            if cached and cached[1].version == version:
                compiled, index = cached[1], cached[2]
            else:
                try:
                    model = Resolver(self.store, domain).model(version)
                except ModelMissingError as exc:  # checked at start (warm_up); a 503, never a 404
                    raise ModelUnavailableError(str(exc)) from exc
                compiled = compile_model(model)
                index = BlockIndex(self.reader(), domain, model.blocking_keys, compiled.tf_columns,
                                   list(compiled.columns), set(self.columns(domain)))
            self._models[domain] = (now, compiled, index)
        return compiled, index

    def standardize_one(self, domain: str, record: dict[str, Any]) -> dict[str, Any]:
        return self.standardize.one(domain, {"source": "query", "source_record_id": "0", **record})

    def entity(self, domain: str, entity_id: str, *, unmasked: bool = False) -> dict[str, Any]:
        return get_entity(self.docs, domain, entity_id, unmasked=unmasked, schema=self.schemas.get(domain))

    def match(self, domain: str, record: dict[str, Any], *, top: int = 5, unmasked: bool = False
              ) -> dict[str, Any]:
        """Ranked candidate entities for a record given in canonical fields."""
        clean, withheld = withhold_personal(domain, check_record(domain, record), unmasked)
        if not clean:
            raise InputError(f"the record has only personal fields ({', '.join(withheld)}); matching on "
                             f"them needs the {pii_scope(domain)} scope")
        model, index = self.model(domain)
        row = self.standardize_one(domain, clean)
        ranked = match_record(self.docs, domain, row, model, index, top=max(1, min(top, 50)), unmasked=unmasked)
        flags = [f for f in (row.get("std_flags") or "").split(";") if f]
        return {"domain": domain, "model_version": model.version, "threshold": model.threshold,
                "query_flags": flags, "withheld_fields": withheld, "candidates": ranked, "masked": not unmasked}

    def warm_up(self) -> None:
        """Load the tokenizer and the published models before the first request. A model that is
        registered but cannot be loaded stops the start with its reason (ModelUnavailableError);
        a domain with no model yet is served without matching."""
        for domain, schema in load_domains().items():  # jieba for company names and addresses, OpenCC for people's
            sample = {f.name: _SAMPLES[f.type] for f in schema.fields.values() if f.type in _SAMPLES}
            if sample:
                self.standardize_one(domain, sample)
        for domain in domain_names():
            if self.store.latest_model(domain) is not None:
                self.model(domain)

