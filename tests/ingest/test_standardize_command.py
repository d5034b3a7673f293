"""`resolver standardize` on every committed fixture source writes the canonical and derived columns."""

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from resolver.cli import app

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "fixtures" / "sample"
FILES = json.loads((SAMPLE / "manifest.json").read_text(encoding="utf-8"))["files"]


@pytest.mark.parametrize("entry", FILES, ids=[f["source"] for f in FILES])
def test_standardize_writes_every_source(tmp_path, entry):
    out = tmp_path / f"{entry['source']}.parquet"
    result = CliRunner().invoke(app, ["standardize", "--mapping",
                                      str(ROOT / "matching_rules" / "sources" / f"{entry['source']}.yaml"),
                                      "--out", str(out), str(SAMPLE / entry["file"])])
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(out)
    rejected = tmp_path / f"{entry['source']}.rejected.csv"
    n_rejected = len(pd.read_csv(rejected)) if rejected.exists() else 0
    assert len(frame) + n_rejected == entry["rows"]  # nothing lost
    assert {"unique_id", "source", "std_flags", "raw", "name"} <= set(frame.columns)
    assert frame["unique_id"].is_unique
    key = "uscc" if entry["domain"] == "enterprise" else "id_number"
    assert key in frame.columns


def test_a_malformed_row_gets_a_reason_not_a_crash(tmp_path):
    mapping = ROOT / "matching_rules" / "sources" / "social_security.yaml"
    entry = next(f for f in FILES if f["source"] == "social_security")
    lines = (SAMPLE / entry["file"]).read_text(encoding="utf-8").splitlines()
    header_at = entry["header_row"] - 1
    broken = lines[header_at + 1].split(",")
    broken[0] = ""  # no record id
    bad_file = tmp_path / "broken.csv"
    bad_file.write_text("\n".join(lines[: header_at + 2] + [",".join(broken), "only,two"]) + "\n",
                        encoding="utf-8")
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(app, ["standardize", "--mapping", str(mapping), "--out", str(out), str(bad_file)])
    assert result.exit_code == 0, result.output
    reasons = pd.read_csv(tmp_path / "out.rejected.csv")
    assert sorted(reasons["row_number"]) == [header_at + 3, header_at + 4]
    assert any("missing record id" in r for r in reasons["reason"])
    assert any("fields, header has" in r for r in reasons["reason"])
