"""The facade end to end on the committed sample: train, publish, resolve, explain, evaluate,
add records; nothing below `Resolver` is called here."""

import json
from pathlib import Path

import pandas as pd
import pytest

from resolver.engine import Resolver
from resolver.errors import NotFoundError
from resolver.ingest import ingest_file
from resolver.store import open_store

pytestmark = pytest.mark.slow  # make test-slow; see tests/conftest.py

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "fixtures" / "sample"
SOURCES = ROOT / "matching_rules" / "sources"


def _held_out_tax(tmp: Path, every: int = 20) -> tuple[Path, Path, int]:
    """The sample's tax export split in two files: most rows, and every `every`-th row."""
    manifest = json.loads((SAMPLE / "manifest.json").read_text(encoding="utf-8"))
    entry = next(f for f in manifest["files"] if f["source"] == "tax")
    lines = (SAMPLE / entry["file"]).read_bytes().split(b"\n")
    head, body = lines[: entry["header_row"]], [line for line in lines[entry["header_row"]:] if line.strip()]
    (tmp / "base.csv").write_bytes(b"\n".join(head + [x for i, x in enumerate(body) if i % every]) + b"\n")
    (tmp / "held.csv").write_bytes(b"\n".join(head + body[::every]) + b"\n")
    return tmp / "base.csv", tmp / "held.csv", len(body[::every])


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("facade")
    base, held, n_held = _held_out_tax(tmp)
    manifest = json.loads((SAMPLE / "manifest.json").read_text(encoding="utf-8"))
    store = open_store(tmp / "m.duckdb")
    for entry in manifest["files"]:
        if entry["domain"] == "enterprise":
            ingest_file(store, SOURCES / f"{entry['source']}.yaml", base if entry["source"] == "tax"
                        else SAMPLE / entry["file"])
    resolver = Resolver(store, "enterprise")
    with pytest.raises(NotFoundError, match="no enterprise model trained yet"):
        resolver.resolve()
    model = resolver.train(out_dir=tmp / "models")
    assert resolver.publish(model) == model.version
    resolution = resolver.resolve()
    truth = pd.read_csv(SAMPLE / "truth_members.csv", dtype=str)
    yield store, resolver, model, resolution, truth[truth["domain"] == "enterprise"], (held, n_held)
    store.close()


def test_train_records_the_rules_the_model_version_needs(sample):
    _, resolver, model, _, _, _ = sample
    meta = model.metadata
    assert meta["rules_hash"] == resolver.rules.rules_hash
    assert meta["survivorship"] == resolver.rules.survivorship_doc
    assert meta["clustering"] == resolver.rules.clustering
    assert model.path is not None and model.path.exists()


def test_resolve_covers_every_record_with_the_published_version(sample):
    store, resolver, model, resolution, truth, _ = sample
    assert resolution.model_version == model.version == store.latest_model("enterprise")[0]
    assert resolution.records == len(resolver.records()) == len(store.membership("enterprise"))
    assert resolution.entities == store.membership("enterprise")["entity_id"].nunique()
    assert resolution.notes == []  # the rule files are the ones recorded
    assert any("model version's" in line for line in resolution.lines())
    result = resolver.evaluate(truth)
    assert result["pairwise"]["f1"] >= 0.99, result["pairwise"]
    assert result["bcubed"]["f1"] >= 0.99, result["bcubed"]


def _truth_ids(truth: pd.DataFrame) -> pd.DataFrame:
    return truth.assign(unique_id=truth["source"] + ":" + truth["source_record_id"])


