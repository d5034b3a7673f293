"""`resolver ingest --engine spark` stores what DuckDB's ingest stores from the same Parquet export:
the records, the quarantine (file, row, field, reason, raw row) and where every row went."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from resolver.errors import InputError
from resolver.ingest import ingest_file
from resolver.mapping import load_mapping
from resolver.readers import ROW, read_export
from resolver.store import open_store

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "fixtures" / "sample"
pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::DeprecationWarning")]


def _export(tmp_path: Path, source: str, file: str, date_column: str) -> tuple[Path, Path]:
    """The sample export as Parquet in several row groups, with a repeated record id, a blank row
    and a date nobody can read."""
    mapping = ROOT / "matching_rules" / "sources" / f"{source}.yaml"
    raw, _ = read_export(SAMPLE / file, load_mapping(mapping))
    raw = raw.drop(columns=[ROW])
    raw.loc[11, date_column] = "2024-13-45"
    blank = pd.DataFrame([[None] * raw.shape[1]], columns=raw.columns)
    raw = pd.concat([raw.iloc[:20], blank, raw.iloc[20:], raw.iloc[[7]]], ignore_index=True)
    path = tmp_path / f"{source}.parquet"
    raw.to_parquet(path, row_group_size=400)
    return mapping, path


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.drop(columns=["ingested_at"]).sort_values("unique_id").reset_index(drop=True).astype(object)
    out = out.where(pd.notna(out), None)
    for col in out.columns:
        out[col] = [list(v) if isinstance(v, (list, np.ndarray)) else v for v in out[col]]
    return out


# enterprise names are tokenized with a trade-name dictionary learned in a first Spark pass: ~40 s
# on this box, so under `make test-spark`; the person case stays in the default suite
@pytest.mark.parametrize(("source", "file", "date_column"), [
    pytest.param("tax", "tax_taxpayers.csv", "登记日期", marks=pytest.mark.spark_cluster),
    ("police", "police_household.csv", "出生日期")])
def test_spark_ingest_equals_duckdb_ingest(spark, tmp_path, source, file, date_column):
    from resolver.engines.spark_ingest import ingest_on_spark

    mapping, path = _export(tmp_path, source, file, date_column)
    domain = load_mapping(mapping).domain
    stores = {}
    for engine in ("duckdb", "spark"):
        store = open_store(tmp_path / f"{engine}.duckdb")
        try:
            counts = (ingest_file(store, mapping, path) if engine == "duckdb"
                      else ingest_on_spark(store, mapping, path, spark=spark, chunk=700))  # several chunks
            stores[engine] = (counts, store.load_records(domain), store.quarantine(domain), store.ingest_runs())
        finally:
            store.close()
    (d_counts, d_records, d_quarantine, d_runs), (s_counts, s_records, s_quarantine, s_runs) = stores.values()
    assert (s_counts.read, s_counts.loaded, s_counts.quarantined) == (d_counts.read, d_counts.loaded,
                                                                      d_counts.quarantined)
    assert len(s_records) == len(d_records) > 1000
    exp, act = _plain(d_records), _plain(s_records[d_records.columns])
    for col in exp.columns:
        diff = [(u, e, a) for u, e, a in zip(exp["unique_id"], exp[col], act[col], strict=True)
                if not (e == a or (_missing(e) and _missing(a))
                        or (isinstance(e, float) and isinstance(a, float) and np.isclose(e, a)))]
        assert diff == [], (col, diff[:3])
    where = ["file", "row_number", "field", "reason", "raw"]
    assert (s_quarantine[where].sort_values(where).values.tolist()
            == d_quarantine[where].sort_values(where).values.tolist())
    reasons = " ".join(d_quarantine["reason"])
    assert "duplicate record id" in reasons and "date unparseable" in reasons
    account = ["lines", "header", "title", "skipped", "records", "quarantined", "unaccounted"]
    assert s_runs[account].values.tolist() == d_runs[account].values.tolist()
    assert s_runs["skipped"].iloc[0] == 1 and s_runs["unaccounted"].iloc[0] == 0  # the blank row


def test_ingest_engine_spark_takes_parquet_only(tmp_path):
    from resolver.cli import app

    csv = SAMPLE / "tax_taxpayers.csv"
    mapping = ROOT / "matching_rules" / "sources" / "tax.yaml"
    result = CliRunner().invoke(app, ["ingest", "--db", str(tmp_path / "m.duckdb"), "--mapping", str(mapping),
                                      "--engine", "spark", str(csv)])
    assert isinstance(result.exception, InputError) and "Parquet" in str(result.exception)
    assert not (tmp_path / "m.duckdb").exists()
