"""A fixture file standardized with the second process gives the frame the serial path gives."""

import json
from pathlib import Path

import pandas as pd
import pytest

from resolver.ingest import prepare
from resolver.standardize import frame as frame_module
from resolver.standardize import records as records_module

SAMPLE = Path("fixtures/sample")
MAPPINGS = Path("matching_rules/sources")


def _files() -> list[tuple[str, str]]:
    manifest = json.loads((SAMPLE / "manifest.json").read_text(encoding="utf-8"))
    return [(f["source"], f["file"]) for f in manifest["files"] if f["source"] in ("tax", "commerce", "police")]


@pytest.mark.parametrize(("source", "file"), _files())
def test_second_process_gives_the_serial_frame(monkeypatch, source, file):
    submitted = []
    submit = frame_module.Frame._submit

    def counted(self, func, items, batch):
        submitted.append(len(items))
        return submit(self, func, items, batch)

    monkeypatch.setattr(frame_module.Frame, "_submit", counted)
    monkeypatch.setattr(records_module, "PARALLEL_FROM_ROWS", 10**9)
    serial = prepare(MAPPINGS / f"{source}.yaml", SAMPLE / file)
    assert not submitted
    # the fixture's ~1.5k rows: every field big enough to share, and the default picks two processes
    monkeypatch.setattr(records_module, "PARALLEL_FROM_ROWS", 2)
    monkeypatch.setattr(frame_module, "_PARALLEL_MIN_ITEMS", 2)
    parallel = prepare(MAPPINGS / f"{source}.yaml", SAMPLE / file)
    assert len(submitted) >= 3  # names, identifiers, addresses, ... went to the worker
    assert len(serial.records) > 500
    pd.testing.assert_frame_equal(serial.records, parallel.records, check_exact=True)
    assert serial.rejections == parallel.rejections
