"""The data steward's review queue of a domain, computed from the master store.

    page = review_queue(store, "enterprise", kind=["pair"], offset=0, limit=20, unmasked=False)

Three kinds of item, each a pair of source records to decide on (resolver.review.decisions):
`pair` (scored between the model version's predict and match thresholds), `split` (scored at
or above the match threshold, yet in two entities: a hard constraint kept them apart) and
`conflict` (an entity whose members disagree on a field that lists its conflicts). Ordered by
priority = records a decision can move x uncertainty (resolver.store.review.queue says how
each is counted). Every record is shown as the entity answers show it, masked unless the caller
holds the domain's pii scope; a pair's per-comparison match weights are the ones the resolution
scored it with, and those of personal fields are left out for a masked caller, as in match.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from functools import partial
from typing import Any

import pandas as pd

from resolver.access.masking import explained, mask_conflicts
from resolver.access.sensitivity import Sensitivity, sensitivity_of
from resolver.domains import load_schema
from resolver.errors import InputError, NotFoundError
from resolver.linking import constraints
from resolver.linking.model import published_model
from resolver.lookup import queries
from resolver.lookup.doc_cache import DocCache
from resolver.lookup.entity import json_value, member_view
from resolver.lookup.scoring import CompiledModel, compile_model, score
from resolver.store import Store, commits
from resolver.store.reads import Reader
from resolver.store.review import KINDS

LIMIT_MAX = 500
_compiled: dict[tuple[str, str, str], CompiledModel] = {}
_compiled_lock = threading.Lock()


def thresholds(store: Store, domain: str) -> tuple[str | None, dict[str, Any]]:
    """(model version, its recorded clustering) that the queue reads the kept pairs with: the
    version that scored them (recorded by resolve), else the newest published one, else the
    rule files' clustering.yaml (version None)."""
    with store.reader() as reader:
        version = reader.pairs_model_version(domain)
    known = store.model_versions(domain)
    if version not in known:
        version = known[-1] if known else None
    if version is None:
        from resolver.rules import DomainRules

        return None, DomainRules.load(domain).clustering
    return version, published_model(store, domain, version).clustering


def _kinds(kind: str | Iterable[str] | None) -> tuple[str, ...]:
    if kind is None:
        return KINDS
    wanted = (kind,) if isinstance(kind, str) else tuple(kind)
    unknown = [k for k in wanted if k not in KINDS]
    if unknown:
        raise InputError(f"kind must be one of {', '.join(KINDS)}, not {', '.join(map(repr, unknown))}")
    return wanted or KINDS


def review_queue(store: Store, domain: str, *, kind: str | Iterable[str] | None = None, offset: int = 0,
                 limit: int = 50, unmasked: bool = False, model: CompiledModel | None = None,
                 cached: bool = False, docs: DocCache | None = None) -> dict[str, Any]:
    """One page of `domain`'s review queue, highest priority first: `total` items of the kinds
    asked (`kind`: pair, split, conflict, or several; all by default), `counts` of every kind,
    the model version and thresholds used, and per item both records side by side (masked
    unless `unmasked`), their entities, and the pair's per-comparison match weights. `model`: a
    compiled model to take level labels from (the server's; else compiled here, once per version).
    `cached`: keep the queue's candidates until a commit changes the domain; only for the process
    that writes the store file alone (a server: every write, a CLI job's too, is its own commit).
    `docs`: the domain's serving documents held in memory (the server's), else read from the store."""
    if offset < 0 or not 1 <= limit <= LIMIT_MAX:
        raise InputError(f"offset must be >= 0 and limit between 1 and {LIMIT_MAX}")
    kinds = _kinds(kind)
    schema = load_schema(domain)
    with store.reader() as reader:
        if not reader.has_resolution(domain):
            raise NotFoundError(f"no {domain} resolution yet: run `resolver resolve` first")
    version, clustering = thresholds(store, domain)
    predict, match = float(clustering["predict_threshold"]), float(clustering["match_probability_threshold"])
    if cached:
        items_all = _candidates(store, domain, predict, match)
    else:
        with store.reader() as reader:
            items_all = reader.review_candidates(domain, predict, match)
    with store.reader() as reader:
        decided = reader.decisions(domain)
        open_items = _undecided(items_all, decided, reader)
        counts = {k: int((open_items["kind"] == k).sum()) for k in KINDS}
        chosen = open_items[open_items["kind"].isin(kinds)]
        rows = chosen.iloc[offset:offset + limit].to_dict("records")
        entity_ids = sorted({r["entity_l"] for r in rows} | {r["entity_r"] for r in rows})
        found = {e: queries.entity_doc(docs if docs is not None else reader, domain, e) for e in entity_ids}
    documents = {e: doc for e, doc in found.items() if doc is not None}
    cannot = decided[decided["decision"] == "different"]
    apart = set(zip(cannot["unique_id_l"], cannot["unique_id_r"], strict=True))
    if model is None or model.version != version:
        model = _compile(store, domain, version)
    sense = sensitivity_of(schema)
    items = [_item(row, documents, _scored(row), sense, domain, unmasked, model, constraints.of(clustering), apart)
             for row in rows]
    return {"domain": domain, "model_version": version, "thresholds": {"predict": predict, "match": match},
            "kinds": list(kinds), "total": len(chosen), "counts": counts,
            "offset": offset, "limit": limit, "masked": not unmasked, "items": items}


