"""A model version alone determines a resolution: clustering.yaml and survivorship.yaml travel
with it, so editing them after `train` changes nothing until the next train, and resolving an
older version gives that version's result. A version from before survivorship was recorded
falls back on the current file, and says so."""

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

pytestmark = pytest.mark.slow  # make test-slow; see tests/conftest.py

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
    assert "a later edit of the rule files takes effect at the next train" in res.output
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


def _edit_name_priority(root: Path, priority: list[str]) -> None:
    path = root / "enterprise" / "survivorship.yaml"
    text = path.read_text(encoding="utf-8")
    line = "  name:          {rule: source_priority}\n"
    assert line in text
    path.write_text(text.replace(line, f"  name:          {{rule: source_priority, source_priority: "
                                       f"[{', '.join(priority)}]}}\n"), encoding="utf-8")


def _name_sources(db: Path, priority: list[str]) -> pd.DataFrame:
    """Per entity: the source its golden name came from, and the one `priority` would pick."""
    store = open_store(db, read_only=True)
    try:
        golden = store.golden("enterprise")
        members = store.membership("enterprise")
        records = store.load_records("enterprise")[["unique_id", "source", "name"]]
    finally:
        store.close()
    chosen = golden[golden["field"] == "name"].set_index("entity_id")
    rows = members.merge(records, on="unique_id")
    rows = rows[rows["name"].notna()].assign(rank=lambda f: f["source"].map(priority.index))
    expected = rows.sort_values("rank").groupby("entity_id")["source"].first()
    return pd.DataFrame({"chosen": chosen["source"], "expected": expected}).dropna()


def _state(db: Path) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    store = open_store(db, read_only=True)
    try:
        return store.membership("enterprise"), store.golden("enterprise"), store.latest_model("enterprise")[0]
    finally:
        store.close()


PRIORITY = list(reversed(["commerce", "tax", "statistics", "quality"]))  # the file's order, reversed


def test_survivorship_travels_with_the_model_version(trained, tmp_path):
    assert sorted(PRIORITY) == sorted(SOURCES)
    _resolve(trained)
    members, golden, first = _state(trained)
    default = _name_sources(trained, PRIORITY)
    assert (default["chosen"] != default["expected"]).sum() > 10  # the default file picks otherwise

    root = _rules_copy(tmp_path)
    _edit_name_priority(root, PRIORITY)
    # an edit after publishing changes nothing: the version's recorded survivorship decides
    out = _resolve(trained, "--rules", str(root))
    assert "survivorship.yaml" in out and "note:" in out
    now_members, now_golden, _ = _state(trained)
    pd.testing.assert_frame_equal(members, now_members)
    pd.testing.assert_frame_equal(golden, now_golden)

    # trained with the edited folder, the new version carries the edit
    res = runner.invoke(app, ["train", "--db", str(trained), "--domain", "enterprise", "--rules", str(root),
                              "--models-dir", str(tmp_path / "models")])
    assert res.exit_code == 0, res.output
    # resolved without --rules: the edit (recorded) differs from the default folder, and the note says so
    assert "survivorship.yaml" in _resolve(trained)
    edited = _name_sources(trained, PRIORITY)
    assert len(edited) == len(default)
    assert (edited["chosen"] == edited["expected"]).all(), edited[edited["chosen"] != edited["expected"]]

    # the first version, resolved again, gives its own result back
    _resolve(trained, "--model-version", first)
    again_members, again_golden, _ = _state(trained)
    pd.testing.assert_frame_equal(members, again_members)
    pd.testing.assert_frame_equal(golden.sort_values(["entity_id", "field"]).reset_index(drop=True),
                                  again_golden.sort_values(["entity_id", "field"]).reset_index(drop=True))


def test_a_version_without_recorded_survivorship_uses_the_current_file_and_says_so(trained, tmp_path):
    import json

    store = open_store(trained)
    try:
        version, text = store.model_json("enterprise")
        doc = json.loads(text)
        doc["resolver"].pop("survivorship")
        old = version + "-old"
        doc["resolver"]["version"] = old
        store.register_model("enterprise", old, json.dumps(doc, ensure_ascii=False))
    finally:
        store.close()
    root = _rules_copy(tmp_path)
    _edit_name_priority(root, PRIORITY)
    out = _resolve(trained, "--rules", str(root), "--model-version", old)
    assert "recorded no survivorship rules" in out and "survivorship.yaml" in out
    edited = _name_sources(trained, PRIORITY)
    assert (edited["chosen"] == edited["expected"]).all()
