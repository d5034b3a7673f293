"""A file ingested in chunks stores what the whole file stores: records, quarantine, account."""

import pytest

from resolver.ingest import ingest_file
from resolver.paths import REPO_ROOT, rules_dir
from resolver.store import open_store
from tests.ingest.test_ingest_file import _write

SAMPLE = REPO_ROOT / "fixtures" / "sample"


def _stored(db, domain):
    store = open_store(db)
    try:
        con = store.cursor()
        records = con.execute(f"SELECT * EXCLUDE (ingested_at) FROM records_{domain} ORDER BY unique_id").fetchall()
        quarantine = con.execute("SELECT * EXCLUDE (quarantine_id, quarantined_at) FROM quarantine "
                                 "ORDER BY row_number, reason").fetchall()
        runs = con.execute("SELECT * EXCLUDE (run_id, ingested_at) FROM ingest_runs").fetchall()
        return records, quarantine, runs
    finally:
        store.close()


def _both(tmp_path, mapping, file, chunk):
    counts = []
    for name, rows in (("whole", 10**9), ("chunked", chunk)):
        store = open_store(tmp_path / f"{name}.duckdb")
        try:
            counts.append(ingest_file(store, mapping, file, chunk=rows))
        finally:
            store.close()
    return counts


@pytest.mark.parametrize(("source", "file", "domain"), [
    ("commerce", "commerce_registry.csv", "enterprise"),        # enterprise name tokens
    ("social_security", "social_security_insured.csv", "person"),  # employer name tokens
    ("quality", "quality_inspections.xlsx", "enterprise"),      # XLSX with a title row
])
def test_chunks_store_what_the_whole_file_stores(tmp_path, source, file, domain):
    whole, chunked = _both(tmp_path, rules_dir() / "sources" / f"{source}.yaml", SAMPLE / file, 250)
    assert (chunked.read, chunked.loaded, chunked.quarantined) == (whole.read, whole.loaded, whole.quarantined)
    assert chunked.account == whole.account
    assert whole.loaded > 250 * 2  # several chunks really ran
    assert _stored(tmp_path / "chunked.duckdb", domain) == _stored(tmp_path / "whole.duckdb", domain)


def test_a_record_id_repeated_in_a_later_chunk_is_quarantined_as_a_duplicate(tmp_path):
    _write(tmp_path)  # a small broken file: no id, undecodable line, bad date
    path = tmp_path / "quality.csv"
    path.write_bytes(path.read_bytes() + "Q1,12345678-9,重复编号的公司,2024-03-05,李四\n".encode("gb18030"))
    whole, chunked = _both(tmp_path, tmp_path / "quality.yaml", path, 2)
    assert chunked.account == whole.account
    assert (chunked.loaded, chunked.quarantined) == (whole.loaded, whole.quarantined) == (2, 4)
    records, quarantine, runs = _stored(tmp_path / "chunked.duckdb", "enterprise")
    assert (records, quarantine, runs) == _stored(tmp_path / "whole.duckdb", "enterprise")
    assert any("duplicate record id 'Q1' (first at row 2)" in str(row) for row in quarantine)
