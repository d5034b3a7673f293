"""`resolver export members|golden` to CSV and Parquet (canonical names), XLSX (Chinese headers), from a
real store file."""

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from resolver.cli import app
from resolver.store import open_store


@pytest.fixture
def db(tmp_path):
    frame = pd.DataFrame({"source": ["commerce", "tax", "tax"], "source_record_id": ["c1", "t1", "t2"],
                          "name": ["杭州华新科技有限公司", "华新科技(杭州)有限公司", "远方贸易有限公司"],
                          "uscc": ["91330106MA2B000001", None, None], "uscc_valid": [True, None, None]})
    frame["unique_id"] = frame["source"] + ":" + frame["source_record_id"]
    frame["raw"] = frame["name"]
    frame["record_hash"] = frame["unique_id"]
    path = tmp_path / "m.duckdb"
    store = open_store(path)
    store.ingest_frame("enterprise", frame, [], "a.csv")
    store.save_resolution("enterprise", pd.DataFrame({"unique_id": frame["unique_id"], "cluster_id": [1, 1, 2]}),
                          None, "model-v1")
    store.close()
    return path


def _run(*args):
    return CliRunner().invoke(app, list(map(str, args)))


def test_members_to_csv_parquet_and_xlsx(db, tmp_path):
    for suffix in ("csv", "parquet", "xlsx"):
        out = tmp_path / f"members.{suffix}"
        result = _run("export", "members", "--db", db, "--domain", "enterprise", "--out", out)
        assert result.exit_code == 0, result.output
    parquet = pd.read_parquet(tmp_path / "members.parquet")
    assert list(parquet.columns)[:3] == ["source", "source_record_id", "entity_id"]
    assert parquet.groupby("entity_id").size().sort_values().tolist() == [1, 2]
    assert set(parquet["model_version"]) == {"model-v1"}
    csv = pd.read_csv(tmp_path / "members.csv", encoding="utf-8-sig")
    assert list(csv.columns) == ["source", "source_record_id", "entity_id", "model_version"]
    sheet = openpyxl.load_workbook(tmp_path / "members.xlsx").active
    assert [c.value for c in sheet[1]][:3] == ["来源部门", "来源记录编号", "主体编号"]
    assert sheet.max_row == 4


def test_golden_export_has_one_row_per_entity_with_chinese_headers(db, tmp_path):
    out = tmp_path / "golden.xlsx"
    result = _run("export", "golden", "--db", db, "--domain", "enterprise", "--out", out)
    assert result.exit_code == 0, result.output
    rows = list(openpyxl.load_workbook(out).active.values)
    header, body = rows[0], rows[1:]
    assert {"主体编号", "名称", "统一社会信用代码", "模型版本"} <= set(header)
    assert len(body) == 2
    names = {r[header.index("名称")] for r in body}
    assert names == {"杭州华新科技有限公司", "远方贸易有限公司"}  # commerce wins the name


def test_export_before_resolution_is_a_clear_error(tmp_path):
    path = tmp_path / "empty.duckdb"
    open_store(path).close()
    result = _run("export", "golden", "--db", path, "--domain", "person", "--out", tmp_path / "g.csv")
    assert result.exit_code != 0
    assert "run `resolver resolve --domain person` first" in str(result.exception or result.output)
    result = _run("export", "golden", "--db", tmp_path / "nope.duckdb", "--domain", "person",
                  "--out", tmp_path / "g.csv")
    assert result.exit_code != 0
