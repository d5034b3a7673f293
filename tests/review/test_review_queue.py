"""The review queue on the resolved sample: its items counted independently from the store's
tables, ordered by priority, paged and filtered, masked as entity answers are."""

from __future__ import annotations

import pytest

from resolver.errors import InputError, NotFoundError
from resolver.review import list_decisions, record_decision, review_queue
from resolver.store import open_store

DOMAIN = "enterprise"


@pytest.fixture(scope="module")
def store(module_sample):
    s = open_store(module_sample)
    yield s
    s.close()


def expected_counts(store) -> dict[str, int]:
    """The queue's kinds, counted from pairs_enterprise, membership and conflicts with pandas."""
    pairs = store.pairs(DOMAIN)
    entity = store.membership(DOMAIN).set_index("unique_id")["entity_id"]
    pairs = pairs.assign(el=pairs["unique_id_l"].map(entity), er=pairs["unique_id_r"].map(entity))
    pairs = pairs[pairs["match_probability"] >= 0.5]
    together = pairs[(pairs["el"] == pairs["er"]) & (pairs["match_probability"] < 0.9)]
    apart = pairs[pairs["el"] != pairs["er"]]
    best = apart.assign(a=apart[["el", "er"]].min(axis=1), b=apart[["el", "er"]].max(axis=1)) \
        .groupby(["a", "b"])["match_probability"].max()
    conflicts = store.cursor().execute(
        "SELECT count(*) FROM (SELECT entity_id, field FROM conflicts WHERE domain = ? "
        "GROUP BY ALL HAVING count(DISTINCT value) > 1)", [DOMAIN]).fetchall()[0][0]
    return {"pair": len(together) + int((best < 0.9).sum()), "split": int((best >= 0.9).sum()),
            "conflict": int(conflicts)}


def test_the_queue_holds_every_item_the_store_implies(store):
    page = review_queue(store, DOMAIN, limit=500)
    assert page["counts"] == expected_counts(store)
    assert page["total"] == sum(page["counts"].values()) == len(page["items"])
    assert page["counts"]["split"] > 0 and page["counts"]["conflict"] > 0 and page["counts"]["pair"] > 0
    assert page["thresholds"] == {"predict": 0.5, "match": 0.9}
    assert page["model_version"] == store.latest_model(DOMAIN)[0]


def test_items_come_by_priority_and_say_why(store):
    items = review_queue(store, DOMAIN, limit=500)["items"]
    priorities = [i["priority"] for i in items]
    assert priorities == sorted(priorities, reverse=True)
    for item in items:
        assert item["priority"] == pytest.approx(item["records_affected"] * item["uncertainty"], abs=1e-3)
        left, right = item["left"], item["right"]
        assert left["unique_id"] < right["unique_id"]
        assert left["record"]["unique_id"] == left["unique_id"] and right["record"]["unique_id"] == right["unique_id"]
        if item["kind"] == "pair":
            assert 0.5 <= item["match_probability"] < 0.9
            assert item["uncertainty"] == pytest.approx(1 - abs(2 * item["match_probability"] - 1), abs=1e-3)
        if item["kind"] == "split":
            assert item["match_probability"] >= 0.9 and not item["together"]
            assert item["kept_apart_by"].startswith("different_valid:")  # no decision yet: a constraint
        if item["kind"] == "conflict":
            assert item["together"] and len(item["values"]) >= 2
            holders = {uid for v in item["values"] for uid in v["records"]}
            assert {left["unique_id"], right["unique_id"]} <= holders  # the pair holds two of the values
        if item["match_probability"] is not None:
            assert item["comparisons"] and all(c["level"] for c in item["comparisons"])


def test_per_comparison_weights_add_up_to_the_pairs_weight(store):
    """match weight = prior + the comparisons' weights (as resolve scored them), for every pair."""
    items = [i for i in review_queue(store, DOMAIN, limit=500, unmasked=True)["items"] if i["match_weight"] is not None]
    priors = {round(i["match_weight"] - sum(c["match_weight"] for c in i["comparisons"]), 2) for i in items}
    assert len(items) > 5 and len(priors) == 1 and next(iter(priors)) < -5


def test_pages_and_kinds_are_slices_of_one_order(store):
    whole = review_queue(store, DOMAIN, limit=500)
    ids = [(i["kind"], i["left"]["unique_id"], i["right"]["unique_id"], i.get("field")) for i in whole["items"]]
    paged = []
    for offset in range(0, whole["total"], 4):
        page = review_queue(store, DOMAIN, offset=offset, limit=4)
        assert page["total"] == whole["total"] and page["offset"] == offset
        paged += [(i["kind"], i["left"]["unique_id"], i["right"]["unique_id"], i.get("field")) for i in page["items"]]
    assert paged == ids
    splits = review_queue(store, DOMAIN, kind="split", limit=500)
    assert splits["total"] == whole["counts"]["split"] == len(splits["items"])
    assert [i for i in ids if i[0] == "split"] == [
        (i["kind"], i["left"]["unique_id"], i["right"]["unique_id"], i.get("field")) for i in splits["items"]]
    with pytest.raises(InputError):
        review_queue(store, DOMAIN, kind="cluster")
    with pytest.raises(InputError):
        review_queue(store, DOMAIN, limit=0)


