import pandas as pd
import pytest

from resolver.linking.evaluate import evaluate


def test_metrics_on_hand_checked_example():
    # truth: {a1,b1,c1} one entity, {a2,b2} another; predicted: {a1,b1}, {c1,a2,b2}
    truth = pd.DataFrame({
        "source": ["a", "b", "c", "a", "b"],
        "source_record_id": ["1", "1", "1", "2", "2"],
        "entity_id": ["X", "X", "X", "Y", "Y"],
    })
    clusters = pd.DataFrame({"unique_id": ["a:1", "b:1", "c:1", "a:2", "b:2"],
                             "cluster_id": ["k1", "k1", "k2", "k2", "k2"]})
    ev = evaluate(clusters, truth)
    # predicted pairs: 1 + 3 = 4; true pairs: 3 + 1 = 4; correct: (a1,b1), (a2,b2) = 2
    assert ev["pairwise"]["precision"] == pytest.approx(0.5)
    assert ev["pairwise"]["recall"] == pytest.approx(0.5)
    # B-cubed precision: a1,b1: 1; c1: 1/3; a2,b2: 2/3 -> (2 + 1/3 + 4/3) / 5
    assert ev["bcubed"]["precision"] == pytest.approx((2 + 1 / 3 + 4 / 3) / 5)
    # B-cubed recall: a1,b1: 2/3; c1: 1/3; a2,b2: 1 -> (4/3 + 1/3 + 2) / 5
    assert ev["bcubed"]["recall"] == pytest.approx((4 / 3 + 1 / 3 + 2) / 5)
    by_pair = {r["sources"]: r for r in ev["per_source_pair"]}
    assert by_pair["a-b"]["precision"] == 1.0 and by_pair["a-b"]["recall"] == 1.0
    assert by_pair["a-c"]["precision"] == 0.0 and by_pair["a-c"]["true_pairs"] == 1


def test_worst_errors_carry_match_weights():
    truth = pd.DataFrame({"source": ["a", "b", "a"], "source_record_id": ["1", "1", "2"],
                          "entity_id": ["X", "Y", "X"]})
    clusters = pd.DataFrame({"unique_id": ["a:1", "b:1", "a:2"], "cluster_id": ["k", "k", "m"]})
    pairs = pd.DataFrame({"unique_id_l": ["a:1", "a:1"], "unique_id_r": ["b:1", "a:2"],
                          "match_probability": [0.99, 0.6], "match_weight": [7.0, 0.6],
                          "mw_name": [5.0, 1.0]})
    ev = evaluate(clusters, truth, pairs=pairs)
    assert ev["false_merges"][0]["unique_id_r"] == "b:1"
    assert ev["false_merges"][0]["mw_name"] == 5.0
    assert ev["missed_links"][0]["unique_id_r"] == "a:2"
