"""The look-up engine one server holds: the store, the published models compiled for
scoring, a standardizer. Thread-safe: every call takes its own DuckDB cursor."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd

from resolver.errors import ResolverError
from resolver.linking.model import load_model
from resolver.linking.rules import BlockingKey
from resolver.lookup import queries
from resolver.lookup.match import Standardizer, check_record, match_record
from resolver.lookup.scoring import CompiledModel, compile_model
from resolver.store import Store
from resolver.store.store import DOMAINS, records_table

MODEL_RECHECK_SECONDS = 10.0


class ModelUnavailableError(ResolverError):
    """No published model for the domain (train one first); matching cannot run (HTTP 503)."""


class LookupService:
    def __init__(self, store: Store):
        self.store = store
        self.standardize = Standardizer()
        self._models: dict[str, tuple[float, CompiledModel, list[BlockingKey], dict[str, int]]] = {}
        self._lock = threading.Lock()
        self.write_lock = threading.Lock()

    def model(self, domain: str) -> tuple[CompiledModel, list[BlockingKey], dict[str, int]]:
        """The domain's latest published model, compiled; re-read when a newer one is registered."""
        queries.check_domain(domain)
        now = time.monotonic()
        cached = self._models.get(domain)
        if cached and now - cached[0] < MODEL_RECHECK_SECONDS:
            return cached[1], cached[2], cached[3]
        latest = self.store.latest_model(domain)
        if latest is None:
            raise ModelUnavailableError(f"no published {domain} model: run `resolver train --domain {domain}`")
        version, path = latest
        with self._lock:
            cached = self._models.get(domain)
            if cached and cached[1].version == version:
                compiled, keys = cached[1], cached[2]
            else:
                model = load_model(self._model_path(path))
                compiled, keys = compile_model(model), model.blocking_keys
            totals = self._tf_totals(domain, compiled)
            self._models[domain] = (now, compiled, keys, totals)
        return compiled, keys, totals

    def _model_path(self, path: str) -> Path:
        p = Path(path)
        if p.exists() or p.is_absolute():
            return p
        beside = Path(self.store.path).parent / p
        return beside if beside.exists() else p

    def _tf_totals(self, domain: str, model: CompiledModel) -> dict[str, int]:
        cur = self.store.cursor()
        have = set(queries.table_columns(cur, records_table(domain)))
        totals = {}
        for col in sorted(model.tf_columns & have):
            totals[col] = cur.execute(
                f'SELECT count("{col}") FROM {records_table(domain)}').fetchall()[0][0]
        return totals

    def standardize_one(self, domain: str, record: dict[str, Any]) -> dict[str, Any]:
        row = self.standardize(domain, [{"source": "query", "source_record_id": "0", **record}])
        return {str(k): (None if _isna(v) else v) for k, v in row.iloc[0].to_dict().items()}

    def match(self, domain: str, record: dict[str, Any], *, top: int = 5, unmasked: bool = False
              ) -> dict[str, Any]:
        """Ranked candidate entities for a record given in canonical fields."""
        clean = check_record(domain, record)
        model, keys, totals = self.model(domain)
        row = self.standardize_one(domain, clean)
        cur = self.store.cursor()
        ranked = match_record(cur, domain, row, model, keys, totals, top=max(1, min(top, 50)),
                              unmasked=unmasked)
        flags = [f for f in (row.get("std_flags") or "").split(";") if f]
        return {"domain": domain, "model_version": model.version, "threshold": model.threshold,
                "query_flags": flags, "candidates": ranked, "masked": not unmasked}

    def warm_up(self) -> None:
        """Load the tokenizer and the models before the first request."""
        self.standardize("enterprise", [{"source": "query", "source_record_id": "0", "name": "杭州华新科技有限公司"}])
        for domain in DOMAINS:
            try:
                self.model(domain)
            except ResolverError:
                continue


def _isna(value: Any) -> bool:
    if isinstance(value, (list, tuple)) or hasattr(value, "__array__") and not isinstance(value, str):
        return False
    return bool(pd.isna(value))
