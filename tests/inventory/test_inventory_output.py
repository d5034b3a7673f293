"""`resolver inventory` writes HTML (a section and an inline SVG chart per department, nothing
fetched from the network) and XLSX (a sheet per table, Chinese headers, autofilter)."""

from __future__ import annotations

import re

import openpyxl
import pytest
from inventory_store import Built

from resolver.cli.app import run


def test_html_has_a_section_and_chart_per_department_and_works_offline(built: Built):
    out = built.work / "inventory.html"
    assert run(["inventory", "--db", str(built.db), "--out", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    for inv in built.inventory.domains:
        for source, label in inv.labels.items():
            assert f"<h3>{label}（{source}）</h3>" in html
            assert f'aria-label="{label}：字段完整率与有效率"' in html
    departments = sum(len(d.labels) for d in built.inventory.domains)
    assert html.count("<svg") == departments == 12
    assert "<script" not in html and "<link" not in html
    assert set(re.findall(r"https?://[^\"' )]+", html)) == {"http://www.w3.org/2000/svg"}
    assert "政务数据目录" in html and "部门间字段不一致" in html and "无记录日期列" in html


def test_xlsx_has_a_sheet_per_table_with_chinese_headers_and_autofilter(built: Built):
    out = built.work / "inventory.xlsx"
    assert run(["inventory", "--db", str(built.db), "--out", str(out), "--domain", "person"]) == 0
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["部门概况", "字段质量", "部门重叠", "字段不一致"]
    for sheet in book.worksheets:
        assert sheet.auto_filter.ref == sheet.dimensions
        headers = [c.value for c in sheet[1]]
        assert all(re.search(r"[\u4e00-\u9fff]", str(h)) for h in headers), headers
    summary = book["部门概况"]
    headers = [c.value for c in summary[1]]
    rows = {r[headers.index("部门代码")]: r for r in summary.iter_rows(min_row=2, values_only=True)}
    assert set(rows) == {"police", "social_security", "civil_affairs", "housing_fund"}
    assert rows["police"][headers.index("记录数")] == 1786


@pytest.mark.parametrize("out", ["inventory.csv", "inventory.pdf"])
def test_an_unknown_format_is_refused_before_any_work(built: Built, out: str, capsys: pytest.CaptureFixture[str]):
    assert run(["inventory", "--db", str(built.db), "--out", str(built.work / out)]) == 1
    assert "unknown output format" in capsys.readouterr().err
