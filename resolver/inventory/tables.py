"""The inventory's tables as people read them: Chinese headers, shares as percentages, and the
XLSX workbook (one sheet per table, autofilter on every sheet)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from resolver.exports import HEADERS_ZH
from resolver.inventory.build import DomainInventory, Inventory

SOURCE_HEADERS = {
    "domain": "领域", "source": "部门代码", "label": "部门", "records": "记录数", "entities": "主体数",
    "quarantined": "隔离行数", "read": "读取行数", "quarantine_share": "隔离比例",
    "record_date_column": "记录日期列", "record_date_field": "记录日期字段", "dated": "有日期记录数",
    "latest": "最新记录日期", "earliest": "最早记录日期", "note": "说明",
}
FIELD_HEADERS = {
    "domain": "领域", "source": "部门代码", "label": "部门", "field": "字段", "field_zh": "字段名称",
    "mapped_column": "部门原列名", "records": "记录数", "filled": "非空数", "completeness": "完整率",
    "distinct": "不同值数", "checked": "参与校验数", "valid": "校验通过数", "validity": "有效率",
}
OVERLAP_HEADERS = {
    "domain": "领域", "source": "部门代码", "label": "部门", "other": "另一部门代码", "other_label": "另一部门",
    "source_entities": "本部门主体数", "shared": "共有主体数", "share": "共有比例",
}
DISAGREE_HEADERS = {
    "domain": "领域", "source": "部门代码", "label": "部门", "other": "另一部门代码", "other_label": "另一部门",
    "field": "字段", "field_zh": "字段名称", "compared": "双方均有值的共有主体数", "disagree": "不一致数",
    "share": "不一致比例",
}
SHEETS = {"部门概况": SOURCE_HEADERS, "字段质量": FIELD_HEADERS, "部门重叠": OVERLAP_HEADERS,
          "字段不一致": DISAGREE_HEADERS}


def field_label(name: str) -> str:
    return HEADERS_ZH.get(name, name)


def _labelled(inv: DomainInventory, frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out.insert(0, "domain", inv.label)
    out.insert(2, "label", out["source"].map(inv.labels).fillna(out["source"]))
    if "other" in out.columns:
        out.insert(out.columns.get_loc("other") + 1, "other_label", out["other"].map(inv.labels).fillna(out["other"]))
    if "field" in out.columns:
        out.insert(out.columns.get_loc("field") + 1, "field_zh", out["field"].map(field_label))
    return out


def tables(inventory: Inventory) -> dict[str, pd.DataFrame]:
    """Sheet name -> table with Chinese headers, every domain's rows together."""
    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in SHEETS}
    for inv in inventory.domains:
        parts["部门概况"].append(_labelled(inv, inv.sources.drop(columns=["label"])))
        parts["字段质量"].append(_labelled(inv, inv.fields))
        parts["部门重叠"].append(_labelled(inv, inv.overlaps))
        parts["字段不一致"].append(_labelled(inv, inv.disagreements))
    out = {}
    for name, headers in SHEETS.items():
        frame = pd.concat(parts[name], ignore_index=True) if parts[name] else pd.DataFrame(columns=list(headers))
        out[name] = frame[[c for c in headers if c in frame.columns]].rename(columns=headers)
    return out


def write_xlsx(inventory: Inventory, out: Path) -> None:
    """One sheet per table, Chinese headers, autofilter, shares shown as percentages."""
    from openpyxl.utils import get_column_letter

    with pd.ExcelWriter(out, engine="openpyxl") as writer:
        for name, frame in tables(inventory).items():
            frame.to_excel(writer, sheet_name=name, index=False)
            sheet = writer.sheets[name]
            sheet.auto_filter.ref = sheet.dimensions
            sheet.freeze_panes = "A2"
            for j, header in enumerate(frame.columns, start=1):
                letter = get_column_letter(j)
                sheet.column_dimensions[letter].width = max(10, min(40, 2 * len(str(header)) + 2))
                if str(header).endswith(("率", "比例")):
                    for cell in sheet[letter][1:]:
                        cell.number_format = "0.0%"