# -- the candidates, computed once per state of the store ---------------------------------
# Computing them is a join of the kept pairs with the membership (~0.7 s CPU at 1M records);
# taking the decided ones out and paging is not. With `cached`, they are kept per store file,
# domain and thresholds until a commit changes the domain (resolver.store.commits: a resolve, an
# ingest, a POST /records, a new model version, by any Store of the file in this process), which
# is right only where this process is the file's one writer (the server; another process's
# resolve would go unseen). Decisions are no commit of that kind: they are read on every call.
_lock = threading.Lock()
_versions: dict[str, dict[str, int]] = {}  # file -> domain -> commits that changed it
_kept: dict[tuple[str, str, float, float], tuple[int, pd.DataFrame]] = {}


def _version(path: str, domain: str) -> int:
    name = commits.key(path)
    with _lock:
        if name not in _versions:
            _versions[name] = {}
            commits.listen(name, partial(_on_commit, name))  # one small listener per file, for the process
        return _versions[name].get(domain, 0)


def _on_commit(name: str, changes: list[commits.Change], reader: Reader) -> commits.Apply:
    domains = {c.domain for c in changes}

    def apply() -> None:  # after the COMMIT: a computation that read before it is never taken as newer
        with _lock:
            for domain in domains:
                _versions[name][domain] = _versions[name].get(domain, 0) + 1
    return apply


def _candidates(store: Store, domain: str, predict: float, match: float) -> pd.DataFrame:
    key = (commits.key(store.path), domain, predict, match)
    version = _version(store.path, domain)
    with _lock:
        kept = _kept.get(key)
    if kept is not None and kept[0] == version:
        return kept[1]
    with store.reader() as reader:
        frame = reader.review_candidates(domain, predict, match)
    with _lock:
        _kept[key] = (version, frame)
    return frame


def _undecided(items: pd.DataFrame, decided: pd.DataFrame, reader: Reader) -> pd.DataFrame:
    """`items` without the decided ones: a pair decided (any decision), or two entities with a
    decided pair between them."""
    if decided.empty or items.empty:
        return items
    pairs = set(zip(decided["unique_id_l"], decided["unique_id_r"], strict=True))
    entity = reader.entities_in(sorted(set(decided["unique_id_l"]) | set(decided["unique_id_r"])))
    between = {tuple(sorted((entity[a], entity[b]))) for a, b in pairs if a in entity and b in entity}
    apart = (items["entity_l"] != items["entity_r"]).to_numpy()
    ends = zip(items["entity_l"].where(apart, ""), items["entity_r"].where(apart, ""), strict=True)
    closed_apart = [bool(a) and tuple(sorted((a, b))) in between for a, b in ends]
    closed_pair = [(lft, rgt) in pairs for lft, rgt in zip(items["l"], items["r"], strict=True)]
    keep = ~(pd.Series(closed_apart, index=items.index) | (pd.Series(closed_pair, index=items.index) & ~apart))
    return items[keep]


def _scored(row: dict[str, Any]) -> dict[str, Any] | None:
    """The item's pair as the resolution scored it, or None (a conflict's pair may never have been)."""
    if json_value(row.get("match_weight")) is None:
        return None
    return {"match_probability": row["scored_probability"], "match_weight": row["match_weight"],
            **{k: v for k, v in row.items() if k.startswith("mw_")}}


def _compile(store: Store, domain: str, version: str | None) -> CompiledModel | None:
    if version is None:
        return None
    key = (store.path, domain, version)  # a published version's JSON never changes
    with _compiled_lock:
        found = _compiled.get(key)
    if found is None:
        found = compile_model(published_model(store, domain, version))
        with _compiled_lock:
            _compiled[key] = found
    return found


