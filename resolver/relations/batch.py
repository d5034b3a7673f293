"""`resolver verify`: the 协查 answer for a batch of applicants from a spreadsheet, written as an
XLSX an official can file: a cover sheet (date, operator, applicants, departments consulted),
one row per item held (or per department holding nothing), and the rows that could not be
checked with their row, column and reason. One audit row per applicant answered."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from resolver.access.masking import mask_fields
from resolver.domains import DomainSchema, load_schema
from resolver.errors import InputError
from resolver.exports import HEADERS_ZH
from resolver.lookup.one_record import Standardizer
from resolver.lookup.search import search
from resolver.relations.answer import department_labels
from resolver.relations.rules import Verification, load_relations
from resolver.relations.verification import verification_rules, verify_entity
from resolver.store import Store

# Words of the filed sheet beyond the export headers (resolver.exports.HEADERS_ZH).
WORDS = {"employer": "工作单位", "account_status": "账户状态", "active": "正常", "suspended": "暂停/封存",
         "closed": "注销/销户", "cancelled": "注销", "revoked": "吊销", "moved_out": "迁出", "abnormal": "异常",
         "company": "公司", "branch": "分公司", "individual_business": "个体工商户", "other": "其他组织",
         "M": "男", "F": "女"}


@dataclass
class Problem:
    row: int       # the line of the applicants file (the header is line 1)
    column: str
    reason: str


@dataclass
class Outcome:
    applicants: int = 0
    found: int = 0
    not_found: int = 0
    problems: list[Problem] = field(default_factory=list)
    departments: list[str] = field(default_factory=list)


def read_applicants(path: Path, verification: Verification) -> tuple[pd.DataFrame, dict[str, str]]:
    """The applicants file as text cells, and header → field of the columns it has."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise InputError(f"{path}: no such applicants file")
    if suffix == ".xlsx":
        frame = pd.read_excel(path, dtype=str)
    elif suffix == ".csv":
        try:
            frame = pd.read_csv(path, dtype=str, encoding="utf-8-sig")
        except UnicodeDecodeError:
            frame = pd.read_csv(path, dtype=str, encoding="gb18030")
    else:
        raise InputError(f"{path}: applicants must be .csv or .xlsx, not '{path.suffix}'")
    frame.columns = [str(c).strip() for c in frame.columns]
    columns = {c: verification.applicants[c] for c in frame.columns if c in verification.applicants}
    if not columns:
        raise InputError(f"{path}: no column the verification knows (headers: "
                         f"{', '.join(verification.applicants)})")
    return frame, columns


def _query(schema: DomainSchema, line: int, cells: dict[str, str], columns: dict[str, str], std: Standardizer
           ) -> tuple[dict[str, Any] | None, list[Problem]]:
    """The applicant's standardized fields, or the problems that stop the check."""
    given = {columns[h]: v.strip() for h, v in cells.items() if h in columns and isinstance(v, str) and v.strip()}
    header = {f: h for h, f in columns.items()}
    if not given:
        return None, [Problem(line, ", ".join(columns), "empty row: give an ID number, or a name with a birth date")]
    row = std.one(schema.name, {"source": "applicant", "source_record_id": str(line), **given})
    problems = []
    for name in given:
        spec = schema.fields[name]
        if spec.valid_column and not row.get(spec.valid_column):
            problems.append(Problem(line, header[name], f"not a valid {spec.standard} identifier (check failed)"))
        elif spec.type == "date" and not row.get(name):
            problems.append(Problem(line, header[name], "not a date"))
    idents = [f for f in given if schema.fields[f].type == "identifier"]
    names = schema.searchable("name")
    if not idents and (not any(n in given for n in names) or len(given) < 2):
        problems.append(Problem(line, header.get(names[0], names[0]) if names else "",
                                "a name alone does not identify anyone: give the ID number, or the name "
                                "with the birth date"))
    return (None if problems else {f: row.get(f) for f in given}), problems


def find_entity(store: Store, schema: DomainSchema, query: dict[str, Any]) -> tuple[str | None, str]:
    """(master ID, how) of the one entity the applicant's fields name, else (None, why not)."""
    idents = [f for f in query if schema.fields[f].type == "identifier"]
    if idents:
        found = {r["entity_id"] for f in idents
                 for r in search(store, schema.name, id=str(query[f]), limit=5, unmasked=True)["results"]}
    else:
        name_field = next(f for f in query if f in schema.searchable("name"))
        rest = {f: v for f, v in query.items() if f != name_field}
        hits = search(store, schema.name, name=str(query[name_field]), limit=50, unmasked=True)["results"]
        found = {r["entity_id"] for r in hits
                 if r["golden"].get(name_field) == query[name_field]
                 and all(str(r["golden"].get(f)) == str(v) for f, v in rest.items())}
    if len(found) == 1:
        return found.pop(), "found"
    return None, "no entity holds these details" if not found else f"{len(found)} entities hold these details"


