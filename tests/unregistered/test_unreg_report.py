"""CSV, XLSX and HTML outputs of `resolver unregistered`, through the CLI on the scenario store."""

import pandas as pd
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner
from unreg_store import AS_OF, MODEL, build_store

import resolver.cli.unregistered  # noqa: F401  registers the command
from resolver.cli.app import app
from resolver.unregistered.report import HEADERS_ZH


@pytest.fixture
def db(tmp_path):
    store, labels = build_store(tmp_path / "m.duckdb")
    store.close()
    return tmp_path / "m.duckdb", labels


def _run(*args: str) -> str:
    result = CliRunner().invoke(app, ["unregistered", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_csv_has_one_row_per_suspect_and_names_the_model(db, tmp_path):
    path, labels = db
    out = tmp_path / "s.csv"
    printed = _run("--db", str(path), "--as-of", AS_OF, "--out", str(out))
    assert "suspect 4" in printed and MODEL in printed
    frame = pd.read_csv(out, encoding="utf-8-sig", dtype=str)
    assert len(frame) == 4 and frame["entity_id"].is_unique and "list" not in frame
    assert set(frame["model_version"]) == {MODEL}
    assert labels["suspect_quality"] in set(frame["entity_id"])


def test_csv_all_lists_has_a_list_column(db, tmp_path):
    path, _ = db
    out = tmp_path / "all.csv"
    _run("--db", str(path), "--as-of", AS_OF, "--all", "--out", str(out))
    frame = pd.read_csv(out, encoding="utf-8-sig", dtype=str)
    assert frame["list"].value_counts().to_dict() == {
        "suspect": 4, "link_review": 3, "status_conflict": 2, "dormant": 1}


def test_xlsx_has_chinese_headers_an_evidence_sheet_and_the_model_version(db, tmp_path):
    path, labels = db
    out = tmp_path / "s.xlsx"
    _run("--db", str(path), "--as-of", AS_OF, "--out", str(out))
    wb = load_workbook(out, read_only=True)
    assert wb.sheetnames == ["疑似漏管户", "证据记录", "说明"]
    head = [c.value for c in next(wb["疑似漏管户"].iter_rows(max_row=1))]
    for col in ("entity_id", "score", "reasons", "name", "uscc", "district", "industry_code", "established",
                "nearest_tax_record_id", "nearest_match_probability", "nearest_not_accepted_because",
                "model_version"):
        assert HEADERS_ZH[col] in head, col
    rows = list(wb["疑似漏管户"].iter_rows(min_row=2, values_only=True))
    assert len(rows) == 4
    ev = list(wb["证据记录"].iter_rows(values_only=True))
    assert ev[0][:3] == ("主体编号", "来源部门", "来源记录编号")
    assert ("质监", "q1") in {(r[1], r[2]) for r in ev[1:]}
    about = dict(wb["说明"].iter_rows(min_row=2, values_only=True))
    assert about["模型版本"] == MODEL and about["基准日期"] == AS_OF


def test_html_is_self_contained_with_charts_table_and_model(db, tmp_path):
    path, _ = db
    out = tmp_path / "s.html"
    _run("--db", str(path), "--as-of", AS_OF, "--all", "--out", str(out))
    html = out.read_text(encoding="utf-8")
    assert html.count("<svg") == 2 and "按区县" in html and "按行业" in html
    assert MODEL in html and "杭州甲乙机械有限公司" in html and "有质监检查记录" in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html and "<script" not in html


def test_unknown_extension_and_missing_store_fail_with_one_line(db, tmp_path):
    path, _ = db
    result = CliRunner().invoke(app, ["unregistered", "--db", str(path), "--out", str(tmp_path / "x.pdf")])
    assert result.exit_code != 0 and "unknown output format" in str(result.exception)
    result = CliRunner().invoke(app, ["unregistered", "--db", str(tmp_path / "nope.duckdb"),
                                      "--out", str(tmp_path / "x.csv")])
    assert result.exit_code != 0 and "no such store" in str(result.exception)
