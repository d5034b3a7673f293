"""Write the inspector's list: CSV (one row per entity), XLSX (list + evidence + about), HTML.

XLSX sheets and headers (documented; tests check them):
- 疑似漏管户 (or 名单 with --all): HEADERS_ZH of COLUMNS, one row per entity;
- 证据记录: 主体编号, 来源部门, 来源记录编号, 名称, 统一社会信用代码, 纳税人识别号, 状态, 成立日期,
  活动日期, 营业收入, 从业人员, 行业代码, 区县, 法定代表人, 地址;
- 说明: 模型版本, 基准日期, 规则文件, and the count of each list (the worklist export adds its
  filters, one line each).
The list and evidence sheets have a frozen header row and an autofilter over every row.
"""

from __future__ import annotations

from io import BytesIO
from pathlib import Path
from typing import IO

import pandas as pd

from resolver.errors import InputError
from resolver.paths import display_path
from resolver.unregistered.contents import HEADERS_ZH, LIST_ZH, STATUS_ZH, Report
from resolver.unregistered.detect import _cursor, find_unregistered, unregistered_evidence
from resolver.unregistered.html import render_html
from resolver.unregistered.roles import load_departments
from resolver.unregistered.rules import load_rules

__all__ = ["HEADERS_ZH", "Report", "build_report", "write_report", "xlsx_bytes"]

def write_report(report: Report, out: str | Path) -> Path:
    """Write by extension: .csv, .xlsx or .html."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".xlsx", ".html"):
        raise InputError(f"{out}: unknown output format '{suffix}' (use .csv, .xlsx or .html)")
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        _csv(report, out)
    elif suffix == ".xlsx":
        _xlsx(report, out)
    else:
        out.write_text(render_html(report), encoding="utf-8")
    return out


def _rows(report: Report) -> pd.DataFrame:
    rows = report.rows.copy()
    rows["model_version"] = report.model_version  # also when the frame is empty: named by column
    if len(report.lists) == 1:
        rows = rows.drop(columns="list")
    return rows


def _csv(report: Report, out: Path) -> None:
    # UTF-8 with BOM so Excel opens Chinese text; canonical (English) headers for machines.
    _rows(report).to_csv(out, index=False, encoding="utf-8-sig")


def xlsx_bytes(report: Report) -> bytes:
    """The XLSX file of `report`, in memory (the API's export)."""
    buffer = BytesIO()
    _xlsx(report, buffer)
    return buffer.getvalue()


def _xlsx(report: Report, out: Path | IO[bytes]) -> None:
    rows = _rows(report)
    for column in rows.columns:
        if column.startswith("case_") and rows[column].dtype == bool:
            rows[column] = rows[column].map({True: "是", False: "否"})
    if "list" in rows:
        rows["list"] = rows["list"].map(LIST_ZH).fillna(rows["list"])
    rows["status"] = rows["status"].map(STATUS_ZH).fillna(rows["status"])
    evidence = report.evidence.copy()
    if "source" in evidence:
        evidence["source"] = evidence["source"].map(report.source_label)
        evidence["status"] = evidence["status"].map(STATUS_ZH).fillna(evidence["status"])
    about = pd.DataFrame(
        [("模型版本", report.model_version), ("基准日期", report.as_of), ("规则文件", report.rules_path)]
        + [(LIST_ZH.get(k, k), str(v)) for k, v in report.counts.items()]
        + [(f"筛选：{k}", str(v)) for k, v in report.notes.items()], columns=["项目", "内容"])
    sheet = "疑似漏管户" if report.lists == ("suspect",) else "名单"
    with pd.ExcelWriter(out, engine="openpyxl") as writer:
        rows.rename(columns=HEADERS_ZH).to_excel(writer, sheet_name=sheet, index=False)
        evidence.rename(columns=HEADERS_ZH).to_excel(writer, sheet_name="证据记录", index=False)
        about.to_excel(writer, sheet_name="说明", index=False)
        for ws in writer.book.worksheets:
            ws.freeze_panes = "A2"
            if ws.title != "说明" and ws.max_row > 0:
                ws.auto_filter.ref = ws.dimensions  # the header's drop-downs, over every row
            for col in ws.columns:
                width = max(len(str(c.value or "")) for c in col[:200])
                ws.column_dimensions[col[0].column_letter].width = min(max(8, width * 1.6), 60)


def build_report(store_or_con: object, as_of: str | None = None, lists: tuple[str, ...] = ("suspect",),
                 district: str | None = None, industry: str | None = None,
                 since: str | None = None) -> Report:
    """Run the detection and collect the evidence records of every listed entity."""
    rules = load_rules()
    departments = load_departments(rules.domain)
    rows = find_unregistered(store_or_con, as_of, lists=lists, district=district, industry=industry,
                             since=since, rules=rules, departments=departments)
    evidence = unregistered_evidence(store_or_con, rows["entity_id"].tolist(), rules, departments)
    con = _cursor(store_or_con)
    try:
        mv = con.execute("SELECT max(model_version) FROM membership WHERE domain = ?", [rules.domain]).fetchall()[0][0]
    finally:
        con.close()
    counts = {k: int((rows["list"] == k).sum()) for k in lists}
    return Report(rows=rows, evidence=evidence, model_version=str(mv), as_of=str(rows["as_of"].iloc[0])
                  if len(rows) else (as_of or pd.Timestamp.today().date().isoformat()),
                  rules_path=display_path(rules.path), lists=tuple(lists), counts=counts,
                  source_labels=dict(departments.labels))
