"""Where linking runs: DuckDB in-process (default) or Spark, from the same rule files.

An engine is the few things that differ between backends, nothing more:

- ``connect()`` — a session handle (a DuckDB connection, the SparkSession);
- ``database_api(con)`` — Splink's ``DatabaseAPI`` for that session;
- ``prepare_input(con, records, columns, keys, over_cap)`` — the input table with its bounded
  ``_bk_*`` blocking-key columns and per-key statistics (the key SQL is shared); ``over_cap``
  gives the values to null when the records are a training sample (caps as on every record);
- ``load_frame(con, name, frame)`` — a pandas frame as a named table;
- ``settings(settings)`` — compiled rules or a saved model, in the engine's SQL dialect;
- ``portable_settings(trained, rules_settings)`` — a trained model back in DuckDB SQL,
  so model files are the same whatever engine fitted them;
- ``query(con, sql)`` — DuckDB-dialect SQL, run, as pandas; ``columns(con, table)``.

Everything else (standardization, clustering under constraints, golden records, the
store) is Python over pandas and the same for both engines.
"""

from __future__ import annotations

from typing import Any, Protocol

import pandas as pd

ENGINES = ("duckdb", "spark")


class Engine(Protocol):
    name: str

    def connect(self) -> Any: ...

    def database_api(self, con: Any) -> Any: ...

    def prepare_input(self, con: Any, records: pd.DataFrame, columns: set[str],
                      keys: list[Any], over_cap: dict[str, list[str]] | None = None) -> tuple[str, list[Any]]: ...

    def load_frame(self, con: Any, name: str, frame: pd.DataFrame) -> str: ...

    def settings(self, settings: Any) -> Any: ...

    def portable_settings(self, trained: dict[str, Any], rules_settings: Any) -> dict[str, Any]: ...

    def query(self, con: Any, sql: str) -> pd.DataFrame: ...

    def columns(self, con: Any, table: str) -> list[str]: ...


def get_engine(name: str | Engine = "duckdb") -> Engine:
    """The engine called `name` ("duckdb" or "spark"); an Engine passes through."""
    if not isinstance(name, str):
        return name
    if name == "duckdb":
        from resolver.engines.duckdb import DuckDBEngine

        return DuckDBEngine()
    if name == "spark":
        from resolver.engines.spark import SparkEngine

        return SparkEngine()
    raise ValueError(f"unknown engine {name!r}: expected one of {', '.join(ENGINES)}")