def test_explain_scores_one_pair_comparison_by_comparison(sample):
    _, resolver, model, _, truth, _ = sample
    have = set(resolver.records()["unique_id"])
    ids = _truth_ids(truth)
    ids = ids[ids["unique_id"].isin(have)]
    commerce = ids[ids["source"] == "commerce"].set_index("entity_id")["unique_id"]
    tax = ids[ids["source"] == "tax"].drop_duplicates("entity_id").set_index("entity_id")["unique_id"]
    both = sorted(set(commerce.index) & set(tax.index))[:20]
    same = [resolver.explain(commerce[e], tax[e]) for e in both]
    other = [resolver.explain(commerce[a], tax[b]) for a, b in zip(both, both[1:], strict=False)]
    threshold = model.clustering["match_probability_threshold"]
    # records of one enterprise mostly score above the threshold; of two, below it
    assert sum(s["match_probability"] >= threshold for s in same) >= 18
    assert all(s["match_probability"] < threshold for s in other)
    first = same[0]
    assert first["model_version"] == model.version
    names = [c["comparison"] for c in first["comparisons"]]
    assert names == [c["output_column_name"] for c in model.settings["comparisons"]]
    prior = first["match_weight"] - sum(c["match_weight"] for c in first["comparisons"])
    assert prior < 0  # the rest of the weight is the prior: two random records rarely match

    # a record of canonical fields, standardized the same way as an ingested one
    record = resolver.records().set_index("unique_id").loc[commerce[both[0]]]
    explained = resolver.explain({"name": record["name"], "address": record["address"]}, commerce[both[0]])
    assert explained["left"] == "query:pair:0" and explained["right"] == commerce[both[0]]
    assert explained["match_probability"] >= threshold
    with pytest.raises(NotFoundError):
        resolver.explain("commerce:no-such-record", commerce[both[0]])


def test_a_model_version_alone_determines_its_resolution(sample, tmp_path):
    """Thresholds and survivorship edited after publishing: resolving that version with the
    edited folder as the resolver's rules gives the same entities and golden records."""
    import shutil

    from resolver.rules import DomainRules

    store, resolver, model, _, _, _ = sample
    before = store.membership("enterprise"), store.golden("enterprise")
    # sample pairs are nearly certain: their median probability cuts about half the links
    stricter = float(resolver.link(model).pairs["match_probability"].median())
    root = tmp_path / "rules"
    shutil.copytree(resolver.rules.path, root / "enterprise", ignore=shutil.ignore_patterns("models"))
    for name, old, new in (("clustering.yaml", "match_probability_threshold: 0.9", f"match_probability_threshold: {stricter!r}"),
                           ("survivorship.yaml",
                            "source_priority: [commerce, tax, statistics, quality, economy_it, environment, work_safety, "
                            "science]",
                            "source_priority: [science, work_safety, environment, economy_it, quality, statistics, tax, "
                            "commerce]")):
        path = root / "enterprise" / name
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new), encoding="utf-8")
    edited = Resolver(store, "enterprise", DomainRules.load("enterprise", root))
    assert edited.rules.rules_hash != resolver.rules.rules_hash
    resolution = edited.resolve(model.version)
    assert any("match_probability_threshold" in n and "survivorship.yaml" in n for n in resolution.notes), \
        resolution.notes
    pd.testing.assert_frame_equal(before[0], store.membership("enterprise"))
    pd.testing.assert_frame_equal(before[1], store.golden("enterprise"))
    # the edit would have changed the clustering had resolve read the file
    what_if = edited.link(model, clustering=edited.rules.clustering)
    assert what_if.report["threshold"] == stricter != resolution.report["threshold"]
    assert what_if.report["merges"] < resolution.report["merges"]


def test_add_records_links_new_records_into_existing_entities(sample):
    store, resolver, model, _, truth, (held, n_held) = sample
    before = len(resolver.records())
    result = resolver.add_records(SOURCES / "tax.yaml", held)
    assert result.touched == n_held and result.model_version == model.version
    assert len(resolver.records()) == before + n_held  # the facade re-reads the store
    # the truth entities of the held-out records: each is still one entity of ours
    held_ids = "tax:" + pd.read_csv(held, dtype=str, encoding="gb18030", skiprows=1).iloc[:, 0]
    ids = _truth_ids(truth)
    wanted = ids[ids["entity_id"].isin(ids.loc[ids["unique_id"].isin(held_ids), "entity_id"])]
    placed = wanted.merge(store.membership("enterprise"), on="unique_id", suffixes=("_truth", ""))
    assert placed["unique_id"].isin(held_ids).sum() == n_held
    split = placed.groupby("entity_id_truth")["entity_id"].nunique()
    assert (split == 1).mean() >= 0.97, split[split > 1]
