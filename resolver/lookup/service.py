"""The look-up engine one server holds: the store, and per domain a *view* of it held in
memory (its serving documents, resolver.lookup.doc_cache; its published model compiled for
scoring with its blocking index, resolver.lookup.block_index), and a standardizer.

The views follow every commit made to the store file in this process, by whichever Store
object (the server's own, or a job's `open_store(db)`; resolver.store.commits). Before a write
commits, the service builds from the writing transaction what the write changes: a new view
for a whole-domain change (a full resolution, a new model version), or the documents and
index rows an incremental write touched. After the COMMIT, with the file's gate held
exclusively, it swaps the new view in with one assignment, or splices the rows in. A request
takes its domain's view once and uses it to the end; requests that read DuckDB or more than
one structure (search, match) hold the gate shared, so none sees half of a commit; a look-up
by ID reads one document and takes no gate. See docs/store.md, "Switching to a new master
while serving".

Thread-safe: a request takes its view once; what reads DuckDB opens a reader of its own.
Writers serialise on `write_lock` (POST /records, and the jobs the server runs for the CLI).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from resolver.access.masking import pii_scope, withhold_personal
from resolver.domains import domain_names, load_domains, load_schema
from resolver.engine import Resolver
from resolver.errors import InputError, ModelMissingError, NotFoundError, ResolverError
from resolver.linking.model import LinkModel, model_from_json
from resolver.linking.rules import BlockingKey
from resolver.lookup import history, queries
from resolver.lookup.block_index import BlockIndex
from resolver.lookup.doc_cache import DocCache, load_docs
from resolver.lookup.entity import check_master_id, get_entity, members_page
from resolver.lookup.match import check_record, match_record
from resolver.lookup.one_record import Standardizer
from resolver.lookup.reasons import no_entity
from resolver.lookup.scoring import CompiledModel, compile_model
from resolver.lookup.search import search
from resolver.store import Store, commits
from resolver.store.commits import Change
from resolver.store.reads import Reader
from resolver.store.store import records_table

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


@dataclass(frozen=True)
class View:
    """What one domain's requests read: its serving documents and, once a model is published,
    the model compiled with its blocking keys and index. Replaced whole by a switch."""

    docs: DocCache
    model: CompiledModel | None = None
    keys: tuple[BlockingKey, ...] = ()
    index: BlockIndex | None = None
    problem: str | None = None  # why the published model could not be loaded


class LookupService:
    def __init__(self, store: Store):
        """Load every domain's view. Call before anything else writes to the store (the server
        does, at start): a write committed during the load could be missed."""
        self.store = store
        self.standardize = Standardizer()
        # every domain's schema as the server starts (an edit applies at the next start, as a
        # mapping's public_columns and the warm-up do); saves a file check per look-up by ID
        self.schemas = load_domains()
        self._lock = threading.Lock()
        self.write_lock = threading.Lock()
        self.gate = commits.gate(store.path)
        with store.reader() as reader:
            self._views: dict[str, View] = {d: self._load(reader, d) for d in domain_names()}
        self._stop = commits.listen(store.path, self._on_commit)

    def close(self) -> None:
        """Stop following the store's commits."""
        self._stop()

    # -- views ----------------------------------------------------------------------------

    def view(self, domain: str) -> View:
        """The domain's current view: take it once per request and use it to the end."""
        found = self._views.get(domain)
        if found is None:
            queries.check_domain(domain)
            with self._lock:  # a domain whose rules appeared after the start: its documents, no model
                found = self._views.get(domain)
                if found is None:
                    with self.store.reader() as reader:
                        found = View(load_docs(self.store, reader, domain))
                    self._views = {**self._views, domain: found}
        return found

    def _load(self, reader: Reader, domain: str) -> View:
        """The domain's view as the store is now: documents, and the latest published model."""
        docs = load_docs(self.store, reader, domain)
        if self.store.latest_model(domain) is None:
            return View(docs)
        try:
            model = Resolver(self.store, domain).model()
        except ModelMissingError as exc:  # `serve` stops on it (warm_up); a 503 per match otherwise
            return View(docs, problem=str(exc))
        return self._with_model(reader, View(docs), model)

    def _with_model(self, reader: Reader, view: View, model: LinkModel) -> View:
        return self._indexed(reader, replace(view, model=compile_model(model), keys=tuple(model.blocking_keys),
                                             problem=None))

    def _indexed(self, reader: Reader, view: View) -> View:
        """`view` with a blocking index built from `reader` for its model."""
        if view.model is None:
            return view
        domain = view.docs.domain
        have = set(reader.table_columns(records_table(domain)))
        if not have:
            return replace(view, index=None, problem=f"no {domain} records in the store")
        return replace(view, index=BlockIndex(reader, domain, list(view.keys), view.model.tf_columns,
                                              list(view.model.columns), have))

    def _on_commit(self, changes: list[Change], reader: Reader) -> Callable[[], None]:
        """Before a commit (resolver.store.commits): build from the writing transaction what it
        changes; the function returned swaps or splices it in after the COMMIT."""
        steps = [self._prepare(change, reader) for change in changes]

        def apply() -> None:
            for step in steps:
                step()
        return apply

    def _prepare(self, change: Change, reader: Reader) -> Callable[[], None]:
        domain = change.domain
        view = self._views.get(domain)
        if view is None or change.docs is None:
            new = View(load_docs(self.store, reader, domain))
            new = new if view is None else replace(view, docs=new.docs)
        else:
            new = view
        # documents a write built in Python come with its change (~5 ms of statements saved)
        fresh = (change.documents() or DocCache.fetch(reader, change.docs)) if new is view and change.docs else {}
        if change.model is not None:
            version, text = change.model
            new = self._with_model(reader, new, model_from_json(text, f"{self.store.path}: {domain} model "
                                                                      f"version {version}"))
        elif change.records is None:
            new = self._indexed(reader, new)  # every record's entity may have changed
        index = view.index if view is not None and new.index is view.index else None  # not rebuilt
        placed = {u: e for u, e in change.records.items() if e is not None} if change.records else {}
        rows = (index.fetch(reader, list(change.records), placed, change.rows)
                if index is not None and change.records else None)

        def apply() -> None:
            if new is not view:
                self._views = {**self._views, domain: new}  # the switch: one assignment
                # as the server froze the start's objects (api.app): a full collection walking
                # the new view's would pause every request (O(1): generation lists are spliced)
                gc.freeze()
            new.docs.update(fresh)
            if index is not None:
                index.add_rows(rows)
        return apply

    # -- requests -------------------------------------------------------------------------

    def model(self, domain: str) -> tuple[CompiledModel, BlockIndex]:
        """The domain's latest published model, compiled, with its blocking index (current view)."""
        return _model_of(self.view(domain))

    def standardize_one(self, domain: str, record: dict[str, Any]) -> dict[str, Any]:
        return self.standardize.one(domain, {"source": "query", "source_record_id": "0", **record})

    def entity(self, domain: str, entity_id: str, *, unmasked: bool = False) -> dict[str, Any]:
        """One document read from memory: no gate (a document is always one commit's)."""
        return get_entity(self.view(domain).docs, domain, entity_id, unmasked=unmasked,
                          schema=self.schemas.get(domain))

    def members(self, domain: str, entity_id: str, *, offset: int = 0, limit: int = 100,
                unmasked: bool = False) -> dict[str, Any]:
        """One page of an entity's member records, from memory (resolver.lookup.entity.members_page)."""
        return members_page(self.view(domain).docs, domain, entity_id, offset, limit, unmasked=unmasked,
                            schema=self.schemas.get(domain))

    def retirement(self, domain: str, entity_id: str) -> dict[str, Any]:
        """For a retired master ID: the current master IDs that hold its records, and the event
        that retired it (resolver.lookup.history). Reads the store's history, under the gate."""
        with self.gate.shared(), self.store.reader() as reader:
            docs = self.view(domain).docs

            def active(eid: str) -> bool:
                doc = queries.entity_doc(docs, domain, eid)
                return bool(doc and doc["active"])
            return history.retirement(reader, domain, entity_id, active)

    def history(self, domain: str, entity_id: str, *, offset: int = 0, limit: int = 50) -> dict[str, Any]:
        """One page of a master ID's merges and splits, oldest first; NotFoundError for an ID
        the store never had."""
        check_master_id(domain, entity_id, self.schemas.get(domain))
        with self.gate.shared(), self.store.reader() as reader:
            page = history.history_page(reader, domain, entity_id, offset, limit)
            if not page["total"] and queries.entity_doc(self.view(domain).docs, domain, entity_id) is None:
                raise NotFoundError(f"no {domain} entity {entity_id}")
            return page

    def search(self, domain: str, *, id: str | None = None, name: str | None = None, limit: int = 20,
               offset: int = 0, unmasked: bool = False) -> dict[str, Any]:
        """resolver.lookup.search with the documents of the view, under the gate: the records
        it finds in DuckDB and the documents it shows are of the same commit."""
        with self.gate.shared():
            return search(self.store, domain, id=id, name=name, limit=limit, offset=offset, unmasked=unmasked,
                          docs=self.view(domain).docs)

    def match(self, domain: str, record: dict[str, Any], *, top: int = 5, unmasked: bool = False,
              min_probability: float = 0.0) -> dict[str, Any]:
        """Ranked candidate entities for a record given in canonical fields."""
        answer = self.match_many(domain, {"query": record}, top=top, unmasked=unmasked,
                                 min_probability=min_probability)["query"]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def match_many(self, domain: str, records: dict[str, dict[str, Any]], *, top: int = 5,
                   unmasked: bool = False, min_probability: float = 0.0) -> dict[str, dict[str, Any] | InputError]:
        """`match` for each named record, all against one view (one model version, one commit);
        a record the engine cannot use gets its InputError in place of its answer."""
        queries_: dict[str, tuple[dict[str, Any], list[str], list[str]] | InputError] = {}
        for name, record in records.items():  # standardized outside the gate: no commit waits for it
            try:
                queries_[name] = self._query(domain, record, unmasked)
            except InputError as exc:
                queries_[name] = exc
        top = max(1, min(top, 50))
        out: dict[str, dict[str, Any] | InputError] = {}
        with self.gate.shared():  # the index and the documents of one commit
            view = self.view(domain)
            model, index = _model_of(view)
            for name, query in queries_.items():
                if isinstance(query, InputError):
                    out[name] = query
                    continue
                row, withheld, given = query
                ranked, best = match_record(view.docs, domain, row, model, index, top=top, unmasked=unmasked,
                                            min_probability=min_probability)
                reason = None
                best = ranked[0]["match_probability"] if ranked else best  # as the candidate shows it
                if not any(c["match"] is True for c in ranked):
                    reason = self._why_none(domain, view, row, [*given, *withheld], unmasked, best, model)
                flags = [f for f in (row.get("std_flags") or "").split(";") if f]
                out[name] = {"domain": domain, "model_version": model.version, "threshold": model.threshold,
                             "thresholds": {"match": model.threshold, "review": model.review_threshold},
                             "query_flags": flags, "withheld_fields": withheld, "candidates": ranked,
                             "reason": reason, "masked": not unmasked}
        return out

    def _query(self, domain: str, record: dict[str, Any], unmasked: bool
               ) -> tuple[dict[str, Any], list[str], list[str]]:
        """(the standardized query, the personal fields withheld from it, the fields used)."""
        clean, withheld = withhold_personal(domain, check_record(domain, record), unmasked)
        if not clean:
            raise InputError(f"the record has only personal fields ({', '.join(withheld)}); matching on "
                             f"them needs the {pii_scope(domain)} scope")
        return self.standardize_one(domain, clean), withheld, sorted(clean)

    def _why_none(self, domain: str, view: View, row: dict[str, Any], given: list[str], unmasked: bool,
                  best: float | None, model: CompiledModel) -> dict[str, Any]:
        schema = self.schemas.get(domain) or load_schema(domain)
        allowed = set(schema.fields) - (set() if unmasked else set(schema.query_personal()))
        assert view.index is not None
        return no_entity(schema, view.keys, row, set(given), allowed,
                         view.index.block_sizes(row), best, (model.threshold, model.review_threshold))

    def warm_up(self) -> None:
        """Load the tokenizer before the first request. A model that is registered but cannot be
        loaded stops the start with its reason (ModelUnavailableError); a domain with no model
        yet is served without matching."""
        for domain, schema in load_domains().items():  # jieba for company names and addresses, OpenCC for people's
            sample = {f.name: _SAMPLES[f.type] for f in schema.fields.values() if f.type in _SAMPLES}
            if sample:
                self.standardize_one(domain, sample)
        for view in self._views.values():
            if view.problem is not None:
                raise ModelUnavailableError(view.problem)


def _model_of(view: View) -> tuple[CompiledModel, BlockIndex]:
    if view.model is None or view.index is None:
        domain = view.docs.domain
        raise ModelUnavailableError(view.problem or f"no published {domain} model: run "
                                    f"`resolver train --domain {domain}`")
    return view.model, view.index
