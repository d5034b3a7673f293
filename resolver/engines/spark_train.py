"""`resolver train --engine spark`: the records reach Spark as Parquet, never through the driver.

The store writes the columns training reads to a Parquet file beside it (DuckDB streams them, as
it exports the records for `resolve --engine spark`), Spark reads that file, and
`resolver.linking.train.train_model` fits on the Spark DataFrame: bounded blocking keys, the
prior, u sampling, EM and the pairs counted per level run as Spark SQL. What comes back to the
driver is small and does not grow with the records: the blocking statistics (a row per key),
Splink's estimates and EM log (a row per comparison level), and the record count and fingerprint
(a row per partition, `count_and_fingerprint`). tests/engines/test_spark_no_collect.py scans this
module; tests/engines/test_engine_spark.py trains with every driver pull watched.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from resolver.errors import NotFoundError
from resolver.linking.model import fingerprint_of, unique_id_hash_sum

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from resolver.store import Store


def scratch_folder(store: Store, domain: str) -> Path:
    """Where the training records are written: beside the store (on a cluster the store's folder
    must be one the executors read too, as for a resolution's snapshot)."""
    db = Path(store.path)
    return db.parent / f".{db.name}.train-{domain}"


@contextmanager
def records_on_spark(store: Store, domain: str, columns: set[str], spark: SparkSession, folder: Path | None = None,
                     sample: tuple[int, int, list[str]] | None = None) -> Iterator[tuple[DataFrame, int]]:
    """The domain's source records with `columns` (and unique_id, source) as a Spark DataFrame
    read from Parquet the store wrote, and their number; the file is removed when the block ends.
    `sample` (size, seed, also): only the store's random sample (resolver.linking.sample), drawn there."""
    from resolver.store.store import records_table

    table = records_table(domain)
    if not store.has_table(table):
        raise NotFoundError(f"{store.path}: no {domain} records ingested yet")
    folder = folder or scratch_folder(store, domain)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    try:
        path = folder / "records.parquet"
        with store.reader() as reader:
            written = reader.records_columns_to_parquet(
                table, ["unique_id", "source", *sorted(columns - {"unique_id", "source"})], str(path), sample)
        yield spark.read.parquet(str(path)), written
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def count_and_fingerprint(records: DataFrame) -> tuple[int, str]:
    """The record count and `resolver.linking.model.fingerprint_records` of a Spark DataFrame:
    each partition hashes its unique_ids, and one row per partition (hash sum, count) reaches the
    driver, which adds them up. Equal to the pandas path's on the same records (tested)."""
    def part(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        total, n = 0, 0
        for batch in batches:
            total = (total + unique_id_hash_sum(batch["unique_id"])) & (2**64 - 1)
            n += len(batch)
        yield pd.DataFrame({"hash_sum": [str(total)], "n": [n]})

    rows = records.select("unique_id").mapInPandas(part, "hash_sum string, n long").collect()
    total = sum(int(r["hash_sum"]) for r in rows) & (2**64 - 1)
    count = sum(int(r["n"]) for r in rows)
    return count, fingerprint_of(total, count, list(records.columns))
