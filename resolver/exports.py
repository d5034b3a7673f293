"""Tables out of the store, written as CSV (UTF-8 with BOM, so Excel reads Chinese), XLSX or Parquet."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from resolver.errors import InputError
from resolver.store import Store

# Chinese headers for spreadsheets that inspectors open; Parquet keeps the canonical names.
HEADERS_ZH = {
    "entity_id": "主体编号", "source": "来源部门", "source_record_id": "来源记录编号",
    "model_version": "模型版本", "name": "名称", "uscc": "统一社会信用代码", "org_code": "组织机构代码",
    "reg_no": "注册号", "tax_id": "纳税人识别号", "legal_rep": "法定代表人", "legal_rep_id": "法定代表人证件号",
    "address": "地址", "district": "区县", "phone": "电话", "established": "成立日期", "status": "状态",
    "industry_code": "行业代码", "registered_capital": "注册资本", "employees": "从业人员",
    "revenue": "营业收入", "entity_kind": "主体类型", "id_number": "身份证号", "sex": "性别",
    "birth_date": "出生日期", "size": "记录数",
}


def write_table(frame: pd.DataFrame, out: str | Path, chinese_headers: bool = False) -> None:
    """Write by extension: .csv, .xlsx or .parquet."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    suffix = out.suffix.lower()
    if suffix == ".parquet":
        frame.to_parquet(out, index=False)
        return
    shown = frame.rename(columns=HEADERS_ZH) if chinese_headers else frame
    if suffix == ".csv":
        shown.to_csv(out, index=False, encoding="utf-8-sig")
    elif suffix == ".xlsx":
        shown.to_excel(out, index=False, engine="openpyxl")
    else:
        raise InputError(f"{out}: unknown output format '{suffix}' (use .csv, .xlsx or .parquet)")


def members_frame(store: Store, domain: str) -> pd.DataFrame:
    return store.cursor().execute(
        "SELECT split_part(unique_id, ':', 1) AS source, "
        "substr(unique_id, length(split_part(unique_id, ':', 1)) + 2) AS source_record_id, "
        "entity_id, model_version FROM membership WHERE domain = ? ORDER BY entity_id, unique_id",
        [domain]).df()


def golden_frame(store: Store, domain: str) -> pd.DataFrame:
    """Golden records wide: one row per active entity, one column per golden field."""
    long = store.golden(domain)
    if long.empty:
        return long
    wide = long.pivot(index="entity_id", columns="field", values="value").reset_index()
    wide.columns.name = None
    meta = store.cursor().execute(
        "SELECT entity_id, size, model_version FROM entities WHERE domain = ? AND active", [domain]).df()
    return meta.merge(wide, on="entity_id", how="left").sort_values("entity_id").reset_index(drop=True)
