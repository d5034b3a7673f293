"""Watch what reaches the driver while Spark code runs: every pull of rows from a Spark DataFrame
(collect, toPandas, toArrow, ...) and every frame sent from the driver to Spark, with its row
count and columns; reading the store's records into pandas fails at once (issue #20).

    with driver_watch() as seen:
        resolver.train()
    assert too_big(seen) == []
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

PULLS = ("collect", "toPandas", "toArrow", "toLocalIterator", "take", "head", "tail")
# Splink's estimates, EM's per-level counts, the blocking statistics: a row per comparison level
# or key, a few dozen. The committed sample has ~4,000 records per domain, so records or pairs
# pulled to the driver are far above this.
SMALL = 100


@dataclass
class Seen:
    pulled: list[tuple[str, int, tuple[str, ...]]] = field(default_factory=list)  # (method, rows, columns)
    sent: list[tuple[str, int]] = field(default_factory=list)  # (type, rows) given to createDataFrame


def _rows(value: Any) -> int:
    if hasattr(value, "num_rows"):
        return int(value.num_rows)
    try:
        return len(value)
    except TypeError:
        return -1  # an iterator (toLocalIterator): counted as unbounded


@contextmanager
def driver_watch() -> Iterator[Seen]:
    from pyspark.sql import SparkSession
    from pyspark.sql.classic.dataframe import DataFrame

    from resolver.engine import Resolver
    from resolver.store.reads import Reader
    from resolver.store.store import Store

    seen = Seen()
    with pytest.MonkeyPatch.context() as mp:
        for name in PULLS:
            original = getattr(DataFrame, name)

            def pull(self: Any, *args: Any, _original: Any = original, _name: str = name, **kwargs: Any) -> Any:
                out = _original(self, *args, **kwargs)
                seen.pulled.append((_name, _rows(out), tuple(self.columns)))
                return out

            mp.setattr(DataFrame, name, pull)
        create = SparkSession.createDataFrame

        def send(self: Any, data: Any, *args: Any, **kwargs: Any) -> Any:
            seen.sent.append((type(data).__name__, _rows(data)))
            return create(self, data, *args, **kwargs)

        mp.setattr(SparkSession, "createDataFrame", send)

        def refuse(*args: Any, **kwargs: Any) -> Any:
            raise AssertionError("the store's records were read into pandas on the Spark path")

        mp.setattr(Resolver, "linking_records", refuse)
        mp.setattr(Resolver, "records", refuse)
        mp.setattr(Store, "load_records", refuse)
        mp.setattr(Reader, "records_columns", refuse)
        yield seen


def too_big(seen: Seen) -> list[Any]:
    """Pulls and sends above SMALL rows (or of unknown size), and pulls that carry record ids."""
    return ([p for p in seen.pulled if not 0 <= p[1] <= SMALL or "unique_id" in p[2]]
            + [s for s in seen.sent if not 0 <= s[1] <= SMALL])
