"""Membership tests on columns of text IDs (unique_id, entity_id) of 100k+ rows."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def member_of(column: pd.Series, ids: Iterable[str]) -> np.ndarray:
    """`column.isin(ids)` as a boolean array: pandas' isin on Arrow-backed text makes a pyarrow
    scalar per ID (~1 s for 100k IDs), pyarrow's is_in hashes them at once."""
    values = pa.array([str(i) for i in ids], type=pa.large_string())
    array = pa.Array.from_pandas(column)
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        return column.isin(values.to_pylist()).to_numpy(dtype=bool)
    found = pc.is_in(array.cast(pa.large_string()), value_set=values)
    return np.asarray(found.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
