"""The incremental path's neighbourhood scoring (resolver.lookup.pairs) against Splink's own
predict on the same records: the same pairs, blocking rule, match weights and probabilities."""

from __future__ import annotations

import copy
import dataclasses
import logging

import pandas as pd
import pytest
from lookup_data import build_store

from resolver.linking.model import LinkModel, load_model
from resolver.linking.predict import predict_pairs
from resolver.lookup import pairs as pairs_module
from resolver.lookup.pairs import neighbourhood_pairs
from resolver.lookup.scoring import compile_model
from resolver.store import open_store


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    logging.getLogger("splink").setLevel(logging.ERROR)
    built = build_store(tmp_path_factory.mktemp("pairs"), n_enterprises=150, n_people=5)
    store = open_store(built.path)
    try:
        records = store.load_records("enterprise")
    finally:
        store.close()
    return records.drop(columns=["raw", "record_hash", "file", "ingested_at"]), load_model(built.model_path)


def _tight(model: LinkModel) -> LinkModel:
    """Caps of 2 and an excluded value: blocks over the cap and excluded keys must block nothing."""
    meta = copy.deepcopy(model.metadata)
    for key in meta["blocking_keys"]:
        key["max_block_size"] = 2
    meta["blocking_keys"][2]["exclude_values"] = {"district_code": ["330106"]}
    return dataclasses.replace(model, metadata=meta, version=model.version + "-tight")


def _splink(records: pd.DataFrame, model: LinkModel, touched: set[str], threshold: float) -> pd.DataFrame:
    pairs = predict_pairs(records, model, threshold=threshold)
    pairs = pairs[pairs["unique_id_l"].isin(touched) | pairs["unique_id_r"].isin(touched)]
    return pairs.sort_values(["unique_id_l", "unique_id_r"]).reset_index(drop=True)


@pytest.mark.parametrize("scored_in", ["python", "sql"])
@pytest.mark.parametrize("variant", ["trained", "tight_caps"])
@pytest.mark.parametrize("threshold", [0.0, None, 0.99999])
def test_neighbourhood_pairs_match_splinks_predict(sample, variant, threshold, scored_in, monkeypatch):
    """Both ways of scoring: each pair's levels in Python (few pairs) or in one SQL query (many)."""
    monkeypatch.setattr(pairs_module, "PYTHON_UP_TO", 10**9 if scored_in == "python" else 0)
    records, model = sample
    if variant == "tight_caps":
        model = _tight(model)
    touched = set(records["unique_id"].iloc[::3])
    limit = float(model.metadata["clustering"]["predict_threshold"]) if threshold is None else threshold
    theirs = _splink(records, model, touched, limit)
    ours = neighbourhood_pairs(records, touched, model, compile_model(model), threshold)
    assert ours is not None
    assert len(theirs) >= 10
    assert list(ours["unique_id_l"]) == list(theirs["unique_id_l"])
    assert list(ours["unique_id_r"]) == list(theirs["unique_id_r"])
    assert list(ours["match_key"]) == list(theirs["match_key"].astype(str))
    for column in [c for c in theirs.columns if c.startswith("mw_")] + ["match_weight", "match_probability"]:
        assert ours[column].to_numpy() == pytest.approx(theirs[column].to_numpy(), abs=1e-6), column
    if variant == "tight_caps":  # the caps cut pairs the trained caps keep
        assert len(ours) < len(neighbourhood_pairs(records, touched, sample[1], compile_model(sample[1]), threshold))


def test_a_record_with_no_blocking_key_value_has_no_pairs(sample):
    records, model = sample
    lone = records.iloc[[0]].assign(unique_id="tax:lone", **{c: None for c in
                                    {c for k in model.blocking_keys for c in k.columns}})
    pairs = neighbourhood_pairs(pd.concat([records, lone], ignore_index=True), {"tax:lone"}, model,
                                compile_model(model), 0.0)
    assert pairs is not None and pairs.empty
    assert list(pairs.columns)[:5] == ["unique_id_l", "unique_id_r", "match_probability", "match_weight", "match_key"]


