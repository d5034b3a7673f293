"""Versioned model JSON: Splink's saved model plus our metadata under the key `resolver`.

The JSON is Splink's own `save_model_to_json` output with one extra top-level key, so
a diff between two versions reads like a diff of Splink models. A published model lives
inside the master store (`publish_model`, `published_model`); the file written beside the
rules is a copy for the analyst.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from resolver.errors import NotFoundError, ResolverError
from resolver.linking.rules import BlockingKey

if TYPE_CHECKING:
    from resolver.store import Store

META_KEY = "resolver"


class DegenerateModelError(ResolverError):
    """Training had nothing to learn from (no training rule converged or found pairs); the message says why."""


@dataclass
class LinkModel:
    """A trained linking model: Splink settings with m/u values, and how it was made."""

    domain: str
    version: str
    settings: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    # (connection, table, id(records), key stats) when training prepared the records on a
    # connection that prediction may reuse; never saved
    prepared: Any = field(default=None, repr=False, compare=False)

    @property
    def blocking_keys(self) -> list[BlockingKey]:
        return [BlockingKey(**k) for k in self.metadata["blocking_keys"]]

    @property
    def clustering(self) -> dict[str, Any]:
        """clustering.yaml as it was at training: thresholds and hard constraints. Resolving with
        this model uses these, not the current file, so the model version determines the result."""
        return dict(self.metadata["clustering"])

    @property
    def columns(self) -> set[str]:
        return set(self.metadata["columns"])

    def splink_settings(self) -> dict[str, Any]:
        return copy.deepcopy(self.settings)

    def level_parameters(self) -> list[dict[str, Any]]:
        """One row per comparison level: comparison, label, m, u, match weight."""
        return level_parameters(self.settings)


def fingerprint_records(records: pd.DataFrame) -> str:
    """Order-independent hash of the source records used for training (ids and columns)."""
    return fingerprint_of(unique_id_hash_sum(records["unique_id"]), len(records), list(records.columns))


def unique_id_hash_sum(unique_ids: pd.Series) -> int:
    """The sum of pandas' hash of each unique_id, modulo 2**64: sums of parts add up (modulo
    2**64) to the whole's, so an engine can compute it part by part (resolver.engines.spark_train)."""
    return int(pd.util.hash_pandas_object(unique_ids.astype(str), index=False).sum()) & (2**64 - 1)


def fingerprint_of(hash_sum: int, count: int, columns: list[str]) -> str:
    """`fingerprint_records` from its parts: the unique_id hash sum, the record count, the columns."""
    h = hashlib.sha256()
    h.update(str(hash_sum & (2**64 - 1)).encode())
    h.update(str(count).encode())
    h.update(",".join(sorted(map(str, columns))).encode())
    return h.hexdigest()


def new_version(domain: str, fingerprint: str, rules_hash: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    digest = hashlib.sha256((fingerprint + rules_hash).encode()).hexdigest()[:8]
    return f"{domain}-{stamp}-{digest}"


def model_to_json(model: LinkModel) -> str:
    doc = dict(model.settings)
    doc[META_KEY] = model.metadata
    return json.dumps(doc, ensure_ascii=False, indent=2)


def model_from_json(text: str, where: str, path: Path | None = None) -> LinkModel:
    """A model from its JSON; `where` names it in errors (a file, or a store and version)."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise ResolverError(f"{where}: model is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict) or META_KEY not in doc:
        raise ResolverError(f"{where}: not a resolver model (no '{META_KEY}' key)")
    meta = doc.pop(META_KEY)
    return LinkModel(meta["domain"], meta["version"], doc, meta, path)


def save_model(model: LinkModel, out_dir: str | Path) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{model.version}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(model_to_json(model), encoding="utf-8")
    tmp.replace(path)  # never leave a half-written model behind
    model.path = path
    return path


def load_model(path: str | Path) -> LinkModel:
    p = Path(path)
    if not p.exists():
        raise NotFoundError(f"model file not found: {p}")
    return model_from_json(p.read_text(encoding="utf-8"), str(p), p)


def publish_model(store: Store, model: LinkModel) -> None:
    """Register `model` as the domain's newest version, its JSON kept inside the store."""
    store.register_model(model.domain, model.version, model_to_json(model),
                         model.metadata.get("training_fingerprint", ""),
                         str(model.path) if model.path else None)


def published_model(store: Store, domain: str, version: str | None = None) -> LinkModel:
    """The domain's latest published model version from the store, or `version`."""
    found, text = store.model_json(domain, version)
    return model_from_json(text, f"{store.path}: {domain} model version {found}")


def level_parameters(settings: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per comparison level: comparison, label, m, u, match weight."""
    import math

    rows = []
    for comp in settings["comparisons"]:
        for i, lv in enumerate(comp["comparison_levels"]):
            if lv.get("is_null_level"):
                continue
            m, u = lv.get("m_probability"), lv.get("u_probability")
            weight = math.log2(m / u) if isinstance(m, float) and isinstance(u, float) and m > 0 and u > 0 else None
            rows.append({"comparison": comp["output_column_name"], "level": i,
                         "label": lv.get("label_for_charts"), "m": m, "u": u,
                         "match_weight": weight})
    return rows