def _member(docs: dict[str, dict[str, Any]], entity_id: str, unique_id: str) -> dict[str, Any] | None:
    doc = docs.get(entity_id)
    return next((m for m in doc["members"] if m["unique_id"] == unique_id), None) if doc else None


def _item(row: dict[str, Any], docs: dict[str, dict[str, Any]], scored: dict[str, Any] | None, sense: Sensitivity,
          domain: str, unmasked: bool, model: CompiledModel | None, cons: tuple[constraints.Constraint, ...],
          apart: set[tuple[str, str]]) -> dict[str, Any]:
    left, right = _member(docs, row["entity_l"], row["l"]), _member(docs, row["entity_r"], row["r"])
    item: dict[str, Any] = {
        "kind": row["kind"],
        "priority": round(float(row["priority"]), 4),
        "uncertainty": round(float(row["uncertainty"]), 4),
        "records_affected": int(row["records"]),
        "together": row["entity_l"] == row["entity_r"],
        "pairs_between": int(row["n_pairs"]),
        "match_probability": json_value(scored.get("match_probability")) if scored else None,
        "match_weight": json_value(scored.get("match_weight")) if scored else None,
        "left": _side(docs, row["entity_l"], row["l"], left, sense, unmasked),
        "right": _side(docs, row["entity_r"], row["r"], right, sense, unmasked),
        "comparisons": explained(sense, _comparisons(scored, model, left, right), unmasked) if scored else [],
    }
    if row["kind"] == "split":
        item["kept_apart_by"] = _kept_apart_by(docs, row, cons, apart)
    if row["kind"] == "conflict":
        doc = docs.get(row["entity_l"]) or {"conflicts": [], "members": []}
        field = row["field"]
        values = [c for c in doc["conflicts"] if c["field"] == field]
        # the members holding each value (a conflict row names one source and one record ID, not always of one record)
        holders = {str(c["value"]): [m["unique_id"] for m in doc["members"] if str(m.get(field)) == str(c["value"])]
                   for c in values}
        shown = mask_conflicts(sense, [{**c, "holders": holders[str(c["value"])]} for c in values], unmasked,
                               doc["members"])
        item["field"] = field
        item["values"] = [{"value": c["value"], "records": c["holders"]} for c in shown]
    return item


def _side(docs: dict[str, dict[str, Any]], entity_id: str, unique_id: str, member: dict[str, Any] | None,
          sense: Sensitivity, unmasked: bool) -> dict[str, Any]:
    doc = docs.get(entity_id)
    return {"unique_id": unique_id, "entity_id": entity_id, "entity_size": int(doc["size"] or 0) if doc else None,
            "record": member_view(sense, member, unmasked) if member else None}


def _comparisons(scored: dict[str, Any], model: CompiledModel | None, left: dict[str, Any] | None,
                 right: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Each comparison's match weight as the resolution scored the pair (term frequencies
    included), with the level the model's comparison reached when the records can be read."""
    levels: dict[str, str] = {}
    if model is not None and left is not None and right is not None:
        try:
            levels = {c["comparison"]: c["level"] for c in score(model, left, [right], {})[0]["comparisons"]}
        except Exception:  # noqa: BLE001 - a label is a courtesy; the stored weights are the answer
            levels = {}
    out = []
    for column, weight in scored.items():
        if column.startswith("mw_"):
            name = column[3:]
            out.append({"comparison": name, "level": levels.get(name),
                        "match_weight": None if json_value(weight) is None else round(float(weight), 4)})
    return out


def _kept_apart_by(docs: dict[str, dict[str, Any]], row: dict[str, Any], cons: tuple[constraints.Constraint, ...],
                   apart: set[tuple[str, str]]) -> str:
    """What keeps a split's two entities apart: the first hard constraint their members break, a
    `different` decision between them, or an incremental run (which never re-links old entities)."""
    left, right = docs.get(row["entity_l"]), docs.get(row["entity_r"])
    if left and right:
        for con in cons:
            keys_l = {k for m in left["members"] if (k := con.key(m)) is not None}
            keys_r = {k for m in right["members"] if (k := con.key(m)) is not None}
            if keys_l and keys_r and keys_l != keys_r:
                return con.name
        ids_l = {m["unique_id"] for m in left["members"]}
        ids_r = {m["unique_id"] for m in right["members"]}
        if any((a in ids_l and b in ids_r) or (a in ids_r and b in ids_l) for a, b in apart):
            return "decision:different"
    return "incremental"
