"""Spark: the same rule files through Splink's SparkAPI, for data that outgrow one machine.

Set-up needs only what a fresh machine gets from PyPI and the system: ``pyspark`` (the
``spark`` extra) and a Java runtime (17+ for Spark 4). Splink ships its similarity UDFs
(``jaro_winkler``, ``damerau_levenshtein``) as a jar inside its wheel; ``spark_session``
puts it on ``spark.jars``. Splink breaks lineage by writing intermediate tables as parquet
under the checkpoint directory, so that directory must be on a disk with room (on a
cluster: HDFS/S3 via ``RESOLVER_SPARK_CHECKPOINT``).

Environment overrides (all optional): ``RESOLVER_SPARK_MASTER`` (default ``local[*]``),
``RESOLVER_SPARK_MEMORY`` (driver memory, default ``4g``), ``RESOLVER_SPARK_PARTITIONS``
(shuffle partitions, default 4 x cores), ``RESOLVER_SPARK_CHECKPOINT`` (a directory).
"""

from __future__ import annotations

import atexit
import dataclasses
import itertools
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from resolver.engines.dialect import duckdb_to_spark, portable_settings, spark_settings
from resolver.engines.inputs import KeyStats, key_expression, to_arrow

if TYPE_CHECKING:
    from pyspark.sql import DataFrame as SparkDataFrame
    from pyspark.sql import SparkSession

_counter = itertools.count()

