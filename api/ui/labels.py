"""Chinese names of canonical fields, departments and history events on the pages."""

from __future__ import annotations

from functools import lru_cache

from resolver.domains import load_schema
from resolver.mapping import sources_of
from resolver.unregistered.contents import HEADERS_ZH, STATUS_ZH

FIELDS_ZH = {
    **HEADERS_ZH,
    "name": "名称", "uscc": "统一社会信用代码", "org_code": "组织机构代码", "reg_no": "注册号",
    "tax_id": "纳税人识别号", "legal_rep": "法定代表人", "legal_rep_id": "法定代表人证件号",
    "address": "地址", "phone": "电话", "established": "成立日期", "status": "状态",
    "industry_code": "行业代码", "registered_capital": "注册资本", "employees": "从业人员",
    "revenue": "营业收入", "activity_date": "活动日期", "entity_kind": "主体类型",
    "id_number": "身份证号", "sex": "性别", "birth_date": "出生日期", "employer": "工作单位",
    "district": "区县", "street": "街道", "tax_office": "税务所", "trade_name": "字号", "name_core": "名称主干",
    "name_region": "名称中的行政区划", "org_form": "组织形式", "name_tokens": "名称分词", "province": "省",
    "city": "市", "road": "道路", "house_number": "门牌号", "address_rest": "地址其余部分",
    "tax_id_kind": "纳税人识别号类型", "parent_name": "上级名称", "phone_kind": "电话类型",
}
EVENTS_ZH = {"created": "新建", "absorbed": "合并（并入其他主体）", "split": "拆分", "merged": "编号停用（并入）",
             "retired": "编号停用（无记录）"}


class _DomainLabels:
    """domain → its `label:` from schema.yaml (企业, 个人 …): a new domain is named without code."""

    def get(self, domain: str, default: str | None = None) -> str:
        try:
            return load_schema(domain).label
        except Exception:  # a page must not fail on a label
            return default if default is not None else domain


DOMAINS_ZH = _DomainLabels()
RULES_ZH = {"most_frequent": "多数值", "most_recent": "最新值", "source_priority": "来源优先"}


def field_label(name: str) -> str:
    return FIELDS_ZH.get(name, name)


@lru_cache(maxsize=8)
def source_labels(domain: str) -> dict[str, str]:
    """source → the department's name from its mapping (`label`), for one domain."""
    try:
        return {s: m.label for s, m in sources_of(domain).items()}
    except Exception:  # noqa: BLE001 - a broken mapping: show the source names as they are
        return {}


def source_label(domain: str, source: object) -> str:
    return source_labels(domain).get(str(source), str(source))


def status_label(value: object) -> str:
    return STATUS_ZH.get(str(value), str(value))
