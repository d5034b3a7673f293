"""The 漏管户 worklist as callers use it (API, CLI, the /ui/ pages): pages of filtered cases,
case updates, one case with its history, precision@k. Plain functions over a store.

The list itself comes from an UnregisteredCache (computed once per state of the store);
filters, sort and case state are applied on top per call, so recording an outcome never
computes the list again. Personal fields are masked as in every answer unless `scopes` holds
the list domain's pii scope.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd

from resolver.access.masking import mask_fields, pii_scope
from resolver.access.sensitivity import rules
from resolver.errors import NotFoundError
from resolver.lookup.entity import json_value
from resolver.lookup.unregistered import UnregisteredCache, list_domain
from resolver.paths import display_path
from resolver.unregistered.cases import Change
from resolver.unregistered.contents import WORKLIST_ORDER, Report
from resolver.unregistered.detect import as_of_date, unregistered_evidence
from resolver.unregistered.worklist import (
    DEFAULT_KS,
    Filters,
    precision_at_k,
    select_rows,
    sort_rows,
    with_cases,
)

__all__ = ["Change", "Filters", "case_detail", "update_case", "worklist", "worklist_report", "worklist_rows",
           "worklist_stats"]


@contextmanager
def _cache(store: Any, cache: UnregisteredCache | None) -> Iterator[UnregisteredCache]:
    if cache is not None:
        yield cache
        return
    own = UnregisteredCache(store.path, size=1)
    try:
        yield own
    finally:
        own.close()


def _json(value: Any) -> Any:
    if value is pd.NA or value is pd.NaT:
        return None
    return json_value(value)


def _unmasked(scopes: Collection[str]) -> bool:
    return pii_scope(list_domain()) in scopes


def _masked(frame: pd.DataFrame, unmasked: bool) -> list[dict[str, Any]]:
    """The rows as JSON values (a missing value is None, never a masked "***"), masked."""
    sense = rules(list_domain())
    keys = [str(k) for k in frame.columns]
    # column lists, not to_dict("records"): ~10x faster on pandas' extension dtypes
    values = [frame[k].tolist() for k in frame.columns]
    return [mask_fields(sense, {k: _json(v) for k, v in zip(keys, row, strict=True)}, unmasked)
            for row in zip(*values, strict=True)]


def worklist_rows(store: Any, filters: Filters | None = None, sort: str = "score", order: str | None = None,
                  *, cache: UnregisteredCache | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """(every row passing `filters`, sorted, with case state, unmasked; what the answer says about
    them: total, suppressed, the district understood, as_of, model_version)."""
    filters = filters or Filters()
    filters.check()
    with _cache(store, cache) as c:
        frame = with_cases(c.frame(store, filters.as_of), c.cases.all())
    rows, district, suppressed = select_rows(frame, filters)
    rows = sort_rows(rows, sort, order)
    about: dict[str, Any] = {"total": len(rows), "suppressed": suppressed, "as_of": as_of_date(filters.as_of),
                             "filters": filters.asked()}
    if district is not None:
        about["district"] = {"asked": district.asked, "name": district.name, "code": district.code,
                             "note": district.note}
    versions = frame["model_version"].dropna().unique()
    about["model_version"] = str(versions[0]) if len(versions) else None
    return rows, about


def worklist(store: Any, filters: Filters | None = None, sort: str = "score", offset: int = 0, limit: int = 50,
             scopes: Collection[str] = (), *, order: str | None = None,
             cache: UnregisteredCache | None = None) -> dict[str, Any]:
    """One page of the worklist: {total, offset, limit, items, suppressed, as_of, filters,
    district (when filtered by one), model_version}; items masked unless `scopes` allow."""
    rows, about = worklist_rows(store, filters, sort, order, cache=cache)
    page = rows.iloc[offset:offset + limit]
    return {"total": about.pop("total"), "offset": offset, "limit": limit,
            "items": _masked(page, _unmasked(scopes)), **about}


def update_case(store: Any, entity_id: str, change: Change, *, key_id: str | None, department: str | None,
                as_of: str | None = None, cache: UnregisteredCache | None = None) -> dict[str, Any]:
    """Record `change` on the case of `entity_id`, by the caller `key_id` of `department`; the
    case's new state. The entity must be on one of the lists as of `as_of` (default today) or
    already have a case (an outcome recorded after it left the list)."""
    change.check()
    with _cache(store, cache) as c:
        frame = c.frame(store, as_of)
        row = frame[frame["entity_id"] == entity_id]
        cases = c.cases
        if row.empty and cases.get(entity_id) is None:
            raise NotFoundError(f"{entity_id}: not on the 漏管户 list as of {as_of_date(as_of)} and no case recorded")
        fingerprint = None if row.empty else str(row["fingerprint"].iloc[0])
        score = None if row.empty else float(row["score"].iloc[0])
        case = cases.record(entity_id, change, fingerprint=fingerprint, score=score, key_id=key_id,
                            department=department)
    return {"case": {k: _json(v) for k, v in case.items()}, "listed": not row.empty}


def case_detail(store: Any, entity_id: str, scopes: Collection[str] = (), *, as_of: str | None = None,
                cache: UnregisteredCache | None = None) -> dict[str, Any]:
    """One case: its row on the list (None when not listed, e.g. after its tax record linked),
    its recorded state and every update. NotFoundError when neither exists."""
    with _cache(store, cache) as c:
        cases = c.cases
        case = cases.get(entity_id)
        frame = c.frame(store, as_of)
        row = frame[frame["entity_id"] == entity_id]
        history = cases.history(entity_id)
    if row.empty and case is None:
        raise NotFoundError(f"{entity_id}: not on the 漏管户 list as of {as_of_date(as_of)} and no case recorded")
    listed = None
    if not row.empty:
        listed = _masked(with_cases(row, {entity_id: case} if case else {}), _unmasked(scopes))[0]
    return {"entity_id": entity_id, "listed": listed, "case": case, "history": history}


def worklist_stats(store: Any, ks: tuple[int, ...] = DEFAULT_KS, lists: tuple[str, ...] = ("suspect",),
                   as_of: str | None = None, *, cache: UnregisteredCache | None = None) -> dict[str, Any]:
    """precision@k from recorded outcomes and the number of cases per status (worklist.precision_at_k)."""
    with _cache(store, cache) as c:
        cases = c.cases.all()
        frame = with_cases(c.frame(store, as_of), cases)
    return {"as_of": as_of_date(as_of), "lists": list(lists), **precision_at_k(frame, cases, ks, lists)}


def worklist_report(store: Any, filters: Filters | None = None, sort: str = "score", order: str | None = None,
                    scopes: Collection[str] = (), *, cache: UnregisteredCache | None = None) -> Report:
    """Every row passing `filters` (not one page) and their evidence records, masked unless
    `scopes` allow, as a Report for resolver.unregistered.report (CSV, XLSX, HTML)."""
    filters = filters or Filters()
    rows, about = worklist_rows(store, filters, sort, order, cache=cache)
    unmasked = _unmasked(scopes)
    with _cache(store, cache) as c:
        _, rules, departments, _ = c.rules()
    evidence = unregistered_evidence(store, rows["entity_id"].astype(str).tolist(), rules, departments)
    evidence = pd.DataFrame(_masked(evidence, unmasked), columns=evidence.columns)
    masked = pd.DataFrame(_masked(rows, unmasked), columns=rows.columns)
    order_ = [c for c in WORKLIST_ORDER if c in masked.columns]
    masked = masked[order_ + [c for c in masked.columns if c not in order_]]
    notes = {k: "、".join(map(str, v)) if isinstance(v, tuple) else str(v) for k, v in about["filters"].items()}
    if "district" in about:
        d = about["district"]
        notes["district"] = d["name"] + (f"（{d['note']}）" if d["note"] else "")
    notes["sort"] = f"{sort} {order or ''}".strip()
    return Report(rows=masked, evidence=evidence, model_version=str(about["model_version"]), as_of=about["as_of"],
                  rules_path=display_path(rules.path), lists=tuple(filters.lists),
                  counts={k: int((rows["list"] == k).sum()) for k in filters.lists},
                  source_labels=dict(departments.labels), notes=notes)
