"""The model report: every comparison level's m, u, match weight, pairs observed in training,
trained or fallback (and why), and what changed between two model versions. Plain text lines
for `resolver model show|diff` and the end of `resolver train`."""

from __future__ import annotations

import math
from typing import Any

from resolver.linking.fallback import FALLBACK
from resolver.linking.model import LinkModel, level_parameters


def model_levels(model: LinkModel) -> list[dict[str, Any]]:
    """The level report recorded at training; for models trained before it was, the m and u of
    the settings (status unknown)."""
    levels = model.metadata.get("levels")
    if levels:
        return list(levels)
    return [{**p, "pairs_observed": None, "status": "unknown", "reason": "trained before levels were recorded"}
            for p in level_parameters(model.settings)]


def _num(v: Any, fmt: str = ".4g") -> str:
    return format(v, fmt) if isinstance(v, (int, float)) and not (isinstance(v, float) and math.isnan(v)) else "-"


def _thresholds(model: LinkModel) -> dict[str, Any]:
    clustering = model.metadata.get("clustering") or {}
    return {"predict_threshold": clustering.get("predict_threshold"),
            "match_probability_threshold": clustering.get("match_probability_threshold"),
            "constraints": len(clustering.get("constraints") or []),
            "prior": model.settings.get("probability_two_random_records_match")}


def _sampled(meta: dict[str, Any]) -> str:
    drawn = meta.get("training_sample")
    return f" (a random sample of {drawn['of']}, seed {drawn['seed']})" if drawn else ""


def _header(model: LinkModel) -> list[str]:
    meta, thr = model.metadata, _thresholds(model)
    em = ", ".join(f"{e['rule']} {e['iterations']} iterations" + ("" if e.get("used", True) else " (left out)")
                   for e in meta.get("em", []))
    return [
        f"{model.domain} model version {model.version}: created {meta.get('created', '?')}, "
        f"{meta.get('training_records', '?')} training records{_sampled(meta)}, "
        f"{meta.get('labelled_pairs', 0)} labelled pairs, "
        f"rules {str(meta.get('rules_hash', '?'))[:8]}",
        f"prior (two random records match) {_num(thr['prior'])}; thresholds recorded at training: predict "
        f"{_num(thr['predict_threshold'])}, match {_num(thr['match_probability_threshold'])}; survivorship "
        + ("recorded" if "survivorship" in meta else "not recorded (resolve uses the current file)"),
        f"EM: {em or 'none'}",
    ]


def show_lines(model: LinkModel) -> list[str]:
    """The full report: header, one row per level, the warnings training gave."""
    levels = model_levels(model)
    width = max([len(lv["label"] or "") for lv in levels] + [5])
    comp_w = max([len(lv["comparison"]) for lv in levels] + [10])
    lines = _header(model)
    lines.append(f"{'comparison':<{comp_w}}  {'level':<{width}}  {'m':>10}  {'u':>10}  {'weight':>7}  "
                 f"{'pairs':>7}  status")
    for lv in levels:
        status = lv["status"] + (f": {lv['reason']}" if lv.get("reason") else "")
        lines.append(f"{lv['comparison']:<{comp_w}}  {lv['label'] or '':<{width}}  {_num(lv['m']):>10}  "
                     f"{_num(lv['u']):>10}  {_num(lv['match_weight'], '+.2f'):>7}  "
                     f"{_num(lv.get('pairs_observed'), 'd'):>7}  {status}")
    warnings = model.metadata.get("warnings") or []
    if warnings:
        lines.append(f"{len(warnings)} warning(s) from training:")
        lines += [f"  - {w}" for w in warnings]
    return lines


def short_lines(model: LinkModel) -> list[str]:
    """A few lines for the end of `train`: counts, every fallback, every level weighing against."""
    levels = model_levels(model)
    fallback = [lv for lv in levels if lv["status"] == FALLBACK]
    against = [lv for lv in levels if lv["status"] != FALLBACK and lv.get("reason") and "against" in lv["reason"]]
    lines = [f"{len(levels)} levels: {len(levels) - len(fallback)} trained, {len(fallback)} fallback"]
    lines += [f"  fallback  {lv['comparison']} / {lv['label']}: {lv['reason']}" for lv in fallback]
    lines += [f"  against   {lv['comparison']} / {lv['label']}: weight {lv['match_weight']:+.2f} "
              "(graded level, kept as trained)" for lv in against]
    lines += [f"  warning   {w}" for w in model.metadata.get("warnings") or []
              if not w.startswith("comparison ")]  # the level ones are listed above
    return lines


def diff_lines(before: LinkModel, after: LinkModel, *, tolerance: float = 0.005) -> list[str]:
    """What changed from `before` to `after`: rules, thresholds, prior, and every level whose
    m, u, weight or status moved (levels matched by comparison and label)."""
    lines = [f"{before.domain} model {before.version} -> {after.version}"]
    mb, ma = before.metadata, after.metadata
    for key in ("rules_hash", "training_fingerprint", "training_records", "labelled_pairs", "engine"):
        if mb.get(key) != ma.get(key):
            lines.append(f"  {key}: {mb.get(key)} -> {ma.get(key)}")
    sb, sa = mb.get("survivorship"), ma.get("survivorship")
    if sb != sa:
        fields = sorted({f for doc in (sb, sa) for f in ((doc or {}).get("fields") or {})
                         if ((sb or {}).get("fields") or {}).get(f) != ((sa or {}).get("fields") or {}).get(f)})
        lines.append("  survivorship: " + ("recorded only after" if sb is None else "recorded only before"
                                          if sa is None else f"fields changed: {', '.join(fields) or 'recency or priority'}"))
    tb, ta = _thresholds(before), _thresholds(after)
    for key in tb:
        if tb[key] != ta[key]:
            lines.append(f"  {key}: {_num(tb[key])} -> {_num(ta[key])}")
    old = {(lv["comparison"], lv["label"]): lv for lv in model_levels(before)}
    new = {(lv["comparison"], lv["label"]): lv for lv in model_levels(after)}
    rows = []
    for level in list(old) + [k for k in new if k not in old]:
        a, b = old.get(level), new.get(level)
        if a is None or b is None:
            rows.append((math.inf, f"  {level[0]} / {level[1]}: only in {'after' if a is None else 'before'}"))
            continue
        wa, wb = a.get("match_weight"), b.get("match_weight")
        change = (wb - wa) if isinstance(wa, (int, float)) and isinstance(wb, (int, float)) else math.inf
        moved = abs(change) > tolerance or a["status"] != b["status"]
        if moved:
            status = f"{a['status']} -> {b['status']}" if a["status"] != b["status"] else b["status"]
            rows.append((abs(change), f"  {level[0]} / {level[1]}: m {_num(a['m'])} -> {_num(b['m'])}, "
                                      f"u {_num(a['u'])} -> {_num(b['u'])}, weight {_num(wa, '+.2f')} -> "
                                      f"{_num(wb, '+.2f')} ({status})"))
    rows.sort(key=lambda r: -r[0])
    lines.append(f"  {len(rows)} of {len(set(old) | set(new))} levels changed"
                 + (":" if rows else ""))
    lines += [r[1] for r in rows]
    return lines