def _content(fields: dict[str, Any]) -> str:
    return "；".join(f"{HEADERS_ZH.get(k, WORDS.get(k, k))}：{WORDS.get(str(v), v)}" for k, v in fields.items()
                    if v is not None)


def _rows(line: int, subject: dict[str, Any], answer: dict[str, Any]) -> list[dict[str, Any]]:
    base = {"申请人行号": line, "申请人姓名": subject.get("name"), "证件号码": subject.get("id_number"),
            "主体编号": answer["entity_id"]}
    out = []
    for dept in answer["departments"]:
        if not dept["items"]:
            out.append({**base, "部门": dept["label"], "核查事项": "、".join(dept.get("checks") or []),
                        "持有信息": "无记录", "关联主体编号": "",
                        "来源记录": "", "记录日期": ""})
        for item in dept["items"]:
            related = item.get("related") or {}
            content = _content(item["fields"])
            if related.get("fields"):
                content += f"（{_content(related['fields'])}）"
            out.append({**base, "部门": dept["label"], "核查事项": item["label"], "持有信息": content,
                        "关联主体编号": related.get("entity_id", ""),
                        "来源记录": f"{item['source']}:{item['source_record_id']}", "记录日期": item["date"] or ""})
    return out


def verify_batch(store: Store, applicants: Path, out: Path, operator: str, unmasked: bool,
                 audit: Any = None) -> Outcome:
    """Check every applicant of the file and write the XLSX `out`; `audit(query, returned_ids)`
    is called once per applicant answered."""
    if out.suffix.lower() != ".xlsx":
        raise InputError(f"{out}: the verification is written as .xlsx")
    rules = load_relations()
    verification = verification_rules(rules.verification.domain if rules.verification else "", rules)
    schema = load_schema(verification.domain)
    frame, columns = read_applicants(applicants, verification)
    std = Standardizer()
    outcome = Outcome(applicants=len(frame))
    rows: list[dict[str, Any]] = []
    sources: set[str] = set()
    with store.reader() as reader:
        for i, cells in enumerate(frame.to_dict("records")):
            line = i + 2
            query, problems = _query(schema, line, cells, columns, std)
            if query is None:
                outcome.problems += problems
                continue
            entity_id, why = find_entity(store, schema, query)
            if entity_id is None:
                outcome.not_found += 1
                outcome.problems.append(Problem(line, ", ".join(h for h, f in columns.items() if f in query), why))
                continue
            answer = verify_entity(reader, lambda d: reader, verification.domain, entity_id, lambda d: unmasked)
            subject = mask_fields(verification.domain, {**answer["subject"], **query}, unmasked)
            rows += _rows(line, subject, answer)
            sources |= {d["source"] for d in answer["departments"]}
            outcome.found += 1
            if audit is not None:
                audit({"entity_id": entity_id, "applicant_row": line},
                      [entity_id, *sorted({i["related"]["entity_id"] for d in answer["departments"]
                                           for i in d["items"] if i.get("related")})])
    labels = department_labels()
    outcome.departments = [labels.get(s, s) for s in sorted(sources)]
    _write(out, rows, outcome, operator, applicants, unmasked)
    return outcome


def _write(out: Path, rows: list[dict[str, Any]], outcome: Outcome, operator: str, applicants: Path,
           unmasked: bool) -> None:
    cover = pd.DataFrame([
        ("核查日期", dt.date.today().isoformat()), ("操作人员", operator), ("申请人名单", applicants.name),
        ("申请人数", outcome.applicants), ("已核查", outcome.found), ("未找到", outcome.not_found),
        ("无法核查的行", len(outcome.problems)), ("数据来源部门数", len(outcome.departments)),
        ("数据来源部门", "、".join(outcome.departments)),
        ("个人信息", "完整显示" if unmasked else "已脱敏（身份证号仅显示地区码，电话号码部分隐藏）"),
    ], columns=["项目", "内容"])
    detail = pd.DataFrame(rows, columns=["申请人行号", "申请人姓名", "证件号码", "主体编号", "部门", "核查事项",
                                         "持有信息", "关联主体编号", "来源记录", "记录日期"])
    problems = pd.DataFrame([(p.row, p.column, p.reason) for p in outcome.problems], columns=["行号", "列", "原因"])
    out.parent.mkdir(parents=True, exist_ok=True)
    with pd.ExcelWriter(out, engine="openpyxl") as writer:
        cover.to_excel(writer, sheet_name="封面", index=False)
        detail.to_excel(writer, sheet_name="核查明细", index=False)
        problems.to_excel(writer, sheet_name="无法核查", index=False)
