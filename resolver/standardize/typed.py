"""The typed output columns (boolean, float, Int64) built straight from their values.

`pd.array(dtype="boolean")`, `pd.to_numeric` and `pd.array(dtype="Int64")` check and convert
value by value behind ~0.1-0.3 ms of fixed cost a column: ~1 ms of a one-record frame's ~14.
The values here are what the parsers give (True/False/None, float/None, int), so the arrays
are made directly; anything else takes the pandas call, which defines the result. From
`SMALL` values on, the pandas calls are as cheap as these Python passes (100k values: 15 ms
against 37 ms for a boolean column), so they are used.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

SMALL = 1000


def boolean_array(values: np.ndarray) -> Any:
    """pd.array(values, dtype="boolean") for True/False/None values."""
    if values.dtype == object and len(values) < SMALL:
        mask = np.fromiter((v is None for v in values), dtype=bool, count=len(values))
        truth = np.fromiter((v is True for v in values), dtype=bool, count=len(values))
        # anything but True/False/None (NaN, np.bool_, a string): pandas decides
        if (mask | truth | np.fromiter((v is False for v in values), dtype=bool,
                                       count=len(values))).all():
            return pd.arrays.BooleanArray(truth, mask)
    return pd.array(values, dtype="boolean")


def float_array(values: np.ndarray) -> Any:
    """pd.to_numeric(values, errors="coerce") as float64 for float/None values."""
    if values.dtype == object and len(values) < SMALL and \
            all(v is None or type(v) is float for v in values):
        return np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    return pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").astype(float).to_numpy()


def int_array(values: np.ndarray) -> Any:
    """pd.array(values, dtype="Int64") for integers (a NumPy array of them, or Python ints)."""
    if values.dtype == object and len(values) < SMALL and \
            all(type(v) is int and -2**63 <= v < 2**63 for v in values):
        values = np.array(values.tolist(), dtype=np.int64)
    if values.dtype.kind in "iu" and values.dtype.itemsize <= 8 and values.dtype != np.uint64:
        return pd.arrays.IntegerArray(values.astype(np.int64), np.zeros(len(values), dtype=bool))
    return pd.array(values, dtype="Int64")
