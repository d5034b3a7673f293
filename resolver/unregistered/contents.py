"""What every output of the inspector's list shows: the Report and its Chinese labels.

Shared by report.py (CSV, XLSX) and html.py; it imports neither, so they do not import each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

HEADERS_ZH = {
    "list": "名单", "entity_id": "主体编号", "score": "证据强度", "reason_codes": "原因代码",
    "reasons": "原因", "name": "名称", "uscc": "统一社会信用代码", "district": "区县",
    "district_code": "区县代码", "industry_code": "行业代码", "established": "成立日期", "status": "工商状态",
    "entity_kind": "主体类型", "registry_record_id": "登记记录编号", "n_operating": "经营迹象记录数",
    "operating_sources": "经营迹象来源", "first_evidence": "首次经营迹象日期",
    "last_activity": "最近经营活动日期", "revenue": "营业收入", "employees": "从业人员",
    "n_sources": "来源部门数", "nearest_tax_record_id": "最相近税务记录编号",
    "nearest_tax_name": "最相近税务记录名称", "nearest_tax_entity_id": "最相近税务记录所属主体",
    "nearest_match_probability": "最相近税务记录匹配概率", "nearest_evidence": "相近依据",
    "nearest_not_accepted_because": "未予关联原因", "model_version": "模型版本", "as_of": "基准日期",
    # evidence sheet
    "source": "来源部门", "source_record_id": "来源记录编号", "tax_id": "纳税人识别号",
    "activity_date": "活动日期", "legal_rep": "法定代表人", "address": "地址",
    # the worklist's case columns (resolver.unregistered.case_facts, worklist)
    "phone": "联系电话", "street": "街道（乡镇）", "tax_office": "主管税务所", "age_days": "距首次经营迹象天数",
    "fingerprint": "事实指纹", "case_status": "核查状态", "case_reopened": "事实变化重新打开",
    "case_recorded_status": "已记录结果", "case_assignee": "承办人", "case_note": "备注",
    "case_reason": "结果说明（误报原因）", "case_updated_at": "最近更新时间（UTC）", "case_updated_by": "更新部门",
    "case_awaiting_tax_record": "已办理登记、待税务记录入库",
}
# The worklist export's column order: what an inspector reads first; any other column follows.
WORKLIST_ORDER = (
    "entity_id", "score", "case_status", "case_assignee", "name", "uscc", "district", "street", "tax_office",
    "address", "legal_rep", "phone", "industry_code", "established", "first_evidence", "age_days", "reasons",
    "operating_sources", "last_activity", "revenue", "employees", "nearest_tax_record_id", "nearest_tax_name",
    "nearest_match_probability", "nearest_evidence", "nearest_not_accepted_because", "case_reason", "case_note",
    "case_reopened", "case_recorded_status", "case_awaiting_tax_record", "case_updated_at", "case_updated_by",
    "list",
)
LIST_ZH = {"suspect": "疑似漏管户", "dormant": "未经营（休眠）", "status_conflict": "状态冲突",
           "link_review": "待核对关联"}
STATUS_ZH = {"active": "存续/正常", "cancelled": "注销", "revoked": "吊销", "moved_out": "迁出",
             "abnormal": "异常"}


@dataclass
class Report:
    """What every output shows: the rows, their evidence records and where they came from."""

    rows: pd.DataFrame
    evidence: pd.DataFrame
    model_version: str
    as_of: str
    rules_path: str
    lists: tuple[str, ...]
    counts: dict[str, int] = field(default_factory=dict)
    # source -> the department's name, from the source mappings' `label`
    source_labels: dict[str, str] = field(default_factory=dict)
    # lines for the 说明 sheet: the filters a worklist export was cut with
    notes: dict[str, str] = field(default_factory=dict)

    def source_label(self, source: object) -> str:
        return self.source_labels.get(str(source), str(source))
