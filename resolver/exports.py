"""Tables out of the store, written as CSV (UTF-8 with BOM, so Excel reads Chinese), XLSX or Parquet."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from resolver.access.masking import masked_by, stars
from resolver.access.sensitivity import HIDE, rules
from resolver.errors import InputError
from resolver.store import Store
from resolver.store.golden import Survivorship, load_survivorship

# The export contract (SPEC §3): CSV and Parquet keep the canonical English column names, so
# other systems can read them by name; XLSX is opened by inspectors and shows these Chinese
# headers. Every export carries `model_version` (模型版本): which model produced the rows.
HEADERS_ZH = {
    "entity_id": "主体编号", "source": "来源部门", "source_record_id": "来源记录编号",
    "model_version": "模型版本", "name": "名称", "uscc": "统一社会信用代码", "org_code": "组织机构代码",
    "reg_no": "注册号", "tax_id": "纳税人识别号", "legal_rep": "法定代表人", "legal_rep_id": "法定代表人证件号",
    "address": "地址", "district": "区县", "phone": "电话", "established": "成立日期", "status": "状态",
    "industry_code": "行业代码", "registered_capital": "注册资本", "employees": "从业人员",
    "revenue": "营业收入", "entity_kind": "主体类型", "id_number": "身份证号", "sex": "性别",
    "birth_date": "出生日期", "size": "记录数", "employer": "工作单位", "activity_date": "活动日期",
    "age_band": "年龄段", "count": "数量", "suppressed": "已抑制",
}
FORMATS = (".csv", ".xlsx", ".parquet")
XLSX_MAX_ROWS = 1_048_576 - 1  # a worksheet's limit, less the header


def check_output(out: str | Path) -> Path:
    """`out` as a Path when its extension is a format we write; checked before any work is done."""
    out = Path(out)
    if out.suffix.lower() not in FORMATS:
        raise InputError(f"{out}: unknown output format '{out.suffix}' (use {', '.join(FORMATS)})")
    return out


def write_table(frame: pd.DataFrame, out: str | Path, chinese_headers: bool = False) -> None:
    """Write by extension: .csv (UTF-8 with BOM), .xlsx or .parquet. `chinese_headers`
    renames known columns in XLSX only; CSV and Parquet always keep the canonical names."""
    out = check_output(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    suffix = out.suffix.lower()
    if suffix == ".parquet":
        frame.to_parquet(out, index=False)
    elif suffix == ".csv":
        frame.to_csv(out, index=False, encoding="utf-8-sig")
    else:
        if len(frame) > XLSX_MAX_ROWS:
            raise InputError(f"{out}: {len(frame)} rows do not fit in one Excel sheet "
                             f"({XLSX_MAX_ROWS} at most); write .csv or .parquet instead")
        shown = frame.rename(columns=HEADERS_ZH) if chinese_headers else frame
        shown.to_excel(out, index=False, engine="openpyxl")


def members_frame(store: Store, domain: str) -> pd.DataFrame:
    with store.reader() as reader:
        return reader.members_by_source(domain)


def masked_golden(frame: pd.DataFrame, domain: str) -> pd.DataFrame:
    """The golden frame as a caller without the domain's pii scope sees it: personal fields in
    their masked form, derived ones dropped (resolver.access.sensitivity)."""
    out = frame.copy()
    sense = rules(domain)
    # fields that can repeat part of a personal value beside them (Sensitivity.repeats)
    echoes = [(f, source) for f, source, _ in sense.echoes if f in out.columns and source in out.columns]
    if echoes:
        cols = sorted({c for pair in echoes for c in pair})
        rows = out[cols].astype(object).where(out[cols].notna(), None).to_dict("records")
        repeated = [sense.repeats(row) for row in rows]
        for field in dict(echoes):
            out[field] = [stars(row[field]) if field in rep else row[field]
                          for row, rep in zip(rows, repeated, strict=True)]
    forms = sense.forms
    for field in forms.keys() & set(out.columns):
        if forms[field] == HIDE:
            out = out.drop(columns=[field])
            continue
        values = out[field].astype(object).where(out[field].notna(), None)
        out[field] = [masked_by(sense, field, v)[1] for v in values]
    return out


def golden_frame(store: Store, domain: str, survivorship: Survivorship | None = None) -> pd.DataFrame:
    """Golden records wide: one row per active entity, one column per golden field, in the
    order of `survivorship` (default: the default folder's rule file)."""
    long = store.golden(domain)
    if long.empty:
        return long
    wide = long.pivot(index="entity_id", columns="field", values="value").reset_index()
    wide.columns.name = None
    # Fields in the order the survivorship file lists them (name first), not alphabetically.
    order = [rule.field for rule in (survivorship or load_survivorship(domain)).fields]
    fields = sorted(set(wide.columns) - {"entity_id"}, key=lambda f: (order.index(f) if f in order else len(order), f))
    with store.reader() as reader:
        meta = reader.active_entities(domain)
    return (meta.merge(wide[["entity_id", *fields]], on="entity_id", how="left")
            .sort_values("entity_id").reset_index(drop=True))
