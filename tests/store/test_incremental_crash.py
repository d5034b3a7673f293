"""`resolver ingest --incremental` killed with SIGKILL between storing the records and saving
their linking leaves no source record without an entity: both are one transaction."""

import json
import os
import signal
import subprocess
import sys

import pandas as pd
import pytest
from test_incremental import SAMPLE, SOURCES, _split_tax_file

from resolver.demo import link_domain
from resolver.ingest import ingest_file
from resolver.store import open_store

pytestmark = pytest.mark.slow  # make test-slow; see tests/conftest.py

ORPHANS = ("SELECT count(*) FROM records_enterprise r "
           "WHERE NOT EXISTS (SELECT 1 FROM membership m WHERE m.unique_id = r.unique_id)")


def _counts(db):
    store = open_store(db, read_only=True)
    try:
        return store.cursor().execute(ORPHANS).fetchall()[0][0], len(store.load_records("enterprise"))
    finally:
        store.close()


def test_sigkill_inside_an_incremental_ingest_leaves_no_record_without_entity(tmp_path):
    base, held, n_held = _split_tax_file(tmp_path)
    manifest = json.loads((SAMPLE / "manifest.json").read_text(encoding="utf-8"))
    db = tmp_path / "m.duckdb"
    store = open_store(db)
    for entry in manifest["files"]:
        if entry["domain"] == "enterprise":
            ingest_file(store, SOURCES / f"{entry['source']}.yaml", base if entry["source"] == "tax"
                        else SAMPLE / entry["file"])
    link_domain(store, "enterprise", tmp_path / "models", pd.read_csv(SAMPLE / "truth_members.csv", dtype=str))
    store.close()
    orphans, records = _counts(db)
    assert orphans == 0

    command = [sys.executable, "-m", "resolver", "ingest", "--incremental", "--db", str(db),
               "--mapping", str(SOURCES / "tax.yaml"), str(held)]
    proc = subprocess.Popen(command, env=dict(os.environ, RESOLVER_FAULT_PAUSE="save_resolution"),
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        for line in proc.stderr:  # the progress bar writes here too
            if "paused at save_resolution" in line:
                break
        else:
            raise AssertionError("the ingest never reached the fault point")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert _counts(db) == (0, records)  # neither the records nor their linking

    env = {k: v for k, v in os.environ.items() if k != "RESOLVER_FAULT_PAUSE"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert _counts(db) == (0, records + n_held)
