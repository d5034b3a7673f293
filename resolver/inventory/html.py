"""The inventory as one self-contained HTML page: a section per department with its chart
(inline SVG), no script and no network, like the 漏管户 report (resolver.unregistered.html)."""

from __future__ import annotations

from html import escape

import pandas as pd

from resolver.inventory.build import DomainInventory, Inventory
from resolver.inventory.tables import field_label

_CSS = """
body{font-family:"Noto Sans CJK SC","WenQuanYi Micro Hei","Microsoft YaHei",sans-serif;margin:24px;color:#222}
h1{font-size:22px;margin:0 0 4px} h2{font-size:19px;margin:28px 0 8px;border-bottom:2px solid #1565c0}
h3{font-size:16px;margin:20px 0 6px} .meta{color:#555;font-size:13px}
table{border-collapse:collapse;font-size:12px;margin:6px 0} th{background:#37474f;color:#fff}
th,td{border:1px solid #ccc;padding:3px 6px} td.num{text-align:right} .dept{display:flex;gap:24px;flex-wrap:wrap}
.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px}
"""
_FILL, _VALID = "#1565c0", "#2e7d32"


def _pct(value: object) -> str:
    if not isinstance(value, (int, float)) or pd.isna(value):
        return "—"
    return f"{100 * float(value):.1f}%"


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return ""
    return escape(str(value))