def test_records_and_weights_are_masked_without_the_pii_scope(store):
    masked = review_queue(store, DOMAIN, limit=500)["items"]
    full = review_queue(store, DOMAIN, limit=500, unmasked=True)["items"]
    shown_ids = [(m, f) for m, f in zip(masked, full, strict=True)
                 if f["left"]["record"]["fields"].get("legal_rep_id")]
    assert shown_ids
    for m, f in shown_ids:
        hidden, plain = m["left"]["record"]["fields"]["legal_rep_id"], f["left"]["record"]["fields"]["legal_rep_id"]
        assert "*" not in plain and hidden == plain[:6] + "*" * (len(plain) - 6)
        assert plain not in repr(m)  # not in the raw row, the conflicts or anywhere else
    assert any(c["comparison"] == "phone" for i in full for c in i["comparisons"])
    assert not any(c["comparison"] == "phone" for i in masked for c in i["comparisons"])


def test_a_decision_is_stored_with_who_and_takes_its_item_out(store):
    before = review_queue(store, DOMAIN, kind="conflict", limit=1)
    item = before["items"][0]
    stored = record_decision(store, DOMAIN, item["right"]["unique_id"], item["left"]["unique_id"], "unsure",
                             note="一人两名?", kind="conflict", key_id="0123456789abcdef", department="市场监管")
    assert (stored["unique_id_l"], stored["unique_id_r"]) == (item["left"]["unique_id"], item["right"]["unique_id"])
    assert (stored["key_id"], stored["department"], stored["decision"]) == ("0123456789abcdef", "市场监管", "unsure")
    assert stored["decided_at"] and stored["match_probability"] == pytest.approx(item["match_probability"])
    assert list_decisions(store, DOMAIN)[-1]["decision_id"] == stored["decision_id"]
    after = review_queue(store, DOMAIN, kind="conflict", limit=500)
    assert after["total"] == before["total"] - 1
    assert (item["left"]["unique_id"], item["right"]["unique_id"]) not in {
        (i["left"]["unique_id"], i["right"]["unique_id"]) for i in after["items"]}


def test_bad_decisions_are_refused_with_the_reason(store):
    uid = store.membership(DOMAIN)["unique_id"].iloc[0]
    other = store.membership(DOMAIN)["unique_id"].iloc[1]
    count = len(list_decisions(store, DOMAIN, every=True))
    with pytest.raises(InputError, match="decision must be one of"):
        record_decision(store, DOMAIN, uid, other, "maybe")
    with pytest.raises(InputError, match="same source record"):
        record_decision(store, DOMAIN, uid, uid, "same")
    with pytest.raises(InputError, match="note is longer"):
        record_decision(store, DOMAIN, uid, other, "same", note="x" * 2001)
    with pytest.raises(NotFoundError, match="right: no such enterprise source record"):
        record_decision(store, DOMAIN, uid, "tax:NOPE", "same")
    assert len(list_decisions(store, DOMAIN, every=True)) == count  # a refusal stores nothing


def test_the_cached_queue_follows_every_commit_and_every_decision(sample_copy):
    """cached=True (the server's) answers as the uncached queue does after a decision (no commit)
    and after a resolution saved by any Store of the file in this process (a commit)."""
    store, other = open_store(sample_copy), open_store(sample_copy)
    try:
        def both(**kw):
            fresh, kept = review_queue(store, DOMAIN, limit=500, **kw), review_queue(store, DOMAIN, limit=500,
                                                                                    cached=True, **kw)
            assert kept == fresh
            return kept

        first = both()
        split = next(i for i in first["items"] if i["kind"] == "split")
        record_decision(store, DOMAIN, first["items"][0]["left"]["unique_id"], first["items"][0]["right"]["unique_id"],
                        "unsure")
        assert both()["total"] == first["total"] - 1
        # another Store of the file saves a resolution that joins the split's two entities
        members = other.membership(DOMAIN).rename(columns={"entity_id": "cluster_id"})
        join = members["cluster_id"] == split["right"]["entity_id"]
        members.loc[join, "cluster_id"] = split["left"]["entity_id"]
        other.save_resolution(DOMAIN, members, None, other.latest_model(DOMAIN)[0])
        after = both()
        assert after["counts"]["split"] == first["counts"]["split"] - 1
    finally:
        store.close()
        other.close()
