"""Schema v4: person records stored before `birth_date_any` existed get it derived on open, as
standardize derives it (identical rows are never standardized again, and the person blocking
rules read the column)."""

from pathlib import Path

from resolver.ingest import ingest_file
from resolver.store import open_store

ROOT = Path(__file__).resolve().parents[2]


def test_old_person_records_get_birth_date_any(tmp_path):
    db = tmp_path / "master.duckdb"
    store = open_store(db)
    try:
        ingest_file(store, ROOT / "matching_rules/sources/social_security.yaml",
                    ROOT / "fixtures/sample/social_security_insured.csv")
        expected = store.load_records("person").set_index("unique_id")["birth_date_any"]
        # as a v3 store had it: no such column
        store.cursor().execute("ALTER TABLE records_person DROP COLUMN birth_date_any")
        store.cursor().execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    finally:
        store.close()
    assert expected.notna().sum() > 100
    store = open_store(db)
    try:
        got = store.load_records("person").set_index("unique_id")["birth_date_any"]
        assert got.fillna("-").to_dict() == expected.fillna("-").to_dict()
    finally:
        store.close()
