"""The disagreement count on a table built here, with more departments than one query's 64 pairs
(13 sources: 78 pairs), checked against the definition counted in plain Python."""

from __future__ import annotations

import itertools
import random

import duckdb

from resolver.store.inventory import disagreements


def test_disagreements_over_many_departments_match_the_definition():
    rng = random.Random(5)
    sources = [f"dept{i:02d}" for i in range(13)]
    rows, members = [], []
    for e in range(300):
        for source in rng.sample(sources, rng.randint(1, 6)):
            for n in range(rng.randint(1, 2)):  # a department may hold two records of one entity
                uid = f"{source}:{e}-{n}"
                value = rng.choice(["a", "b", "c", None])
                rows.append((uid, source, value, rng.choice(["x", "y"])))
                members.append((uid, f"E{e}"))
    con = duckdb.connect()
    con.execute("CREATE TABLE records_t (unique_id VARCHAR, source VARCHAR, colour VARCHAR, size VARCHAR)")
    con.executemany("INSERT INTO records_t VALUES (?, ?, ?, ?)", rows)
    con.execute("CREATE TABLE membership (unique_id VARCHAR, domain VARCHAR, entity_id VARCHAR)")
    con.executemany("INSERT INTO membership VALUES (?, 't', ?)", members)
    got = disagreements(con, "t", "records_t", {"colour": ["colour"], "size": ["size"]})
    entity = dict(members)
    given: dict[tuple[str, str, str], set[str]] = {}
    for uid, source, colour, size in rows:
        for field, value in (("colour", colour), ("size", size)):
            if value is not None:
                given.setdefault((entity[uid], source, field), set()).add(value)
    expected = {}
    for a, b in itertools.combinations(sources, 2):
        for field in ("colour", "size"):
            both = [e for e in {k[0] for k in given} if (e, a, field) in given and (e, b, field) in given]
            if both:
                expected[(a, b, field)] = (len(both), sum(not given[(e, a, field)] & given[(e, b, field)] for e in both))
    assert {(r.source, r.other, r.field): (r.compared, r.disagree) for r in got.itertuples()} == expected
    assert len({(a, b) for a, b, _ in expected}) > 64
