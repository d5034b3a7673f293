"""Training on a random sample of source records (docs/scale.md, "Training on a sample").

u and m are shares of pairs, not counts: a random sample estimates them as well as every record
does, and the prior too (each record keeps a share f of its matches among f·N records, so the
share of matching pairs stays k/N). What a sample would change is kept on every record: the
blocking keys' caps (a value shared by 50 records is over a cap of 20 even if the sample drew
10 of them) and the blocking statistics recorded in the model. Term frequencies are not
frozen in the model: resolve computes them on the records it links.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from resolver.engines.inputs import key_statistics, sample_ids_sql, to_arrow
from resolver.errors import InputError

DEFAULT_RECORDS = 1_000_000  # when training.yaml names no `sample_records` (docs/scale.md: measured)


@dataclass
class TrainingSample:
    """A sample drawn in the store: how many records of how many, with which seed, and what the
    blocking keys yield on every record (statistics and the values over each cap)."""

    records: int
    of: int
    seed: int
    stats: list[Any] = field(default_factory=list, repr=False)
    over_cap: dict[str, list[str]] = field(default_factory=dict, repr=False)
    drawn: int | None = None  # the size asked; `records` adds the labelled pairs' records not drawn

    def metadata(self) -> dict[str, Any]:
        drawn = self.records if self.drawn is None else self.drawn
        return {"records": self.records, "of": self.of, "seed": self.seed, "drawn": drawn,
                "labelled_added": self.records - drawn,
                "method": "the records with the lowest md5('<seed>:' || unique_id), and those of labelled pairs"}


def parse_size(value: str | int | None) -> int | None:
    """`--sample`: a number of records (1000000, 1e6, 500k, 2M) or `all` (None: every record)."""
    if value is None:
        return None
    text = str(value).strip().lower().replace("_", "").replace(",", "")
    if text == "all":
        return None
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    try:
        number = float(text[:-1] if scale > 1 else text) * scale
    except ValueError:
        raise InputError(f"sample {value!r}: expected a number of records (e.g. 1000000, 500k, 2M) or 'all'"
                         ) from None
    if number != int(number) or number < 2:
        raise InputError(f"sample {value!r}: expected a whole number of records, at least 2, or 'all'")
    return int(number)


def default_size(training: dict[str, Any]) -> int | None:
    """training.yaml's `sample_records` (`all`: every record), else DEFAULT_RECORDS."""
    return parse_size(training.get("sample_records", DEFAULT_RECORDS))


def sample_in_memory(records: pd.DataFrame, columns: list[str], size: int, seed: int, keys: list[Any],
                     also: list[str] | None = None) -> tuple[pd.DataFrame, TrainingSample] | None:
    """A sample of records held in memory (`Resolver.for_records`), drawn as the store draws it
    (`Reader.records_sample`, `Reader.key_statistics`): the same SQL on a scratch DuckDB. None
    when there are no more than `size` records."""
    if len(records) <= size:
        return None
    wanted = [c for c in columns if c in records.columns]
    read = set(wanted) | {c for k in keys for c in k.columns}
    con = duckdb.connect()
    try:
        con.register("_records", to_arrow(records[[c for c in records.columns if c in read]]))
        con.register("_also", pa.table({"unique_id": pa.array(sorted(set(also or [])), pa.string())}))
        stats, over = key_statistics(con, "_records", keys)
        table = con.sql(f"SELECT {', '.join(_quoted(c) for c in wanted)} FROM _records SEMI JOIN "
                        f"(({sample_ids_sql('_records', size, seed)}) UNION SELECT unique_id FROM _also) s "
                        "USING (unique_id) ORDER BY unique_id").to_arrow_table()
    finally:
        con.close()
    return table.to_pandas(types_mapper=pd.ArrowDtype), TrainingSample(table.num_rows, len(records), seed,
                                                                       stats, over, size)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
