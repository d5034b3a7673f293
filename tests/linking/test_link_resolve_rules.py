"""A model version alone determines a resolution (clustering.yaml travels with it), and
`resolve --rules DIR` builds golden records with DIR's survivorship rules."""

import hashlib
import shutil
from pathlib import Path

import pandas as pd
import pytest
from linking_synth import SOURCES, enterprise_frame
from typer.testing import CliRunner

import resolver.cli.link  # noqa: F401  (registers train/resolve)
from resolver.cli.app import app
from resolver.linking.cluster import cluster_with_constraints
from resolver.linking.rules import DEFAULT_RULES_ROOT
from resolver.store import open_store

runner = CliRunner()


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with synthetic enterprise records and one model version trained on the default rules."""
    tmp = tmp_path_factory.mktemp("resolve_rules")
    frame = enterprise_frame(300, seed=17).drop(columns=["entity_id"])
    frame["raw"] = "{}"
    frame["record_hash"] = [hashlib.sha1(u.encode()).hexdigest() for u in frame["unique_id"]]
    frame["std_flags"] = ""
    db = tmp / "m.duckdb"
    store = open_store(db)
    store.ingest_frame("enterprise", frame, [], file="synthetic.csv")
    store.close()
    res = runner.invoke(app, ["train", "--db", str(db), "--domain", "enterprise",
                              "--models-dir", str(tmp / "models")])
    assert res.exit_code == 0, res.output
    assert "a later edit of clustering.yaml takes effect at the next train" in res.output
    return db


def _rules_copy(tmp_path: Path) -> Path:
    root = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_ROOT / "enterprise", root / "enterprise",
                    ignore=shutil.ignore_patterns("models"))
    return root


def _resolve(db: Path, *rules: str) -> str:
    res = runner.invoke(app, ["resolve", "--db", str(db), "--domain", "enterprise", *rules])
    assert res.exit_code == 0, res.output
    return res.output


def test_an_edited_clustering_threshold_does_not_change_a_resolution_until_train(trained, tmp_path):
    first = _resolve(trained)
    assert "note:" not in first
    store = open_store(trained, read_only=True)
    try:
        before = store.membership("enterprise")
        records = store.load_records("enterprise")
        pairs = store.cursor().execute("SELECT * FROM pairs_enterprise").df()
    finally:
        store.close()

    root = _rules_copy(tmp_path)
    path = root / "enterprise" / "clustering.yaml"
    text = path.read_text(encoding="utf-8")
    assert "match_probability_threshold: 0.9\n" in text
    # synthetic pairs are nearly certain: the median probability cuts about half the links
    stricter = float(pairs["match_probability"].median())
    path.write_text(text.replace("match_probability_threshold: 0.9\n", f"match_probability_threshold: {stricter!r}\n"),
                    encoding="utf-8")
    # the edit would change the clusters if resolve read the file now
    from resolver.linking.rules import load_rules
    edited, _ = cluster_with_constraints(records, pairs, load_rules("enterprise", root).clustering)
    assert edited["cluster_id"].nunique() != before["entity_id"].nunique()

    out = _resolve(trained, "--rules", str(root))
    assert "match probability >= 0.9 (the model version's)" in out
    assert "note:" in out and "match_probability_threshold" in out and "resolver train" in out
    store = open_store(trained, read_only=True)
    try:
        after = store.membership("enterprise")
    finally:
        store.close()
    pd.testing.assert_frame_equal(before, after)


def test_resolve_with_rules_builds_golden_records_with_that_folders_survivorship(trained, tmp_path):
    priority = list(reversed(["commerce", "tax", "statistics", "quality"]))  # the file's order, reversed
    assert sorted(priority) == sorted(SOURCES)
    root = _rules_copy(tmp_path)
    path = root / "enterprise" / "survivorship.yaml"
    text = path.read_text(encoding="utf-8")
    line = "  name:          {rule: source_priority}\n"
    assert line in text
    path.write_text(text.replace(line, f"  name:          {{rule: source_priority, source_priority: "
                                       f"[{', '.join(priority)}]}}\n"), encoding="utf-8")

    def name_sources() -> pd.DataFrame:
        store = open_store(trained, read_only=True)
        try:
            golden = store.golden("enterprise")
            members = store.membership("enterprise")
            records = store.load_records("enterprise")[["unique_id", "source", "name"]]
        finally:
            store.close()
        chosen = golden[golden["field"] == "name"].set_index("entity_id")
        # the source each entity's golden name should come from under `priority`
        rows = members.merge(records, on="unique_id")
        rows = rows[rows["name"].notna()].assign(rank=lambda f: f["source"].map(priority.index))
        expected = rows.sort_values("rank").groupby("entity_id")["source"].first()
        return pd.DataFrame({"chosen": chosen["source"], "expected": expected}).dropna()

    _resolve(trained)
    default = name_sources()
    assert (default["chosen"] != default["expected"]).sum() > 10  # the default file picks otherwise

    _resolve(trained, "--rules", str(root))
    edited = name_sources()
    assert len(edited) == len(default)
    assert (edited["chosen"] == edited["expected"]).all(), edited[edited["chosen"] != edited["expected"]]
