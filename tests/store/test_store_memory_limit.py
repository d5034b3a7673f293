"""The store's DuckDB memory limit: on by default, and every statement of ingest, resolve and
unregistered spills under a small one instead of failing (docs/scale.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.slow  # make test-slow; see tests/conftest.py

sys.path.insert(0, str(Path(__file__).resolve().parent))
from docs_check import assert_docs_match_tables  # noqa: E402

from resolver.demo import ingest_fixtures  # noqa: E402
from resolver.engine import Resolver  # noqa: E402
from resolver.store import open_store  # noqa: E402
from resolver.store.store import linking_memory_limit, store_memory_limit  # noqa: E402
from resolver.unregistered.report import build_report  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[2] / "fixtures" / "sample"
# Small for the sample: the documents of one resolution built in one statement needed ~190 MB
# here (a join and an aggregate that DuckDB could not spill side by side).
SMALL = "128MB"


def _limit(db: Path) -> str:
    store = open_store(db)
    try:
        return str(store._con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])
    finally:
        store.close()


def test_the_limit_is_on_by_default_and_the_setting_overrides_it(tmp_path, monkeypatch):
    monkeypatch.delenv("RESOLVER_STORE_MEMORY", raising=False)
    default = store_memory_limit()
    assert default is not None and default.endswith("MB") and 0 < int(default[:-2]) <= 2 * 1024
    assert _limit(tmp_path / "a.duckdb").endswith("GiB") or _limit(tmp_path / "a.duckdb").endswith("MiB")
    monkeypatch.setenv("RESOLVER_STORE_MEMORY", "200MB")
    assert _limit(tmp_path / "a.duckdb") in ("190.7 MiB", "200.0 MB")
    monkeypatch.setenv("RESOLVER_STORE_MEMORY", "duckdb")  # DuckDB's own: 80 % of the machine
    assert store_memory_limit() is None


def test_the_linking_session_is_capped_and_spills_beside_the_store(tmp_path, monkeypatch):
    monkeypatch.setenv("RESOLVER_LINK_MEMORY", "300MB")
    store = open_store(tmp_path / "a.duckdb")
    try:
        resolver = Resolver(store, "enterprise")
        con = resolver._session()
        limit, spill = con.execute("SELECT current_setting('memory_limit'), current_setting('temp_directory')"
                                   ).fetchall()[0]
        assert limit in ("286.1 MiB", "300.0 MB") and spill == f"{tmp_path / 'a.duckdb'}.linking.tmp"
        resolver._release_session()  # closed, not left to the garbage collector
        with pytest.raises(duckdb.ConnectionException):
            con.execute("SELECT 1")
    finally:
        store.close()
    monkeypatch.delenv("RESOLVER_LINK_MEMORY")
    default = linking_memory_limit()
    assert default is not None and 0 < int(default.removesuffix("MB")) <= 6 * 1024


def test_ingest_resolve_and_unregistered_spill_under_a_small_limit(demo_store, demo_copy, tmp_path, monkeypatch):
    monkeypatch.setenv("RESOLVER_STORE_MEMORY", SMALL)
    fresh = open_store(tmp_path / "fresh.duckdb")
    try:
        ingest_fixtures(fresh, SAMPLE, lambda _: None)
        ingested = fresh._con.execute("SELECT count(*) FROM records_enterprise").fetchall()[0][0]
    finally:
        fresh.close()
    assert ingested > 4000

    db = demo_copy("memory_limit")
    store = open_store(db)
    try:
        assert store._con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0] == "122.0 MiB"
        before = {d: store.membership(d).sort_values("unique_id").reset_index(drop=True)
                  for d in ("enterprise", "person")}
        # the 漏管户 report under half of that (its nearest-record step ran out under 96 MB)
        store._con.execute("SET memory_limit = '64MB'")
        assert len(build_report(store, "2026-06-30").rows) > 0
        store._con.execute(f"SET memory_limit = '{SMALL}'")
        # every document rebuilt: a resolution writes those missing, and the golden values anew
        store._con.execute("DELETE FROM serving_docs")
        for domain in ("enterprise", "person"):
            Resolver(store, domain).resolve()
            after = store.membership(domain).sort_values("unique_id").reset_index(drop=True)
            assert after[["unique_id", "entity_id"]].equals(before[domain][["unique_id", "entity_id"]])
            assert assert_docs_match_tables(store, domain) > 1000
    finally:
        store.close()


@pytest.fixture(autouse=True)
def _quiet_splink():
    import logging

    logging.getLogger("splink").setLevel(logging.ERROR)
