"""Every fixture shape, record by record: what a caller without the pii scope sees of one member
record (its fields and its raw row, masked through that shape's own mappings) must not rebuild
that record's personal values. The sample store's answers are attacked in test_rebuild.py; the
other shapes export differently (old 15-digit tax numbers, individual businesses taxed under an
ID that also passes a company check, other column names), so their records are attacked here —
ingest only, no model, a few seconds per shape.

A tax number is a secret when the standardizer read it, from its record, as the operator's ID
(`tax_id_kind` personal): the attacker then targets the 18-digit ID it holds.
"""

from __future__ import annotations

import json
import logging
import math
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from rebuild import Answer, date_candidates, id_candidates, phone_candidates

from fixtures.generate import generate
from fixtures.quality import mappings_of
from fixtures.shape import names
from resolver.access.masking import mask_fields
from resolver.access.raw_rows import forget_plans, mask_raw
from resolver.ingest import ingest_file
from resolver.paths import rules_dir
from resolver.standardize import ids
from resolver.store import open_store

pytestmark = pytest.mark.slow  # make test-slow; see tests/conftest.py

RECORDS = 1500
ID_FLOOR, OTHER_FLOOR = 10_000, 100
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _records(shape: str, work: Path) -> dict[str, list[dict[str, Any]]]:
    logging.getLogger("splink").setLevel(logging.ERROR)
    data = work / "data"
    generate(data, RECORDS, shape=shape, workers=1)
    manifest = json.loads((data / "manifest.json").read_text(encoding="utf-8"))
    store = open_store(work / "m.duckdb")
    try:
        for f in manifest["files"]:
            ingest_file(store, mappings_of(data) / f"{f['source']}.yaml", data / f["file"])
        return {d: store.load_records(d).to_dict("records") for d in ("enterprise", "person")}
    finally:
        store.close()


def _text(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return [str(v) for v in value] if hasattr(value, "__len__") and not isinstance(value, str) else str(value)


def _secrets(record: dict[str, Any]) -> tuple[set[str], set[str], set[str]]:
    id_like = {_text(record.get(f)) for f in ("id_number", "legal_rep_id")}
    tax = _text(record.get("tax_id"))
    if tax and record.get("tax_id_kind") == "personal":
        id_like.add(ids.operator_id_from_tax_id(tax, "personal"))
    phone = re.sub(r"\D", "", _text(record.get("phone")) or "")
    dates = {_text(record.get(f)) for f in ("birth_date", "id_birth_date")}
    return ({i for i in id_like if i and len(i) == 18}, {phone} if len(phone) >= 7 else set(),
            {d for d in dates if d and _DATE.fullmatch(d)})


def _leaks(domain: str, record: dict[str, Any]) -> list[str]:
    fields = {k: _text(v) for k, v in record.items() if k not in ("raw", "file")}
    seen = {"fields": mask_fields(domain, fields, unmasked=False),
            "raw": mask_raw(domain, {**fields, "raw": record.get("raw")}, unmasked=False)}
    read = Answer.read(seen)
    id_like, phones, dates = _secrets(record)
    out = [f"ID {v} → {n}" for v in id_like if (n := id_candidates(v, read)) < ID_FLOOR]
    out += [f"phone {v} → {n}" for v in phones if (n := phone_candidates(v, read)) <= OTHER_FLOOR]
    out += [f"birth date {v} → {n}" for v in dates if (n := date_candidates(v, read, sorted(id_like))) <= OTHER_FLOOR]
    return [f"{record['unique_id']}: {line} candidate(s) from {seen}" for line in out]


@pytest.mark.parametrize("shape", [s for s in names() if s != "sample"])
def test_no_member_record_of_any_shape_rebuilds_a_personal_value(shape, tmp_path, monkeypatch):
    # raw rows are read through the shape's mappings, as a server over that shape's store would
    # a rules folder is whole (schemas and rules); the shape brings its own department mappings
    rules = tmp_path / "rules"
    shutil.copytree(rules_dir(), rules, ignore=shutil.ignore_patterns("sources"))
    shutil.copytree(Path(__file__).resolve().parents[2] / "fixtures" / "shapes" / shape / "sources", rules / "sources")
    monkeypatch.setenv("RESOLVER_RULES", str(rules))
    forget_plans()
    try:
        records = _records(shape, tmp_path)
        leaks = [line for domain, rows in records.items() for r in rows for line in _leaks(domain, r)]
    finally:
        forget_plans()
    assert sum(map(len, records.values())) > RECORDS * 0.9
    assert not leaks, f"{len(leaks)} personal value(s) rebuilt, e.g.\n" + "\n".join(leaks[:5])