def test_a_model_the_compiler_cannot_read_is_left_to_splink(sample):
    records, model = sample
    compiled = dataclasses.replace(compile_model(model), python=None)
    assert neighbourhood_pairs(records, set(records["unique_id"].iloc[:3]), model, compiled) is None


@pytest.mark.parametrize("scored_in", ["python", "sql"])
@pytest.mark.parametrize("variant", ["trained", "tight_caps"])
def test_pairs_by_arrow_equal_the_row_loops_and_run_none_of_them(sample, variant, scored_in, monkeypatch):
    """The keys, blocks, pairs and term frequencies of text columns in Arrow/numpy give the row
    loops' frame exactly (missing and empty values, excluded values, caps), without running them."""
    monkeypatch.setattr(pairs_module, "PYTHON_UP_TO", 10**9 if scored_in == "python" else 0)
    records, model = sample
    if variant == "tight_caps":
        model = _tight(model)
    records = records.copy()
    key_columns = sorted({c for k in model.blocking_keys for c in k.columns})
    records.loc[records.index[::7], key_columns[0]] = None
    records.loc[records.index[3::11], key_columns[-1]] = ""
    touched = set(records["unique_id"].iloc[::3])
    compiled = compile_model(model)
    monkeypatch.setattr(pairs_module, "VECTORIZED", False)
    rows = neighbourhood_pairs(records, touched, model, compiled, 0.0)
    monkeypatch.setattr(pairs_module, "VECTORIZED", True)
    for loop in ["_key_values", "_capped", *(["_term_frequencies"] if scored_in == "sql" else [])]:
        monkeypatch.setattr(pairs_module, loop, lambda *a, **k: pytest.fail("a row loop ran"))
    arrow = neighbourhood_pairs(records, touched, model, compiled, 0.0)
    assert rows is not None and arrow is not None and len(rows) >= 10
    pd.testing.assert_frame_equal(arrow, rows, check_exact=True)


def test_a_key_column_not_text_takes_the_row_loops(sample):
    records, model = sample
    column = model.blocking_keys[0].columns[0]
    odd = records.assign(**{column: range(len(records))})
    assert pairs_module._pairs_vectorized(odd, set(odd["unique_id"].iloc[:3]), model) is None
    assert neighbourhood_pairs(odd, set(odd["unique_id"].iloc[:3]), model, compile_model(model), 0.0) is None


def test_pairs_scored_in_sql_open_no_database_per_write_and_score_alike(sample, monkeypatch):
    """Many pairs' levels run on this thread's in-memory DuckDB, opened once (opening one per
    write cost ~20 ms of CPU), over every row of the neighbourhood: the same frame, to the bit,
    as a database of its own per call over the rows in a pair."""
    import duckdb

    monkeypatch.setattr(pairs_module, "PYTHON_UP_TO", 0)
    records, model = sample
    touched = set(records["unique_id"].iloc[::3])
    compiled = compile_model(model)
    monkeypatch.setattr(pairs_module, "REUSED", False)
    alone = neighbourhood_pairs(records, touched, model, compiled, 0.0)
    monkeypatch.setattr(pairs_module, "REUSED", True)
    first = neighbourhood_pairs(records, touched, model, compiled, 0.0)  # may open this thread's database
    monkeypatch.setattr(duckdb, "connect", lambda *a, **k: pytest.fail("a database opened for one write"))
    again = neighbourhood_pairs(records[::-1].reset_index(drop=True), touched, model, compiled, 0.0)
    assert alone is not None and first is not None and again is not None and len(alone) >= 10
    pd.testing.assert_frame_equal(first, alone, check_exact=True)
    pd.testing.assert_frame_equal(again.sort_values(["unique_id_l", "unique_id_r"]).reset_index(drop=True),
                                  alone.sort_values(["unique_id_l", "unique_id_r"]).reset_index(drop=True),
                                  check_exact=True)
