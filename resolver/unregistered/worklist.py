"""The inspector's worklist over a computed list (case_facts.case_frame): case state laid on top,
filters, sort, and precision@k from recorded outcomes. Pure functions of frames and cases;
resolver.lookup.unregistered reads the store, the cache and the case store for them.

Case state per row (`case_*` columns): no recorded case reads 待核查. A case closed as 误报 or
确认未经营 is suppressed (left out unless its status is asked for) while the facts it was
decided on hold; when they change (a new evidence record, a changed record, another nearest
tax record: a different fingerprint) it is back as 待核查 with `case_reopened` and the
outcome it had in `case_recorded_status`. A case marked 已办理税务登记 stays listed, marked
(`case_awaiting_tax_record`), until its tax record arrives and links, which takes it off.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import pandas as pd

from resolver.errors import InputError
from resolver.unregistered.cases import CLOSED, FALSE_ALARM, OPEN, REGISTERED, STATUSES
from resolver.unregistered.detect import _date, check_lists
from resolver.unregistered.districts import District, resolve_district
from resolver.unregistered.offices import street_key

SORTS = {"score": False, "age": False, "district": True}  # sort key -> ascending by default
CASE_STATE = ("case_status", "case_reopened", "case_recorded_status", "case_assignee", "case_note", "case_reason",
              "case_updated_at", "case_updated_by", "case_awaiting_tax_record")
DEFAULT_KS = (10, 20, 50, 100)


@dataclass(frozen=True)
class Filters:
    """What the inspector asks for; None (or empty) means no filter.

    `status`: case statuses to show (default: every status except the suppressed outcomes);
    `age_*`: days since the first sign of operation; `q`: part of the name, the start of the
    USCC, or a master ID; `district`: a name, short name, old name or code (districts.py)."""

    lists: tuple[str, ...] = ("suspect",)
    district: str | None = None
    street: str | None = None
    tax_office: str | None = None
    industry: str | None = None
    since: str | None = None
    score_min: float | None = None
    score_max: float | None = None
    age_min: int | None = None
    age_max: int | None = None
    status: tuple[str, ...] = ()
    assignee: str | None = None
    q: str | None = None
    as_of: str | None = None

    def check(self) -> None:
        """Raise InputError for a filter that cannot mean anything (before any work)."""
        check_lists(self.lists)
        _date(self.since, "since")
        _date(self.as_of, "as_of")
        unknown = [s for s in self.status if s not in STATUSES]
        if unknown:
            raise InputError(f"status: {', '.join(unknown)} not known (known: {', '.join(STATUSES)})")
        for low, high, name in ((self.score_min, self.score_max, "score"), (self.age_min, self.age_max, "age")):
            if low is not None and high is not None and low > high:
                raise InputError(f"{name}_min ({low}) is above {name}_max ({high})")

    def asked(self) -> dict[str, Any]:
        """The filters given, for the answer and the audit row."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) not in (None, ())}


