"""Why a candidate scored what it did: the prior, each comparison's level and weight with the
two values it compared, each term-frequency adjustment, and the total they add up to.

A match weight is Splink's: prior (log2 of the odds that two random records match) + Σ the
reached level's log2 Bayes factor + Σ term-frequency adjustments (resolver.lookup.scoring).
Every part is an item here, rounded to 4 decimals, and the total is the sum of the rounded
items, so a client adding them up gets the total exactly; the match probability is
1 / (1 + 2^-total).

Values are shown as the entity answer shows the candidate's member record: for a caller
without the domain's pii scope, personal columns masked in their form (or left out), a column
that repeats part of a personal value beside it as stars, and the comparisons of personal
fields left out entirely (their query values were withheld: docs/security.md).
"""

from __future__ import annotations

import re
from typing import Any

from resolver.access.masking import masked_by, stars
from resolver.access.sensitivity import Sensitivity
from resolver.lookup.entity import json_value
from resolver.lookup.scoring import CompiledModel

_LEFT = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)_l\b")
DECIMALS = 4


def _read(sql: str | None, columns: tuple[str, ...]) -> tuple[str, ...]:
    """The model columns a level's SQL reads (`x_l`), in the model's order."""
    named = set(_LEFT.findall(sql or ""))
    return tuple(c for c in columns if c in named)


Columns = tuple[tuple[tuple[str, ...], tuple[tuple[str, ...], ...]], ...]
_columns: dict[int, tuple[CompiledModel, Columns]] = {}  # by the model object: hashing a model costs more


def level_columns(model: CompiledModel) -> Columns:
    """Per comparison: (columns its missing-value test reads, columns each level reads). The
    `else` level compared every column of the comparison and found none agreeing: all of them."""
    hit = _columns.get(id(model))
    if hit is not None and hit[0] is model:
        return hit[1]
    if len(_columns) > 64:
        _columns.clear()
    out = []
    for comp in model.comparisons:
        every = tuple(c for c in model.columns if c in {*_read(comp.null_sql, model.columns),
                                                        *(x for lv in comp.levels for x in _read(lv.sql, model.columns))})
        levels = tuple(every if lv.sql.strip().upper() == "ELSE" else _read(lv.sql, model.columns) for lv in comp.levels)
        out.append((_read(comp.null_sql, model.columns) or every, levels))
    _columns[id(model)] = (model, tuple(out))
    return tuple(out)


def _starred(sense: Sensitivity, record: dict[str, Any]) -> set[str]:
    """Columns of `record` shown as stars: those repeating part of a personal value beside them,
    and, fail-safe, those that might when the value they would repeat is not in `record`."""
    return sense.repeats(record) | {field for field, source, _ in sense.echoes if source not in record}


def shown(sense: Sensitivity, values: dict[str, Any], starred: set[str], unmasked: bool) -> dict[str, Any]:
    """`values` (columns of one record) as the caller may see them; `starred`: `_starred` of the
    whole record."""
    if unmasked:
        return {c: json_value(v) for c, v in values.items()}
    out: dict[str, Any] = {}
    for column, value in values.items():
        if column in starred:
            out[column] = None if value is None else stars(value)
            continue
        visible, masked = masked_by(sense, column, json_value(value))
        if visible:
            out[column] = masked
    return out


def probability(weight: float) -> float:
    return 1.0 / (1.0 + 2.0 ** (-weight)) if weight > -1000 else 0.0


def explain(model: CompiledModel, sense: Sensitivity, query: dict[str, Any], candidate: dict[str, Any],
            scored: dict[str, Any], tf: dict[str, float], unmasked: bool,
            context: dict[str, Any] | None = None) -> dict[str, Any]:
    """The items of one candidate's match weight and their total.

    `scored` is resolver.lookup.scoring.score's answer for `candidate` (a source record's model
    columns); `context`: that record's other fields (from its entity's serving document), so
    that a column repeating a personal value is recognised as such."""
    whole = {**(context or {}), **candidate}
    starred = (set(), set()) if unmasked else (_starred(sense, query), _starred(sense, whole))
    p = 2.0 ** model.prior_weight / (1.0 + 2.0 ** model.prior_weight)
    items: list[dict[str, Any]] = [{"kind": "prior", "label": "two random records match",
                                    "probability": round(p, 8), "match_weight": round(model.prior_weight, DECIMALS)}]
    hidden = set() if unmasked else set(sense.forms)
    withheld = 0.0
    for comp, part, (null_columns, columns) in zip(model.comparisons, scored["comparisons"], level_columns(model),
                                                   strict=True):
        gamma = int(part["gamma"])
        if comp.name in hidden:  # a personal field's comparison: its query value was withheld, so 0
            withheld += float(part["match_weight"])
            continue
        read = null_columns if gamma < 0 else columns[gamma]
        adjustment = float(part["tf_adjustment"])
        level_weight = 0.0 if gamma < 0 else comp.levels[gamma].log2_bf
        items.append({"kind": "comparison", "comparison": comp.name, "level": part["level"],
                      "match_weight": round(level_weight, DECIMALS),
                      "query": shown(sense, {c: query.get(c) for c in read}, starred[0], unmasked),
                      "candidate": shown(sense, {c: candidate.get(c) for c in read}, starred[1], unmasked)})
        if adjustment:
            level = comp.levels[gamma]
            column = str(level.tf_column)
            items.append({"kind": "term_frequency", "comparison": comp.name, "column": column,
                          "term_frequency": tf.get(column), "match_weight": round(adjustment, DECIMALS)})
    if withheld:  # never with the reference rules; kept so that the items still add up
        items.append({"kind": "withheld", "match_weight": round(withheld, DECIMALS)})
    total = round(sum(item["match_weight"] for item in items), DECIMALS)
    return {"items": items, "match_weight": total, "match_probability": probability(total)}
