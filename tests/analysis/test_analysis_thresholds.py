"""threshold_sweep: each row is the clustering at that threshold scored against truth."""

from __future__ import annotations

import pandas as pd
import pytest

from resolver.analysis.thresholds import best_threshold, threshold_sweep

CLUSTERING = {"match_probability_threshold": 0.9, "constraints": [
    {"kind": "different_valid", "column": "uscc", "valid_flag": "uscc_valid"}]}


def _data():
    records = pd.DataFrame({
        "unique_id": ["t:1", "c:1", "q:1", "t:2", "c:2"],
        "uscc": ["U1", "U1", None, "U2", "U3"],
        "uscc_valid": pd.array([True, True, pd.NA, True, True], dtype="boolean"),
    })
    pairs = pd.DataFrame({
        "unique_id_l": ["c:1", "c:1", "c:2", "q:1"],
        "unique_id_r": ["t:1", "q:1", "t:2", "t:2"],
        "match_probability": [0.99, 0.7, 0.95, 0.6],
    })
    # truth: {t:1, c:1, q:1} and {t:2}, {c:2}
    truth = pd.DataFrame({"source": ["t", "c", "q", "t", "c"],
                          "source_record_id": ["1", "1", "1", "2", "2"],
                          "entity_id": ["A", "A", "A", "B", "C"]})
    return records, pairs, truth


def test_sweep_trades_recall_for_precision():
    records, pairs, truth = _data()
    sweep = threshold_sweep(records, pairs, truth, CLUSTERING, [0.5, 0.65, 0.9]).set_index("threshold")
    # c:2 and t:2 carry different valid codes: refused at every threshold up to 0.95
    assert sweep.loc[0.9, "refused"] == 1
    # 0.5: q:1 joins c:1 (0.7); then q:1-t:2 (0.6) would put U1 and U2 together: refused too
    assert sweep.loc[0.5, "refused"] == 2
    assert sweep.loc[0.5, "recall"] == 1.0 and sweep.loc[0.5, "precision"] == 1.0
    assert sweep.loc[0.5, "entities"] == 3
    assert sweep.loc[0.9, "recall"] == pytest.approx(1 / 3)
    assert sweep.loc[0.9, "precision"] == 1.0 and sweep.loc[0.9, "entities"] == 4
    assert sweep.loc[0.65, "entities"] == 3
    assert best_threshold(sweep.reset_index()) == 0.65


def test_threshold_outside_zero_one_is_refused():
    records, pairs, truth = _data()
    with pytest.raises(ValueError, match="not a probability"):
        threshold_sweep(records, pairs, truth, CLUSTERING, [1.5])
