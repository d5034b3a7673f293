"""A data steward's decisions on pairs of source records, and what the engine makes of them.

A decision names two source records by unique_id (`source:source_record_id`), never master
IDs: master IDs change at the next resolve, source records do not. Decisions live in the
master store (`review_decisions`, resolver.store.review), so they travel with it and every
verb that opens it (resolve, train, evaluate) reads them. The latest decision on a pair counts:

- `same`: a must-link; the next `resolve` joins the two records before any scored pair (a hard
  constraint of the schema, or a `different` decision, still refuses it; resolve says so);
- `different`: a cannot-link; no entity of the next `resolve` holds both, not even through a
  chain of other records;
- `unsure`: nothing changes; the item leaves the review queue.

`train --decisions` adds the `same` decisions as labelled matches and `evaluate` without
`--truth` scores the resolution against the `same` and `different` ones.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from resolver.errors import InputError, NotFoundError
from resolver.lookup.entity import json_value
from resolver.store import Store
from resolver.store.review import DECISIONS, KINDS
from resolver.store.store import records_table

NOTE_MAX = 2000


def _pair(left: str, right: str) -> tuple[str, str]:
    return (left, right) if left <= right else (right, left)


def record_decision(store: Store, domain: str, left: str, right: str, decision: str, *,
                    note: str | None = None, kind: str | None = None, key_id: str | None = None,
                    department: str | None = None) -> dict[str, Any]:
    """Record `decision` (same | different | unsure) on the source records `left` and `right`
    (unique_ids of `domain`), by `key_id` of `department`, with an optional `note` and the kind
    of review item it answers. Returns the stored decision. InputError for an unknown decision
    or kind, a record paired with itself or a note too long; NotFoundError for a record not in
    the domain (the message says which side, never the ID: it may carry a personal number)."""
    problems = []
    if decision not in DECISIONS:
        problems.append(f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
    if kind is not None and kind not in KINDS:
        problems.append(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if left == right:
        problems.append("left and right are the same source record")
    if note is not None and len(note) > NOTE_MAX:
        problems.append(f"note is longer than {NOTE_MAX} characters")
    if problems:
        raise InputError("; ".join(problems))
    table = records_table(domain)
    with store.reader() as reader:
        missing = [side for side, uid in (("left", left), ("right", right))
                   if not reader.records_where(table, "unique_id", uid, 1)]
        if missing:
            raise NotFoundError(f"{' and '.join(missing)}: no such {domain} source record")
        pair = _pair(left, right)
        scored = reader.scored_pairs(domain, [pair]).get(pair, {})
    row = store.record_decision(domain, {
        "unique_id_l": pair[0], "unique_id_r": pair[1], "decision": decision, "note": note or None, "kind": kind,
        "key_id": key_id, "department": department, "model_version": scored.get("model_version"),
        "match_probability": json_value(scored.get("match_probability"))})
    return {k: json_value(v) for k, v in row.items()}


def list_decisions(store: Store, domain: str, *, every: bool = False) -> list[dict[str, Any]]:
    """The decision that counts on each decided pair of `domain` (or every decision ever made,
    `every`), oldest first, as JSON-ready dicts."""
    frame = store.decisions(domain, every=every)
    return [{k: json_value(v) for k, v in row.items()} for row in frame.to_dict("records")]


def decision_links(store: Store | None, domain: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(must-links, cannot-links) from the decisions that count: unique_id_l, unique_id_r each."""
    empty = pd.DataFrame(columns=["unique_id_l", "unique_id_r"], dtype="object")
    if store is None:
        return empty, empty
    frame = store.decisions(domain)
    pick = ["unique_id_l", "unique_id_r"]
    return (frame.loc[frame["decision"] == "same", pick].reset_index(drop=True),
            frame.loc[frame["decision"] == "different", pick].reset_index(drop=True))


def decision_labels(store: Store, domain: str) -> pd.DataFrame:
    """The decisions that count as labelled pairs (unique_id_l, unique_id_r, is_match): same is a
    match, different is not; unsure is left out."""
    frame = store.decisions(domain)
    frame = frame[frame["decision"].isin(["same", "different"])]
    return pd.DataFrame({"unique_id_l": frame["unique_id_l"].astype(str).to_numpy(),
                         "unique_id_r": frame["unique_id_r"].astype(str).to_numpy(),
                         "is_match": (frame["decision"] == "same").to_numpy()})


def decision_lines(report: dict[str, Any] | None) -> list[str]:
    """What a resolution did with the decisions (the clustering report's `decisions`), for a person."""
    if not report or not (report["must_link"] or report["cannot_link"] or report["not_in_records"]):
        return []
    refused = report["must_link_refused"]
    lines = [f"  decisions:  {report['must_link']} same (must-link), {report['cannot_link']} different "
             f"(cannot-link) honoured" + (f"; {report['not_in_records']} name records no longer held"
                                         if report["not_in_records"] else "")]
    lines += [f"  note: the decision same on {r['unique_id_l']} and {r['unique_id_r']} was refused: "
              f"{r['constraint']}" for r in refused[:10]]
    if len(refused) > 10:
        lines.append(f"  note: {len(refused) - 10} more same decisions refused by a constraint")
    return lines