def field_chart(title: str, fields: pd.DataFrame, width: int = 520) -> str:
    """Per field, completeness (blue) and, for checked fields, validity (green) as bars 0-100 %."""
    bar_h, label_w, top = 11, 130, 34
    row_h = 2 * bar_h + 6
    height = top + row_h * max(len(fields), 1) + 8
    span = width - label_w - 60
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="{escape(title)}"><text x="0" y="16" font-size="14" font-weight="bold">{escape(title)}</text>'
             f'<rect x="{label_w}" y="22" width="10" height="8" fill="{_FILL}"/>'
             f'<text x="{label_w + 14}" y="30" font-size="11">完整率</text>'
             f'<rect x="{label_w + 70}" y="22" width="10" height="8" fill="{_VALID}"/>'
             f'<text x="{label_w + 84}" y="30" font-size="11">有效率</text>']
    for i, row in enumerate(fields.to_dict("records")):
        y = top + i * row_h
        parts.append(f'<text x="{label_w - 6}" y="{y + bar_h + 3}" font-size="11" text-anchor="end">'
                     f"{escape(field_label(str(row['field'])))}</text>")
        for k, (key, colour) in enumerate((("completeness", _FILL), ("validity", _VALID))):
            value = row[key]
            if value is None or pd.isna(value):
                continue
            w = int(span * float(value))
            yy = y + k * bar_h
            parts.append(f'<rect x="{label_w}" y="{yy}" width="{max(w, 1)}" height="{bar_h - 2}" fill="{colour}"/>'
                         f'<text x="{label_w + w + 4}" y="{yy + bar_h - 3}" font-size="10">{_pct(value)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _table(head: list[str], rows: list[list[str]], numeric: set[int]) -> str:
    body = "".join("<tr>" + "".join(f'<td class="num">{c}</td>' if j in numeric else f"<td>{c}</td>"
                                    for j, c in enumerate(r)) + "</tr>" for r in rows)
    return ("<table><thead><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead><tbody>"
            + (body or f'<tr><td colspan="{len(head)}">无</td></tr>') + "</tbody></table>")


def _summary(inv: DomainInventory) -> str:
    rows = [[_text(r["label"]), _text(r["source"]), f"{r['records']:,}", f"{r['entities']:,}",
             f"{r['quarantined']:,}", _pct(r["quarantine_share"]), _text(r["record_date_column"]) or "—",
             _text(r["latest"]) or "—", _text(r["note"])] for r in inv.sources.to_dict("records")]
    return _table(["部门", "代码", "记录数", "主体数", "隔离行数", "隔离比例", "记录日期列", "最新记录日期", "说明"],
                  rows, {2, 3, 4, 5})


def _department(inv: DomainInventory, source: dict[str, object]) -> str:
    code = str(source["source"])
    label = inv.labels.get(code, code)
    fields = inv.fields[inv.fields["source"] == code]
    rows = [[escape(field_label(str(r["field"]))), _text(r["field"]),
             _text(r["mapped_column"]) or ("（由其他字段推导）" if r["filled"] else "（未映射）"),
             _pct(r["completeness"]), _pct(r["validity"]), f"{int(r['distinct']):,}"]
            for r in fields.to_dict("records")]
    overlap = inv.overlaps[inv.overlaps["source"] == code]
    shared = [[escape(inv.labels.get(str(r["other"]), str(r["other"]))), f"{int(r['shared']):,}", _pct(r["share"])]
              for r in overlap.to_dict("records")]
    fresh = (f"记录日期列：{_text(source['record_date_column'])}，最新 {_text(source['latest'])}，"
             f"最早 {_text(source['earliest'])}" if _text(source["record_date_column"]) else _text(source["note"]) or "无记录日期列")
    return (f'<h3>{escape(label)}（{escape(code)}）</h3><p class="meta">记录 {source["records"]:,} 条，主体 '
            f'{source["entities"]:,} 个，隔离 {source["quarantined"]:,} 行（{_pct(source["quarantine_share"])}）；'
            f'{fresh}。{_text(source["note"]) if _text(source["record_date_column"]) else ""}</p><div class="dept">'
            + field_chart(f"{label}：字段完整率与有效率", fields[fields["mapped_column"].notna() | (fields["filled"] > 0)])
            + "<div>" + _table(["字段", "代码", "部门原列名", "完整率", "有效率", "不同值数"], rows, {3, 4, 5})
            + "<p class=\"meta\">与其他部门共有的主体（占本部门主体）</p>"
            + _table(["另一部门", "共有主体数", "共有比例"], shared, {1, 2}) + "</div></div>")


def _disagreements(inv: DomainInventory) -> str:
    frame = inv.disagreements[inv.disagreements["disagree"] > 0].sort_values("share", ascending=False)
    rows = [[escape(inv.labels.get(str(r["source"]), str(r["source"]))),
             escape(inv.labels.get(str(r["other"]), str(r["other"]))), escape(field_label(str(r["field"]))),
             f"{int(r['compared']):,}", f"{int(r['disagree']):,}", _pct(r["share"])]
            for r in frame.to_dict("records")]
    return _table(["部门", "另一部门", "字段", "双方均有值的共有主体", "不一致", "不一致比例"], rows, {3, 4, 5})


def render_html(inventory: Inventory) -> str:
    sections = []
    for inv in inventory.domains:
        sections.append(f"<h2>{escape(inv.label)}（{escape(inv.domain)}）</h2><h3>部门概况</h3>{_summary(inv)}")
        sections += [_department(inv, s) for s in inv.sources.to_dict("records")]
        sections.append(f"<h3>部门间字段不一致（{escape(inv.label)}）</h3>"
                        "<p class=\"meta\">两部门共有且都给出该字段的主体中，双方取值没有一个相同的比例"
                        "（地址按区县、道路、门牌比较）。</p>" + _disagreements(inv))
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>政务数据目录</title><style>{_CSS}</style></head>
<body>
<h1>政务数据目录（数据资源清单）</h1>
<div class="meta">主库 {escape(inventory.db)} ｜ 生成时间 {escape(inventory.made_at)}</div>
<p class="meta">完整率：非空值占记录数；有效率：通过校验位检查（统一社会信用代码、组织机构代码、注册号、身份证号、电话等）的值占非空值；
隔离比例：无法使用而隔离的行占读取行数；共有比例：本部门的主体中另一部门也持有的比例。</p>
{"".join(sections) or "<p>主库中没有任何记录。</p>"}
</body></html>
"""
