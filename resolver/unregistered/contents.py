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
}
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

    def source_label(self, source: object) -> str:
        return self.source_labels.get(str(source), str(source))
