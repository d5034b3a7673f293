"""Training on a random sample of source records (resolver.linking.sample): a model trained on half
the records resolves every record as well as the model trained on all of them, on the committed
sample and on the noisy shape; the sample is the same for a seed, drawn alike in the store and in
memory; the blocking keys are capped as on every record; the model records the sample."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from resolver.cli import app
from resolver.engine import Resolver
from resolver.engines.inputs import key_statistics, prepare_input, to_arrow
from resolver.errors import InputError
from resolver.linking.evaluate import evaluate
from resolver.linking.rules import BlockingKey, load_rules
from resolver.linking.sample import parse_size, sample_in_memory
from resolver.store import open_store

pytestmark = pytest.mark.slow  # make test-slow; see tests/conftest.py

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "fixtures" / "sample"


def _f1(resolver: Resolver, model: Any, truth: pd.DataFrame) -> float:
    linkage = resolver.link(model, decisions=False)
    return float(evaluate(linkage.clusters, truth, worst=0)["pairwise"]["f1"])


def _half_against_all(records: pd.DataFrame, domain: str, full_model: Any, truth: pd.DataFrame) -> None:
    resolver = Resolver.for_records(records, domain)
    half = resolver.train(sample=len(records) // 2, seed=42)
    drawn = half.metadata["training_sample"]
    assert (drawn["records"], drawn["of"], drawn["seed"]) == (len(records) // 2, len(records), 42)
    assert half.metadata["training_records"] == len(records) // 2
    # the keys' statistics are measured on every record, as an unsampled training measures them
    assert half.metadata["blocking_stats"] == full_model.metadata["blocking_stats"]
    # the prior is a share of pairs: a sample estimates the full set's (not 1/f of it)
    prior_all = full_model.settings["probability_two_random_records_match"]
    prior_half = half.settings["probability_two_random_records_match"]
    assert 0.8 < prior_half / prior_all < 1.25, (prior_half, prior_all)
    f1_all, f1_half = _f1(resolver, full_model, truth), _f1(resolver, half, truth)
    assert f1_all > 0.95
    assert abs(f1_half - f1_all) <= 0.01, (f1_half, f1_all)


def test_half_of_the_committed_sample_trains_as_well_as_all_of_it(
        sample_records: Callable[[str], pd.DataFrame], sample_model: Callable[[str], Any]) -> None:
    truth = pd.read_csv(SAMPLE / "truth_members.csv", dtype=str)
    _half_against_all(sample_records("enterprise"), "enterprise", sample_model("enterprise"), truth)


def test_half_of_the_noisy_shape_trains_as_well_as_all_of_it(tmp_path: Path) -> None:
    from fixtures.generate import generate
    from resolver.ingest import prepare
    from resolver.linking.train import train_model

    logging.getLogger("splink").setLevel(logging.ERROR)
    generate(tmp_path, 2500, shape="noisy", workers=1)
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    records = pd.concat([prepare(ROOT / "matching_rules" / "sources" / f"{f['source']}.yaml", tmp_path / f["file"]
                                 ).records for f in manifest["files"] if f["domain"] == "person"], ignore_index=True)
    truth = pd.read_csv(tmp_path / "truth_members.csv", dtype=str)
    full = train_model(records, load_rules("person"), publish=False)
    _half_against_all(records, "person", full, truth)


def test_the_sample_is_the_same_for_a_seed_in_the_store_and_in_memory(demo_store: Path) -> None:
    keys = load_rules("person").blocking
    store = open_store(demo_store, read_only=True)
    try:
        everything = store.load_records("person")
        with store.reader() as reader:
            drawn = reader.records_sample("records_person", ["unique_id", "name"], 1000, 7)
            again = reader.records_sample("records_person", ["unique_id", "name"], 1000, 7)
            other = reader.records_sample("records_person", ["unique_id", "name"], 1000, 8)
            plus = reader.records_sample("records_person", ["unique_id"], 1000, 7, ["police:nonexistent"])
            stats, over = reader.key_statistics("records_person", keys)
    finally:
        store.close()
    ids = drawn.column("unique_id").to_pylist()
    assert len(ids) == 1000 == len(set(ids)) and ids == sorted(ids)
    assert again.column("unique_id").to_pylist() == ids == plus.column("unique_id").to_pylist()
    assert len(set(other.column("unique_id").to_pylist()) & set(ids)) < 500  # another seed, another sample
    shuffled = everything.sample(frac=1.0, random_state=3)  # row order does not matter
    in_memory = sample_in_memory(shuffled, ["unique_id", "source", "name"], 1000, 7, keys)
    assert in_memory is not None
    frame, sample = in_memory
    assert frame["unique_id"].tolist() == ids
    assert (sample.records, sample.of, sample.seed) == (1000, len(everything), 7)
    assert (sample.stats, sample.over_cap) == (stats, over)
    assert sample_in_memory(everything, ["unique_id"], len(everything), 7, keys) is None  # no more than asked
    # the records of labelled pairs join the sample (Splink reads labels against the records it trains on)
    labelled = sorted(set(everything["unique_id"]) - set(ids))[:25]
    with_labels = sample_in_memory(shuffled, ["unique_id", "source", "name"], 1000, 7, keys, labelled + ids[:5])
    assert with_labels is not None
    assert with_labels[0]["unique_id"].tolist() == sorted(ids + labelled)
    assert with_labels[1].metadata()["records"] == 1025 and with_labels[1].metadata()["labelled_added"] == 25


def test_caps_measured_on_every_record_hold_in_the_sample() -> None:
    # a phone shared by 5 records is over a cap of 3; a sample that drew 2 of them must not pair them
    records = pd.DataFrame({"unique_id": [f"r{i}" for i in range(8)], "source": "s",
                            "phone": ["110"] * 5 + ["120", "120", None]})
    key = BlockingKey("phone", ["phone"], max_block_size=3)
    con = duckdb.connect()
    con.register("every", to_arrow(records))
    stats, over = key_statistics(con, "every", [key])
    assert over == {"phone": ["110"]}
    assert (stats[0].blocks, stats[0].blocks_over_cap, stats[0].records_over_cap, stats[0].pairs) == (1, 1, 5, 1)
    _, same = prepare_input(con, records, {"phone"}, [key])
    assert same == stats  # the same counts as prepare_input's own
    sample = records.iloc[[0, 1, 5, 6]]
    alone, _ = prepare_input(con, sample, {"phone"}, [key])
    capped, _ = prepare_input(con, sample, {"phone"}, [key], over_cap=over)
    column = key.key_column
    assert con.sql(f'SELECT count("{column}") FROM {alone}').fetchall()[0][0] == 4  # 110 under cap in the sample
    keys = con.sql(f'SELECT list("{column}" ORDER BY unique_id) FROM {capped}').fetchall()[0][0]
    assert keys[:2] == [None, None] and keys[2] is not None and keys[2] == keys[3]


def test_sample_sizes_read_as_people_write_them() -> None:
    assert [parse_size(v) for v in ("500k", "2M", "1e6", "1,000,000", 1000, "all", None)] == \
        [500_000, 2_000_000, 1_000_000, 1_000_000, 1000, None, None]
    for bad in ("1.5", "lots", "1", "-5"):
        with pytest.raises(InputError, match="sample"):
            parse_size(bad)


def test_train_verb_draws_the_sample_and_says_so(demo_copy: Callable[[str], Path], tmp_path: Path) -> None:
    db = demo_copy("train_sample")
    result = CliRunner().invoke(app, ["train", "--db", str(db), "--domain", "person", "--sample", "2000",
                                      "--sample-seed", "7", "--models-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    store = open_store(db, read_only=True)
    try:
        total = len(store.load_records("person"))
        model = Resolver(store, "person").model()
    finally:
        store.close()
    assert f"trained on 2000 source records (a random sample of {total}, seed 7" in result.output
    assert model.metadata["training_sample"]["records"] == 2000 and model.metadata["training_sample"]["of"] == total
    refused = CliRunner().invoke(app, ["train", "--db", str(db), "--domain", "person", "--sample", "many"])
    assert isinstance(refused.exception, InputError) and "expected a number of records" in str(refused.exception)
