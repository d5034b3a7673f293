"""Find a saved model version that was trained on exactly these records with these rules."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from resolver.linking.model import META_KEY, LinkModel, fingerprint_records, load_model
from resolver.linking.rules import RuleSet


def matching_model(models_dir: str | Path, rules: RuleSet, records: pd.DataFrame) -> LinkModel | None:
    """The newest model in `models_dir` whose rules hash and training fingerprint match, else None.

    Lets a notebook reuse a model another notebook just trained instead of training again; a
    model trained on other records or other rule files is never returned.
    """
    folder = Path(models_dir)
    if not folder.is_dir():
        return None
    fingerprint = fingerprint_records(records)
    found: list[tuple[str, Path]] = []
    for path in folder.glob(f"{rules.domain}-*.json"):
        try:
            meta = json.loads(path.read_text(encoding="utf-8")).get(META_KEY) or {}
        except (OSError, json.JSONDecodeError):
            continue  # a half-written or foreign file is not a model to reuse
        if (meta.get("domain") == rules.domain and meta.get("rules_hash") == rules.rules_hash
                and meta.get("training_fingerprint") == fingerprint):
            found.append((str(meta.get("created", "")) + str(meta.get("version", "")), path))
    if not found:
        return None
    return load_model(max(found)[1])