def with_cases(frame: pd.DataFrame, cases: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """`frame` with the case state columns (CASE_STATE) of each row."""
    ids = frame["entity_id"].tolist()
    columns = [[value] * len(ids) for value in _state(None, "")]
    if cases:
        fingerprints = frame["fingerprint"].tolist()
        for i, entity_id in enumerate(ids):  # few rows have a case: fill only those
            case = cases.get(str(entity_id))
            if case is not None:
                for column, value in zip(columns, _state(case, str(fingerprints[i])), strict=True):
                    column[i] = value
    state = pd.DataFrame(dict(zip(CASE_STATE, columns, strict=True)), index=frame.index)
    return pd.concat([frame.drop(columns=[c for c in CASE_STATE if c in frame.columns]), state], axis=1)


def _state(case: dict[str, Any] | None, fingerprint: str) -> tuple[Any, ...]:
    if case is None:
        return (OPEN, False, None, None, None, None, None, None, False)
    status = case["status"]
    reopened = status in CLOSED and case["fingerprint"] != fingerprint
    shown = OPEN if reopened else status
    return (shown, reopened, status, case["assignee"], case["note"], case["reason"], case["updated_at"],
            case["department"], shown == REGISTERED)


def select_rows(frame: pd.DataFrame, filters: Filters) -> tuple[pd.DataFrame, District | None, int]:
    """(rows of `frame` (with case state) passing `filters`, the district understood, how many
    rows were left out only because their case is closed)."""
    filters.check()
    keep = frame["list"].isin(list(filters.lists))
    district = None
    if filters.district:
        district = resolve_district(filters.district, frame["district"].dropna().unique())
        keep &= (frame["district_code"] == district.code) if district.code else (frame["district"] == district.name)
    if filters.street:
        keep &= frame["street"].fillna("").map(street_key) == street_key(filters.street)
    if filters.tax_office:
        keep &= frame["tax_office"] == filters.tax_office.strip()
    if filters.industry:
        keep &= frame["industry_code"].fillna("").str.startswith(filters.industry)
    if filters.since:
        keep &= frame["established"].fillna("") >= str(_date(filters.since, "since"))
    if filters.score_min is not None:
        keep &= frame["score"] >= filters.score_min
    if filters.score_max is not None:
        keep &= frame["score"] <= filters.score_max
    if filters.age_min is not None:
        keep &= frame["age_days"].fillna(-1) >= filters.age_min
    if filters.age_max is not None:
        keep &= frame["age_days"].notna() & (frame["age_days"].fillna(0) <= filters.age_max)
    if filters.assignee:
        keep &= frame["case_assignee"] == filters.assignee.strip()
    if filters.q:
        keep &= _search(frame, filters.q)
    keep = keep.astype(bool)
    if filters.status:
        by_status = frame["case_status"].isin(list(filters.status))
        suppressed = 0
    else:
        by_status = ~frame["case_status"].isin(list(CLOSED))
        suppressed = int((keep & ~by_status).sum())
    return frame[keep & by_status].reset_index(drop=True), district, suppressed


def _search(frame: pd.DataFrame, text: str) -> pd.Series:
    q = text.strip()
    if not q:
        return pd.Series(True, index=frame.index)
    return (frame["name"].fillna("").str.contains(q, regex=False, case=False)
            | frame["uscc"].fillna("").str.upper().str.startswith(q.upper())
            | (frame["entity_id"] == q.upper()))


def check_sort(sort: str, order: str | None) -> None:
    if sort not in SORTS:
        raise InputError(f"sort: '{sort}' is not one of {', '.join(SORTS)}")
    if order not in (None, "asc", "desc"):
        raise InputError(f"order: '{order}' is not asc or desc")


def sort_rows(frame: pd.DataFrame, sort: str = "score", order: str | None = None) -> pd.DataFrame:
    """Rows by `sort` (score, age, district; ties by score, then master ID); `order` asc or desc
    (default: score and age descending, district ascending)."""
    check_sort(sort, order)
    ascending = SORTS[sort] if order is None else order == "asc"
    column = {"score": "score", "age": "age_days", "district": "district_code"}[sort]
    keys = [column] if sort == "score" else [column, "score"]
    asc = [ascending] if sort == "score" else [ascending, False]
    return frame.sort_values([*keys, "entity_id"], ascending=[*asc, True], na_position="last",
                             kind="stable").reset_index(drop=True)


def precision_at_k(frame: pd.DataFrame, cases: dict[str, dict[str, Any]], ks: tuple[int, ...] = DEFAULT_KS,
                   lists: tuple[str, ...] = ("suspect",)) -> dict[str, Any]:
    """How often the top of the list was right, from recorded outcomes.

    The ranking: the rows of `lists` in `frame` (with case state) and the decided cases no longer
    listed (a business that registered leaves the list) at the score recorded with their outcome,
    by score. For each k, among the top k: `real` (已办理税务登记), `false` (误报), `precision` =
    real / (real + false), None while none is decided. 确认未经营 (the business exists but does not
    operate) and reopened cases count as undecided."""
    rows = frame[frame["list"].isin(list(lists))]
    ranked = [(float(s), str(e), str(st)) for s, e, st in zip(rows["score"], rows["entity_id"], rows["case_status"],
                                                               strict=True)]
    listed = set(rows["entity_id"].astype(str)) | set(frame["entity_id"].astype(str))
    for entity_id, case in cases.items():
        if entity_id not in listed and case["status"] in (REGISTERED, FALSE_ALARM):
            score = case.get("score")
            ranked.append((float(score) if score is not None and not math.isnan(score) else 0.0, entity_id,
                           case["status"]))
    ranked.sort(key=lambda r: (-r[0], r[1]))
    out = []
    for k in ks:
        top = [st for _, _, st in ranked[:k]]
        real, false = top.count(REGISTERED), top.count(FALSE_ALARM)
        out.append({"k": k, "ranked": len(top), "decided": real + false, "real": real, "false": false,
                    "precision": round(real / (real + false), 4) if real + false else None})
    counts = {s: 0 for s in STATUSES}
    for _, _, st in ranked:
        counts[st] = counts.get(st, 0) + 1
    return {"precision_at_k": out, "status_counts": counts, "ranked": len(ranked)}
