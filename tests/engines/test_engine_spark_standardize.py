"""Standardization on Spark (mapInPandas over the Python standardizers) equals the pandas path."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from resolver.canonical import apply_mapping
from resolver.engines.spark_standardize import standardize_on_spark
from resolver.mapping import load_mapping
from resolver.readers import read_export
from resolver.standardize.records import standardize_records

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "fixtures" / "sample"
pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::DeprecationWarning")]


def _canonical(source: str, file: str) -> tuple[pd.DataFrame, object]:
    mapping = load_mapping(ROOT / "matching_rules" / "sources" / f"{source}.yaml")
    raw, _ = read_export(SAMPLE / file, mapping)
    canonical, _ = apply_mapping(raw, mapping, SAMPLE / file)
    return canonical.drop(columns=["raw", "record_hash"], errors="ignore"), mapping


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.sort_values("unique_id").reset_index(drop=True).astype(object)
    out = out.where(pd.notna(out), None)
    if "name_tokens" in out:
        out["name_tokens"] = [list(v) if isinstance(v, (list, np.ndarray)) else None
                              for v in out["name_tokens"]]
    return out


@pytest.mark.parametrize(("source", "file"), [("tax", "tax_taxpayers.csv"),
                                              ("police", "police_household.csv")])
def test_spark_standardization_equals_pandas(spark, source, file):
    canonical, mapping = _canonical(source, file)
    expected = standardize_records(canonical, mapping.domain, value_maps=mapping.values)
    # several partitions, so the trade-name dictionary must really be shared between them
    sdf = spark.createDataFrame(canonical.astype(object).where(canonical.notna(), None)).repartition(3)
    got = standardize_on_spark(sdf, mapping.domain, mapping.values).toPandas()
    assert len(got) == len(canonical)
    exp, act = _plain(expected[got.columns]), _plain(got)
    for col in exp.columns:
        diff = [(u, e, a) for u, e, a in zip(exp["unique_id"], exp[col], act[col], strict=True)
                if not (e == a or (e is None and a is None)
                        or (isinstance(e, float) and isinstance(a, float) and np.isclose(e, a)))]
        assert diff == [], (col, diff[:5])


def test_export_read_on_spark_equals_ingest_prepare(spark, tmp_path):
    """A department export in Parquet, read and standardized by Spark in 4 row groups, gives
    ingest's records row for row (raw row, hash and row number too) and the same rejections."""
    from resolver.engines.spark_standardize import export_on_spark
    from resolver.ingest import prepare
    from resolver.readers import ROW

    mapping_path = ROOT / "matching_rules" / "sources" / "police.yaml"
    raw, _ = read_export(SAMPLE / "police_household.csv", load_mapping(mapping_path))
    raw = raw.drop(columns=[ROW])
    # a record id seen again in the last row (an empty id is not tried: resolver.readers' Parquet
    # path fails on it before Spark is involved)
    raw = pd.concat([raw, raw.iloc[[7]]], ignore_index=True)
    path = tmp_path / "police.parquet"
    raw.to_parquet(path, row_group_size=500)
    expected = prepare(mapping_path, path)
    records, rejected = export_on_spark(spark, mapping_path, path)
    got = records.toPandas()
    assert len(got) == len(expected.records) == len(raw) - 1
    exp = _plain(expected.records[got.columns])
    act = _plain(got)
    for col in exp.columns:
        diff = [(u, e, a) for u, e, a in zip(exp["unique_id"], exp[col], act[col], strict=True)
                if not (e == a or (e is None and a is None)
                        or (isinstance(e, float) and isinstance(a, float) and np.isclose(e, a)))]
        assert diff == [], (col, diff[:5])
    bad = rejected.toPandas().sort_values("row_number")
    want = sorted((r.row_number, r.reason) for r in expected.rejections)
    assert sorted(zip(bad["row_number"], bad["reason"], strict=True)) == want
    assert len(want) == 1 and want[0][0] == len(raw) and "duplicate record id" in want[0][1]
