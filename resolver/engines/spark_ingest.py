"""`resolver ingest --engine spark`: a Parquet export standardized on Spark, stored as ingest stores it.

Spark reads and standardizes the export (`export_on_spark`: the project's own mapping and
standardizers per partition) and writes the records and the rejected rows as Parquet beside the
store. The store then takes the records in chunks of `CHUNK_ROWS` (pyarrow reads them; one chunk
in memory at a time), all in ONE transaction, exactly as it takes a large file from DuckDB's ingest
(`Store.ingest_frames`): the records table, the history of replaced records, the quarantine (file,
row, field, reason, raw row) and where every row went (`ingest_runs`). The pipeline then reads the
store as after any ingest (`train` / `resolve --engine spark` export from it).
What reaches the driver from Spark: counts, and the row numbers of blank rows (for the account).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow.dataset as ds

from resolver.errors import InputError
from resolver.ingest import CHUNK_ROWS, Prepared
from resolver.mapping import load_mapping
from resolver.readers import ReadReport, Rejection

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from resolver.store import IngestCounts, Store


def ingest_on_spark(store: Store, mapping_path: str | Path, file: str | Path, *, spark: SparkSession | None = None,
                    release: bool = False, chunk: int = CHUNK_ROWS) -> IngestCounts:
    """Standardize the Parquet export `file` on Spark and load it into `store` (one transaction).
    `release`: end the Spark session and its JVM before the store's writes (a one-shot command)."""
    from resolver.engines.spark import spark_session, stop_spark
    from resolver.engines.spark_standardize import export_on_spark

    path = Path(file)
    if path.suffix.lower() != ".parquet":
        raise InputError(f"{file}: --engine spark reads Parquet exports (convert CSV or XLSX with "
                         "`resolver standardize`, or ingest them without --engine)")
    mapping = load_mapping(mapping_path)
    db = Path(store.path)
    folder = db.parent / f".{db.name}.ingest-{mapping.source}"
    shutil.rmtree(folder, ignore_errors=True)
    try:
        spark = spark or spark_session()
        records, rejected = export_on_spark(spark, mapping_path, file)
        records.write.parquet(str(folder / "records"))
        rejected.write.parquet(str(folder / "rejected"))
        rows = spark.read.parquet(str(file)).count()
        blank = _blank_rows(spark, rows, spark.read.parquet(str(folder / "records")),
                            spark.read.parquet(str(folder / "rejected")))
        if release:
            stop_spark()
        report = ReadReport(str(file), "row", None, rows, rows=rows - len(blank))
        for number in blank:
            report.skip("blank", number)
        kept: list[int] = []

        def finish() -> tuple[list[Rejection], dict[str, Any]]:
            ordered = _rejections(folder / "rejected")
            account = Prepared(mapping, pd.DataFrame(index=range(sum(kept))), ordered, report).account()
            return ordered, account

        return store.ingest_frames(mapping.domain, _chunks(folder / "records", chunk, kept), str(file),
                                   mapping.source, finish)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _blank_rows(spark: SparkSession, rows: int, records: DataFrame, rejected: DataFrame) -> list[int]:
    """Row numbers neither loaded nor rejected: the rows `export_on_spark` skipped as blank."""
    used = records.select("row_number").unionByName(rejected.select("row_number"))
    every = spark.range(1, rows + 1).withColumnRenamed("id", "row_number")
    skipped = every.join(used, "row_number", "left_anti").orderBy("row_number")
    return [int(r[0]) for r in skipped.collect()]


def _chunks(folder: Path, chunk: int, kept: list[int]) -> Iterator[pd.DataFrame]:
    """The records Spark wrote, `chunk` rows at a time, as Arrow-backed pandas (DuckDB reads them as is)."""
    for batch in ds.dataset(str(folder), format="parquet").to_batches(batch_size=chunk):
        if batch.num_rows:
            kept.append(batch.num_rows)
            yield batch.to_pandas(types_mapper=pd.ArrowDtype)


def _rejections(folder: Path) -> list[Rejection]:
    table = ds.dataset(str(folder), format="parquet").to_table()
    rows = sorted(table.to_pylist(), key=lambda r: (r["row_number"], r["reason"]))
    return [Rejection(r["file"], int(r["row_number"]), r["field"] or "", r["reason"], r["raw"]) for r in rows]
