"""Every hostile export in the corpus (hostile_corpus.py) ingests into a real store with every
line accounted for: the lines loaded, quarantined (with line and reason) and skipped (by name)
are exactly the expected ones, and nothing is left over."""

from __future__ import annotations

import pytest
from hostile_corpus import Case, cases

from resolver.errors import InputError
from resolver.ingest import describe, ingest_file
from resolver.store import open_store

CASES = cases()


def _ingest(tmp_path, case: Case):
    (tmp_path / "tax.yaml").write_text(case.mapping(), encoding="utf-8")
    path = tmp_path / f"{case.name}{case.suffix}"
    case.write(path)
    store = open_store(tmp_path / "m.duckdb")
    try:
        counts = ingest_file(store, tmp_path / "tax.yaml", path)
        records = store.load_records("enterprise")
        quarantine = store.quarantine("enterprise")
        runs = store.ingest_runs()
    finally:
        store.close()
    return counts, records, quarantine, runs


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_line_is_accounted_for(tmp_path, case):
    if case.refused:
        with pytest.raises(InputError) as refused:
            _ingest(tmp_path, case)
        assert case.refused in str(refused.value) and case.name in str(refused.value)
        assert "\n" not in str(refused.value)
        store = open_store(tmp_path / "m.duckdb")
        assert store.quarantine().empty  # a refused file leaves the store as it was
        store.close()
        return
    counts, records, quarantine, runs = _ingest(tmp_path, case)
    account = counts.account
    assert account is not None
    shown = "\n".join(describe(account))
    assert account["unaccounted"] == 0, shown
    assert account["lines"] == case.lines, shown
    assert (account["header"], account["title"]) == (case.header, case.title), shown
    assert account["records"] == len(records) == case.loaded, shown
    assert account["continuation"] == case.continuation, shown
    skipped = {k: v for k, v in account["detail"]["skipped"].items() if k != "title"}
    assert skipped == case.skipped, shown
    got = dict(zip(quarantine["row_number"], quarantine["reason"], strict=True))
    assert sorted(got) == sorted(case.quarantined), (shown, got)
    for line, word in case.quarantined.items():
        assert word in got[line], (line, got[line])
    assert account["quarantined"] == counts.quarantined == len(case.quarantined)
    # Stored as printed: one ingest_runs row with the same figures.
    run = runs.iloc[-1]
    assert (run["lines"], run["records"], run["quarantined"], run["unaccounted"]) == \
        (case.lines, case.loaded, len(case.quarantined), 0)
    assert run["file"].endswith(case.name + case.suffix)
    # No BOM, zero-width or full-width character inside a record id, and none lost.
    ids = records["source_record_id"].tolist()
    assert all(i.isascii() and i == i.strip() for i in ids), ids
    for wanted in case.ids or []:
        assert wanted in ids
    assert not any("锘" in str(v) for v in records["raw"])


def test_reingesting_adds_a_run_and_changes_nothing(tmp_path):
    case = next(c for c in CASES if c.name == "title_blank_total_footer")
    _ingest(tmp_path, case)
    counts, records, quarantine, runs = _ingest(tmp_path, case)
    assert (counts.loaded, counts.unchanged) == (0, case.loaded)
    assert len(runs) == 2 and list(runs["unaccounted"]) == [0, 0]
    assert len(quarantine) == len(case.quarantined)
