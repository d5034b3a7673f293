"""Each comparison level's final m and u: trained, or a documented fallback (docs/tuning.md).

Training can leave a level without a usable estimate:

- EM never saw a pair at the level ("not observed, unable to train m"), or random sampling
  never saw one (u not observed);
- EM on a training rule did not converge: that rule's estimates are discarded;
- an *identifier* level (a `when_valid` level, or one named under `fallback.evidence_for`
  in training.yaml) came out with m <= u: agreement on an identifier must be evidence for a
  match, so the data or the rules are broken there.

Such a level gets the fixed m and u declared for it in training.yaml (`fallback.fixed`), else
"no evidence": m = u, match weight 0. For a comparison listed under `fallback.bound_unseen`,
when EM put n training pairs on its levels that are evidence for a match and none on this
level, m is at most 3/n (the 95 % upper bound for an event never seen in n trials), so the
level gets m = min(u, 3/n): a data set whose matching records never differ in address says
so, instead of a different address counting for nothing. An unseen level never becomes
evidence *for* a match. A missing u alone is bounded by the random pairs drawn
(at most one in that many). A *graded* level (same district, same road) whose m <= u is kept
as trained: once the stronger levels above it have taken the true matches, agreeing on a
district alone can be evidence against one. Splink's defaults by level position are never used.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from statistics import median
from typing import Any

from resolver.linking.rules import RuleSet, level_name

TRAINED = "trained"
FALLBACK = "fallback"


@dataclass
class LevelEstimates:
    """What training produced for one level: usable m and u estimates and pairs seen by EM."""

    m: list[float]
    u: list[float]
    pairs_observed: int | None  # pairs at this level among EM's training pairs; None: not counted


@dataclass
class LevelReport:
    """One comparison level of a published model: its parameters and where they came from."""

    comparison: str
    level: int
    label: str
    m: float
    u: float
    match_weight: float
    pairs_observed: int | None
    status: str  # trained | fallback
    reason: str | None = None  # why it fell back, or a note on a trained level

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def identifier_levels(rules: RuleSet) -> set[tuple[str, str]]:
    """(comparison, level name) of every level where agreement must be evidence for a match."""
    out = {(c["name"], level_name(lv)) for c in rules.comparisons for lv in c["levels"] if lv.get("when_valid")}
    for ref in (rules.training.get("fallback") or {}).get("evidence_for") or []:
        out.add((ref["comparison"], ref["level"]))
    return out


def fixed_levels(rules: RuleSet) -> dict[tuple[str, str], tuple[float, float]]:
    return {(f["comparison"], f["level"]): (float(f["m"]), float(f["u"]))
            for f in (rules.training.get("fallback") or {}).get("fixed") or []}


def _weight(m: float, u: float) -> float:
    return math.log2(m / u) if m > 0 and u > 0 else 0.0


def decide_levels(rules: RuleSet, estimates: dict[tuple[str, int], LevelEstimates],
                  u_bound: float) -> tuple[list[LevelReport], list[str]]:
    """Final m and u of every non-null level, and one warning per level that fell back.

    `estimates` is keyed by (comparison, position in the rule file); `u_bound` is the u to
    assume for a level random sampling never saw (1 / random pairs drawn).
    """
    identifiers = identifier_levels(rules)
    fixed = fixed_levels(rules)
    reports: list[LevelReport] = []
    warnings: list[str] = []
    bounded = set((rules.training.get("fallback") or {}).get("bound_unseen") or [])
    for comp in rules.comparisons:
        seen = _pairs_for_a_match(comp, estimates) if comp["name"] in bounded else 0
        for i, level in enumerate(comp["levels"]):
            if level["kind"] == "missing":
                continue
            name = level_name(level)
            est = estimates.get((comp["name"], i), LevelEstimates([], [], None))
            m = median(est.m) if est.m else None
            u = median(est.u) if est.u else None
            problem = None
            if m is None:
                problem = "m not observed: no training pair at this level"
            elif (comp["name"], name) in identifiers and u is not None and m <= u:
                problem = (f"identifier level with m={m:.4g} <= u={u:.4g}: agreement here must be "
                           "evidence for a match")
            note = None
            if problem is None and u is None:
                u, note = u_bound, f"u not observed in random pairs: bounded by 1/{round(1 / u_bound)}"
            if problem is None:
                assert m is not None and u is not None
                if m <= u and level["kind"] != "else":
                    note = "graded level: agreement here is evidence against a match once the levels above are taken out"
                reports.append(LevelReport(comp["name"], i, name, m, u, _weight(m, u), est.pairs_observed,
                                           TRAINED, note))
                continue
            if (comp["name"], name) in fixed:
                m, u = fixed[(comp["name"], name)]
                reason = f"{problem}; fixed m and u from training.yaml"
            else:
                u = u if u is not None else u_bound
                m = u
                reason = f"{problem}; no evidence (m = u)"
                if not est.m and seen and 3 / seen < u:
                    m = 3 / seen
                    reason = (f"{problem} among {seen} training pairs that agree on this comparison; "
                              f"m bounded by 3/{seen}")
            reports.append(LevelReport(comp["name"], i, name, m, u, _weight(m, u), est.pairs_observed,
                                       FALLBACK, reason))
            warnings.append(f"comparison '{comp['name']}' level {i} ({name}): {reason}")
    return reports, warnings


def _pairs_for_a_match(comp: dict[str, Any], estimates: dict[tuple[str, int], LevelEstimates]) -> int:
    """EM training pairs at the comparison's levels that came out as evidence for a match."""
    n = 0
    for i, level in enumerate(comp["levels"]):
        est = estimates.get((comp["name"], i))
        if level["kind"] == "missing" or est is None or not est.m or not est.u or not est.pairs_observed:
            continue
        if median(est.m) > median(est.u):
            n += est.pairs_observed
    return n


def apply_levels(settings: dict[str, Any], reports: list[LevelReport]) -> None:
    """Write every level's final m and u into Splink's settings (nothing left to its defaults)."""
    by_key = {(r.comparison, r.level): r for r in reports}
    for comp in settings["comparisons"]:
        for i, lv in enumerate(comp["comparison_levels"]):
            r = by_key.get((comp["output_column_name"], i))
            if r is not None:
                lv["m_probability"], lv["u_probability"] = r.m, r.u
