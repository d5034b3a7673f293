"""Small frames take shortcuts past pandas (resolver.standardize.typed, frame.factorize, the
2-D cell array of an all-object frame, string columns taken in NumPy); a big frame takes
pandas' own calls, which define the result. The same records standardized both ways must give
the same rows: every value, dtype, column and flag."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from resolver.canonical import apply_mapping
from resolver.mapping import load_mapping
from resolver.readers import read_export
from resolver.standardize import frame as frame_module
from resolver.standardize import typed
from resolver.standardize.records import standardize_records
from resolver.standardize.tokens import NameTokenizer

SAMPLE = Path("fixtures/sample")
MAPPINGS = Path("matching_rules/sources")
CHUNKS = (1, 2, 7, 40)  # records per call, in turn


def _canonical(source: str) -> tuple[pd.DataFrame, str, dict]:
    manifest = json.loads((SAMPLE / "manifest.json").read_text(encoding="utf-8"))
    file = next(f["file"] for f in manifest["files"] if f["source"] == source)
    mapping = load_mapping(MAPPINGS / f"{source}.yaml")
    raw, _ = read_export(SAMPLE / file, mapping)
    frame, _ = apply_mapping(raw, mapping, file)
    return frame.drop(columns=["raw", "record_hash"]), mapping.domain, mapping.values


@pytest.mark.parametrize("source", ["tax", "commerce", "police", "social_security"])
def test_small_object_frames_give_the_big_frame_rows(source):
    whole, domain, maps = _canonical(source)
    assert len(whole) >= frame_module._ARROW_TAKE_FROM  # the big frame takes pandas' paths
    tokenizer = NameTokenizer()  # taught every trade name first: token lists comparable
    expected = standardize_records(whole, domain, value_maps=maps, tokenizer=tokenizer, workers=1)
    records = whole.head(240).to_dict("records")  # as the API's calls send them
    parts, start, i = [], 0, 0
    while start < len(records):
        chunk = records[start:start + CHUNKS[i % len(CHUNKS)]]
        parts.append(standardize_records(pd.DataFrame(chunk, dtype=object), domain, value_maps=maps,
                                         tokenizer=tokenizer))
        start, i = start + len(chunk), i + 1
    got = pd.concat(parts, ignore_index=True)
    want = expected.head(len(records))
    assert list(got.columns) == list(want.columns)
    assert dict(got.dtypes) == dict(parts[0].dtypes) == dict(want.dtypes)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert got["std_flags"].ne("").any()  # some rows carry flags: they were compared too


@pytest.mark.parametrize("values", [
    [True, False, None], [None, None], [], [np.True_, False], [True, float("nan")], [1, 0],
])
def test_boolean_array_is_pandas_boolean(values):
    cells = np.array(values, dtype=object) if values else np.array([], dtype=object)
    ours = typed.boolean_array(cells)
    theirs = pd.array(cells, dtype="boolean")
    assert ours.dtype == theirs.dtype
    pd.testing.assert_extension_array_equal(ours, theirs)


@pytest.mark.parametrize("values", [
    [1.5, None, -0.0], [None], [], [float("inf"), float("nan")], [2, "3.5", None], ["x", 1.0],
])
def test_float_array_is_to_numeric(values):
    cells = np.array(values + [None], dtype=object)[:len(values)]  # 1-D object array
    ours = typed.float_array(cells)
    theirs = pd.to_numeric(pd.Series(cells, dtype=object), errors="coerce").astype(float).to_numpy()
    assert ours.dtype == theirs.dtype == np.float64
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("values", [
    np.array([1, 2, 3]), np.array([7], dtype=np.int32), np.array([1, 2**40], dtype=object),
    np.array([], dtype=object), np.array([1, None], dtype=object),
])
def test_int_array_is_pandas_int64(values):
    ours = typed.int_array(values)
    theirs = pd.array(values, dtype="Int64")
    pd.testing.assert_extension_array_equal(ours, theirs)


@pytest.mark.parametrize("values", [
    ["b", "a", None, "b", "c", "a"], [None, None], [], ["x"], ["a", 1, None, 1.0], ["a", float("nan")],
])
def test_factorize_is_pandas_factorize(values):
    cells = np.empty(len(values), dtype=object)
    cells[:] = values
    codes, uniques = frame_module.factorize(cells)
    want_codes, want_uniques = pd.factorize(cells)
    np.testing.assert_array_equal(codes, want_codes)
    assert list(uniques) == list(want_uniques)
