"""`resolver train` ends with a short level report (and no Splink warnings spilled);
`resolver model show` lists every level; `resolver model diff` shows what moved."""

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from linking_synth import enterprise_frame
from typer.testing import CliRunner

import resolver.cli  # noqa: F401  (registers every verb)
from resolver.cli.app import app
from resolver.linking.rules import DEFAULT_RULES_ROOT, load_rules
from resolver.store import open_store

ROOT = Path(__file__).resolve().parents[2]


def _store(db: Path) -> None:
    frame = enterprise_frame(400, seed=5).drop(columns=["entity_id"])
    rng = np.random.default_rng(5)
    moved = rng.random(len(frame)) < 0.5  # same district alone becomes chance (see test_link_fallback)
    for col in ("district_code", "road"):
        frame.loc[moved, col] = rng.permutation(frame.loc[moved, col].to_numpy())
    frame["raw"] = "{}"
    frame["record_hash"] = [hashlib.sha1(u.encode()).hexdigest() for u in frame["unique_id"]]
    frame["std_flags"] = ""
    store = open_store(db)
    store.ingest_frame("enterprise", frame, [], file="synthetic.csv")
    store.close()


def test_train_reports_levels_and_model_show_and_diff(tmp_path):
    db = tmp_path / "m.duckdb"
    _store(db)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "resolver", "train", "--db", str(db), "--domain", "enterprise",
                           "--models-dir", str(tmp_path / "models")],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "levels:" in out and "trained," in out and "fallback" in out
    assert "against   address / same district" in out
    assert "fallback  uscc / USCC equal but check character fails" in out
    assert "not observed in dataset" not in done.stderr + out  # Splink's own warnings: condensed above
    assert "unable to train" not in done.stderr + out

    runner = CliRunner()
    res = runner.invoke(app, ["model", "show", "--db", str(db), "--domain", "enterprise"])
    assert res.exit_code == 0, res.output
    rows = [ln for ln in res.output.splitlines() if ln.startswith(("uscc ", "address ", "phone "))]
    levels = {c["name"]: c["levels"] for c in load_rules("enterprise").comparisons}
    assert len(rows) == sum(len([lv for lv in levels[n] if lv["kind"] != "missing"])
                            for n in ("uscc", "address", "phone"))  # every non-null level of these
    district = next(ln for ln in rows if "same district" in ln)
    assert "trained: graded level" in district and float(district.split()[5]) < 0  # weight column

    # a second version from edited rule files: a fixed fallback and the match threshold moved
    rules = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_ROOT / "enterprise", rules / "enterprise", ignore=shutil.ignore_patterns("models"))
    training = rules / "enterprise" / "training.yaml"
    training.write_text(training.read_text(encoding="utf-8").replace(
        "level: USCC equal but check character fails, m: 0.01,", "level: USCC equal but check character fails, m: 0.04,"),
        encoding="utf-8")
    clustering = rules / "enterprise" / "clustering.yaml"
    text = clustering.read_text(encoding="utf-8")
    assert "match_probability_threshold: 0.9" in text
    clustering.write_text(text.replace("match_probability_threshold: 0.9", "match_probability_threshold: 0.8"),
                          encoding="utf-8")
    res = runner.invoke(app, ["train", "--db", str(db), "--domain", "enterprise", "--rules", str(rules),
                              "--models-dir", str(tmp_path / "models")])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["model", "diff", "--db", str(db), "--domain", "enterprise"])
    assert res.exit_code == 0, res.output
    assert "rules_hash:" in res.output and "match_probability_threshold: 0.9 -> 0.8" in res.output
    moved = [ln for ln in res.output.splitlines() if "USCC equal but check character fails" in ln]
    assert moved and "m 0.01 -> 0.04" in moved[0] and "weight +13.29 -> +15.29" in moved[0]
    total = sum(lv["kind"] != "missing" for c in load_rules("enterprise").comparisons for lv in c["levels"])
    assert f"1 of {total} levels changed" in res.output
    res = runner.invoke(app, ["model", "diff", "--db", str(db), "--domain", "enterprise", "only-one"])
    assert res.exit_code != 0
