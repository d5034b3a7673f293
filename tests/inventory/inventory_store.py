"""The store the inventory and open-data tests share (built once per session in conftest.py): a
copy of the session's demo store (the demo pipeline on the committed sample, tests/conftest.py),
plus one tax export whose every row is quarantined."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from resolver.ingest import ingest_file
from resolver.inventory import Inventory, build_inventory
from resolver.paths import rules_dir
from resolver.store import open_store

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))
from fixture_io import SAMPLE  # noqa: E402

# Rows the tax mapping cannot use: no record ID (3), one field too many (2).
BAD_ROWS = 5


@dataclass
class Built:
    db: Path
    work: Path
    bad_file: Path
    inventory: Inventory


def write_bad_tax_file(path: Path) -> Path:
    """A tax export (GB18030, a title line, the sample's header) whose rows all go to quarantine."""
    lines = (SAMPLE / "tax_taxpayers.csv").read_bytes().decode("gb18030").splitlines()
    title, header = lines[0], lines[1]
    width = len(header.split(","))
    no_id = ["," + ",".join(["x"] * (width - 1)) for _ in range(3)]
    too_wide = [",".join([f"BAD{i}", *["y"] * width]) for i in range(2)]
    path.write_bytes("\n".join([title, header, *no_id, *too_wide, ""]).encode("gb18030"))
    return path


def build(db: Path) -> Built:
    """The inventory of `db` (a copy of the demo store, changed here) after the bad tax file;
    outputs of the tests go beside it."""
    work = db.parent
    bad = write_bad_tax_file(work / "tax_bad.csv")
    store = open_store(db)
    try:
        counts = ingest_file(store, rules_dir() / "sources" / "tax.yaml", bad)
    finally:
        store.close()
    assert (counts.loaded, counts.quarantined) == (0, BAD_ROWS)
    store = open_store(db, read_only=True)
    try:
        inventory = build_inventory(store)
    finally:
        store.close()
    return Built(db, work, bad, inventory)
