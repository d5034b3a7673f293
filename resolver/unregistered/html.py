"""A self-contained HTML report for inspectors: summary, charts (inline SVG), table with evidence.

No script and no network: it opens from a USB stick on an offline workstation and prints.
"""

from __future__ import annotations

from html import escape

import pandas as pd

from resolver.unregistered.contents import LIST_ZH, STATUS_ZH, Report

# GB/T 4754-2017 sections by the first two digits of the industry class code.
_SECTIONS = [(1, 5, "农林牧渔业"), (6, 12, "采矿业"), (13, 43, "制造业"), (44, 46, "电力热力燃气及水"),
             (47, 50, "建筑业"), (51, 52, "批发和零售业"), (53, 60, "交通运输仓储邮政"),
             (61, 62, "住宿和餐饮业"), (63, 65, "信息技术服务"), (66, 69, "金融业"), (70, 70, "房地产业"),
             (71, 72, "租赁和商务服务"), (73, 75, "科研和技术服务"), (76, 79, "水利环境公共设施"),
             (80, 82, "居民服务修理"), (83, 83, "教育"), (84, 85, "卫生和社会工作"), (86, 90, "文体娱乐"),
             (91, 97, "公共管理和组织")]

_CSS = """
body{font-family:"Noto Sans CJK SC","WenQuanYi Micro Hei","Microsoft YaHei",sans-serif;margin:24px;color:#222}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:24px 0 8px;border-bottom:2px solid #c62828}
.meta{color:#555;font-size:13px} .cards{display:flex;gap:12px;margin:12px 0}
.card{border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:110px}
.card b{display:block;font-size:24px;color:#c62828}
.charts{display:flex;gap:24px;flex-wrap:wrap}
table{border-collapse:collapse;width:100%;font-size:12px}
th{background:#37474f;color:#fff;position:sticky;top:0} th,td{border:1px solid #ccc;padding:3px 5px;vertical-align:top}
tr.main:nth-child(4n+1){background:#fafafa} td.ev{background:#f4f6f8;padding:2px 10px 6px 30px}
.ev table{font-size:11px} .ev th{background:#78909c} .num{text-align:right}
"""


def industry_section(code: object) -> str:
    """The GB/T 4754 section name for an industry class code, or 其他."""
    text = str(code or "")
    if len(text) >= 2 and text[:2].isdigit():
        d = int(text[:2])
        for lo, hi, name in _SECTIONS:
            if lo <= d <= hi:
                return name
    return "其他"


def bar_chart(title: str, counts: pd.Series, width: int = 560) -> str:
    """Horizontal bars as inline SVG, largest first (at most 15 bars)."""
    counts = counts.sort_values(ascending=False).head(15)
    bar_h, label_w, top = 22, 150, 30
    height = top + bar_h * max(len(counts), 1) + 10
    peak = max(int(counts.max()) if len(counts) else 1, 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="{escape(title)}"><text x="0" y="18" font-size="14" font-weight="bold">'
             f"{escape(title)}</text>"]
    if not len(counts):
        parts.append(f'<text x="0" y="{top + 14}" font-size="12" fill="#777">无数据</text>')
    for i, (label, n) in enumerate(counts.items()):
        y = top + i * bar_h
        w = int((width - label_w - 50) * int(n) / peak)
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" font-size="12" text-anchor="end">'
                     f"{escape(str(label))}</text>"
                     f'<rect x="{label_w}" y="{y + 3}" width="{max(w, 1)}" height="{bar_h - 6}" fill="#c62828"/>'
                     f'<text x="{label_w + w + 4}" y="{y + 15}" font-size="12">{int(n)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return escape(str(value))


def render_html(report: Report) -> str:
    rows = report.rows
    listed = rows[rows["list"] == "suspect"] if "suspect" in report.lists else rows
    by_district = listed["district"].fillna("未知").value_counts()
    by_industry = listed["industry_code"].map(industry_section).value_counts()
    cards = "".join(f'<div class="card">{escape(LIST_ZH.get(k, k))}<b>{v}</b></div>'
                    for k, v in report.counts.items())
    evidence = {eid: grp for eid, grp in report.evidence.groupby("entity_id")} if len(report.evidence) else {}
    head = ["名单", "主体编号", "证据强度", "名称", "统一社会信用代码", "区县", "行业", "成立日期",
            "原因", "最相近税务记录", "匹配概率", "未予关联原因"]
    body = []
    for r in rows.to_dict("records"):
        nearest = " ".join(x for x in (_cell(r.get("nearest_tax_record_id")), _cell(r.get("nearest_tax_name")),
                                       f"（{_cell(r.get('nearest_evidence'))}）" if _cell(r.get("nearest_evidence"))
                                       else "") if x)
        body.append(
            '<tr class="main">' + "".join(f"<td>{c}</td>" for c in (
                escape(LIST_ZH.get(str(r["list"]), str(r["list"]))), _cell(r["entity_id"]),
                f'<span class="num">{_cell(r["score"])}</span>', _cell(r["name"]), _cell(r["uscc"]),
                _cell(r["district"]), f'{_cell(r["industry_code"])} {escape(industry_section(r["industry_code"]))}',
                _cell(r["established"]), _cell(r["reasons"]), nearest,
                _cell(r.get("nearest_match_probability")), _cell(r.get("nearest_not_accepted_because")))) + "</tr>")
        ev = evidence.get(r["entity_id"])
        if ev is not None:
            ev_rows = "".join(
                "<tr>" + "".join(f"<td>{_cell(x)}</td>" for x in (
                    report.source_label(e["source"]), e["source_record_id"], e["name"],
                    STATUS_ZH.get(e["status"], e["status"]),
                    e["established"], e["activity_date"], e["revenue"], e["employees"])) + "</tr>"
                for e in ev.to_dict("records"))
            body.append(f'<tr><td class="ev" colspan="{len(head)}"><table><tr><th>来源</th><th>记录编号</th>'
                        "<th>名称</th><th>状态</th><th>成立日期</th><th>活动日期</th><th>营业收入</th>"
                        f"<th>从业人员</th></tr>{ev_rows}</table></td></tr>")
    table = ("<table><thead><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead><tbody>"
             + ("".join(body) or f'<tr><td colspan="{len(head)}">无</td></tr>') + "</tbody></table>")
    title = "疑似漏管户名单" if report.lists == ("suspect",) else "漏管户排查名单"
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{title}</title><style>{_CSS}</style></head>
<body>
<h1>{title}</h1>
<div class="meta">基准日期 {escape(report.as_of)} ｜ 模型版本 <b>{escape(report.model_version)}</b>
｜ 规则文件 {escape(report.rules_path)}</div>
<h2>概况</h2><div class="cards">{cards}</div>
<p class="meta">疑似漏管户：工商登记存续、成立超过税务登记期限、有经营迹象（检查记录、报表营业收入或有效的许可证书，见每户原因），
且未关联任何税务登记记录。按证据强度降序排列；每户下方列出全部来源记录。</p>
<div class="charts">{bar_chart("按区县", by_district)}{bar_chart("按行业", by_industry)}</div>
<h2>名单（{len(rows)} 户）</h2>
{table}
</body></html>
"""