_LOG4J = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
logger.spark.name = org.apache.spark
logger.spark.level = error
logger.hadoop.name = org.apache.hadoop
logger.hadoop.level = error
"""


def _quiet_python_loggers() -> None:
    for name in ("py4j", "py4j.clientserver", "py4j.java_gateway", "splink"):
        logging.getLogger(name).setLevel(logging.ERROR)


def spark_session(
    *,
    master: str | None = None,
    driver_memory: str | None = None,
    shuffle_partitions: int | None = None,
    checkpoint_dir: str | Path | None = None,
    app_name: str = "resolver",
    java_options: str = "",
) -> SparkSession:
    """The process's SparkSession for linking (created once; later calls return it).

    Local mode runs every task inside the driver JVM, so `driver_memory` is the memory
    Spark may use. Shuffle partitions default to 4 per core: small enough that a local
    run is not dominated by task overhead, enough to spread a cluster's work.
    `java_options` are added to the driver JVM's command line.
    """
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    master = master or os.environ.get("RESOLVER_SPARK_MASTER", "local[*]")
    driver_memory = driver_memory or os.environ.get("RESOLVER_SPARK_MEMORY", "4g")
    cores = os.cpu_count() or 2
    partitions = shuffle_partitions or int(os.environ.get("RESOLVER_SPARK_PARTITIONS", 4 * cores))
    chosen = checkpoint_dir or os.environ.get("RESOLVER_SPARK_CHECKPOINT")
    base = Path(chosen or tempfile.mkdtemp(prefix="resolver-spark-"))
    if not chosen:  # our own scratch directory: gone when the process ends
        atexit.register(shutil.rmtree, base, ignore_errors=True)
    base.mkdir(parents=True, exist_ok=True)
    log4j = base / "log4j2.properties"
    log4j.write_text(_LOG4J, encoding="utf-8")
    # mapInPandas workers must run this interpreter (the venv), not whatever `python3` is
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    _quiet_python_loggers()
    spark = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.jars", similarity_jar_location())
        .config("spark.driver.memory", driver_memory)
        .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile=file:{log4j} {java_options}".strip())
        .config("spark.sql.shuffle.partitions", str(partitions))
        .config("spark.default.parallelism", str(partitions))
        .config("spark.sql.adaptive.enabled", "true")
        .config("spark.sql.adaptive.coalescePartitions.enabled", "true")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.warehouse.dir", str(base / "warehouse"))
        .config("spark.local.dir", str(base / "local"))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    spark.sparkContext.setCheckpointDir(str(base / "checkpoints"))
    return spark


def stop_spark() -> None:
    """End the process's SparkSession and the JVM it launched (in local mode: every executor's
    memory). For a one-shot command that still has work without Spark: the JVM keeps its heap
    until it exits, so what comes after would otherwise add to it. A later `spark_session()`
    starts a new JVM."""
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()
    gateway = SparkContext._gateway
    if gateway is None:
        return
    proc = getattr(gateway, "proc", None)  # None when the JVM was not launched by this process
    gateway.shutdown()
    SparkContext._gateway = None
    SparkContext._jvm = None
    if proc is not None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except Exception:  # a JVM that ignores SIGTERM
            proc.kill()
            proc.wait()


def _lineage_method(spark: SparkSession) -> str:
    """How Splink cuts lineage: parquet under the checkpoint dir on a cluster (survives lost
    executors, frees memory), persist (memory, spilling to disk) in local mode."""
    default = "persist" if (spark.sparkContext.master or "").startswith("local") else "parquet"
    return os.environ.get("RESOLVER_SPARK_LINEAGE", default)


def _splink_api(spark: SparkSession) -> Any:
    """Splink's SparkAPI, with u sampling's record sample held in a few partitions.

    Splink blocks that sample (a few thousand records) with itself on `1=1`, which Spark runs as a
    cartesian product: partitions x partitions tasks, per comparison. The sample keeps the input's
    partitioning (Splink repartitions it under another name, `__splink__df_concat_with_tf_sample`),
    so an input in 49 partitions made 2,401 tasks per comparison and chunk, and training on 484k
    person records ran past 19 minutes. With sqrt(parallelism) partitions the product is one task
    per core (cluster: one wave), whatever the input's partitioning.
    """
    import math

    from splink.backends.spark import SparkAPI

    parts = max(1, math.isqrt(spark.sparkContext.defaultParallelism))

    class _SparkAPI(SparkAPI):  # type: ignore[misc]
        def _repartition_if_needed(self, spark_df: Any, templated_name: str) -> Any:
            if templated_name == "__splink__df_concat_sample":
                return spark_df.repartition(parts)
            return super()._repartition_if_needed(spark_df, templated_name)

    return _SparkAPI(spark_session=spark, break_lineage_method=_lineage_method(spark))


def _q(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


class SparkEngine:
    name = "spark"

    def connect(self) -> SparkSession:
        return spark_session()

    def database_api(self, con: SparkSession) -> Any:
        _quiet_python_loggers()
        return _splink_api(con)

    def prepare_input(self, con: SparkSession, records: pd.DataFrame | SparkDataFrame, columns: set[str],
                      keys: list[Any], over_cap: dict[str, list[str]] | None = None) -> tuple[str, list[Any]]:
        """The bounded blocking keys of resolver.engines.inputs, computed by Spark SQL.

        `records` is a pandas frame (sent to Spark) or already a Spark DataFrame (the Spark
        pipeline's, read from Parquet: nothing passes through the driver). The key expression
        is the DuckDB one, transpiled; block sizes come from one GROUP BY per key, and values
        over a key's cap are nulled through a (broadcast) left join on the few over-cap values.
        """
        n = next(_counter)
        wanted = [c for c in records.columns if c in columns or c in ("unique_id", "source")]
        src = f"_linking_src_{n}"
        if isinstance(records, pd.DataFrame):
            con.createDataFrame(to_arrow(records[wanted])).createOrReplaceTempView(src)
        else:
            records.select(*[_q(c) for c in wanted]).createOrReplaceTempView(src)
        have = set(wanted)
        keep = ["unique_id"] + sorted(c for c in columns if c in have and c != "unique_id")
        if "source" in have and "source" not in keep:
            keep.append("source")
        key_sql = [f"{duckdb_to_spark(key_expression(k))} AS {_q('_raw' + k.key_column)}" for k in keys]
        raw = con.sql(f"SELECT {', '.join(map(_q, keep))}" + "".join(f", {s}" for s in key_sql)
                      + f" FROM {src}").persist()
        raw_view, sizes = f"_linking_raw_{n}", f"_linking_sizes_{n}"
        raw.createOrReplaceTempView(raw_view)
        # every key's block sizes in one shuffle: (key index, value) -> count
        pairs = ", ".join(f"{i}, {_q('_raw' + k.key_column)}" for i, k in enumerate(keys))
        block_sizes = con.sql(
            f"SELECT k, v, count(*) AS c FROM (SELECT stack({len(keys)}, {pairs}) AS (k, v) "
            f"FROM {raw_view}) WHERE v IS NOT NULL GROUP BY k, v").persist()
        block_sizes.createOrReplaceTempView(sizes)
        caps = " ".join(f"WHEN {i} THEN {int(k.max_block_size)}" for i, k in enumerate(keys)
                        if k.max_block_size)
        ok = f"c <= coalesce(CASE k {caps} END, c)" if caps else "true"
        rows = {r[0]: r for r in con.sql(
            f"SELECT k, count(CASE WHEN {ok} THEN 1 END), coalesce(sum(CASE WHEN {ok} THEN c END), 0), "
            f"count(CASE WHEN NOT ({ok}) THEN 1 END), coalesce(sum(CASE WHEN NOT ({ok}) THEN c END), 0), "
            f"coalesce(sum(CASE WHEN {ok} THEN c * (c - 1) DIV 2 END), 0), "
            f"coalesce(sum(c * (c - 1) DIV 2), 0) FROM {sizes} GROUP BY k").collect()}
        fields = {f.name for f in dataclasses.fields(KeyStats)}
        stats, joins, selects, over_views = [], [], [], []
        for i, k in enumerate(keys):
            row = rows.get(i, (i, 0, 0, 0, 0, 0, 0))
            values = dict(name=k.name, records_keyed=int(row[2]), blocks=int(row[1]),
                          blocks_over_cap=int(row[3]), records_over_cap=int(row[4]),
                          pairs=int(row[5]), pairs_without_cap=int(row[6]))
            stats.append(KeyStats(**{f: v for f, v in values.items() if f in fields}))
            rawcol = _q("_raw" + k.key_column)
            if over_cap is not None and k.max_block_size:  # a training sample: caps as on every record
                alias, view = f"_over_{i}", f"_linking_over_{n}_{i}"
                con.createDataFrame([(v,) for v in over_cap.get(k.name) or []], "v string") \
                    .createOrReplaceTempView(view)
                over_views.append(view)
                joins.append(f" LEFT JOIN (SELECT /*+ BROADCAST */ v FROM {view}) {alias} ON r.{rawcol} = {alias}.v")
                selects.append(f"CASE WHEN {alias}.v IS NULL THEN r.{rawcol} END AS {_q(k.key_column)}")
            elif k.max_block_size and row[3]:
                alias = f"_over_{i}"
                joins.append(f" LEFT JOIN (SELECT /*+ BROADCAST */ v FROM {sizes} "
                             f"WHERE k = {i} AND c > {int(k.max_block_size)}) {alias} "
                             f"ON r.{rawcol} = {alias}.v")
                selects.append(f"CASE WHEN {alias}.v IS NULL THEN r.{rawcol} END AS {_q(k.key_column)}")
            else:
                selects.append(f"r.{rawcol} AS {_q(k.key_column)}")
        table = f"linking_input_{n}"
        final = con.sql(f"SELECT {', '.join('r.' + _q(c) for c in keep)}"
                        + "".join(f", {s}" for s in selects)
                        + f" FROM {raw_view} r" + "".join(joins))
        final.checkpoint().createOrReplaceTempView(table)  # materialized; lineage cut here
        raw.unpersist()
        block_sizes.unpersist()
        for view in (sizes, raw_view, src, *over_views):
            con.catalog.dropTempView(view)
        return table, stats

    def load_frame(self, con: SparkSession, name: str, frame: pd.DataFrame) -> str:
        con.createDataFrame(to_arrow(frame)).createOrReplaceTempView(name)
        return name

    def settings(self, settings: Any) -> dict[str, Any]:
        if hasattr(settings, "create_settings_dict"):  # compiled rules (SettingsCreator)
            settings = settings.create_settings_dict("duckdb")
        return spark_settings(settings)

    def portable_settings(self, trained: dict[str, Any], rules_settings: Any) -> dict[str, Any]:
        if hasattr(rules_settings, "create_settings_dict"):
            rules_settings = rules_settings.create_settings_dict("duckdb")
        return portable_settings(trained, rules_settings)

    def query(self, con: SparkSession, sql: str) -> pd.DataFrame:
        return con.sql(duckdb_to_spark(sql)).toPandas()

    def columns(self, con: SparkSession, table: str) -> list[str]:
        return list(con.table(table).columns)
