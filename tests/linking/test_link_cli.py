import hashlib

from linking_synth import enterprise_frame
from typer.testing import CliRunner

import resolver.cli.link  # noqa: F401  (registers train/resolve/evaluate)
from resolver.cli.app import app
from resolver.store import open_store


def test_train_resolve_evaluate_through_the_store(tmp_path):
    frame = enterprise_frame(300, seed=11)
    truth = frame[["source", "source_record_id", "entity_id"]].assign(domain="enterprise")
    truth.to_csv(tmp_path / "truth.csv", index=False)
    frame = frame.drop(columns=["entity_id"])
    frame["raw"] = "{}"
    frame["record_hash"] = [hashlib.sha1(u.encode()).hexdigest() for u in frame["unique_id"]]
    frame["std_flags"] = ""
    db = tmp_path / "m.duckdb"
    store = open_store(db)
    store.ingest_frame("enterprise", frame, [], file="synthetic.csv")
    store.close()
    runner = CliRunner()
    models = tmp_path / "models"
    res = runner.invoke(app, ["train", "--db", str(db), "--domain", "enterprise",
                              "--models-dir", str(models)])
    assert res.exit_code == 0, res.output
    assert "model version enterprise-" in res.output and any(models.glob("enterprise-*.json"))
    res = runner.invoke(app, ["resolve", "--db", str(db), "--domain", "enterprise"])
    assert res.exit_code == 0, res.output
    assert "refused by constraint" in res.output
    res = runner.invoke(app, ["evaluate", "--db", str(db), "--domain", "enterprise",
                              "--truth", str(tmp_path / "truth.csv"), "--out", str(tmp_path / "ev.json")])
    assert res.exit_code == 0, res.output
    f1 = float(res.output.split("pairwise")[1].split("F1")[1].split()[0])
    assert f1 >= 0.98, res.output
