"""Comparison levels in Python (resolver.lookup.levels) decide exactly as DuckDB does on the
rule files' own SQL, over every pair of generated records of both domains."""

from __future__ import annotations

import itertools
import logging

import duckdb
import pyarrow as pa
import pytest
from lookup_data import raw_enterprises, raw_people, standardized
from splink import DuckDBAPI, Linker

from resolver.linking.compile import build_settings
from resolver.linking.rules import load_rules
from resolver.lookup.levels import Unsupported, compile_condition
from resolver.store.store import column_type

_ARROW = {"VARCHAR": pa.string(), "BOOLEAN": pa.bool_(), "DOUBLE": pa.float64(), "BIGINT": pa.int64(),
          "VARCHAR[]": pa.list_(pa.string())}


def conditions(domain: str) -> list[str]:
    """Every level's SQL condition (NULL levels included), as Splink writes them for DuckDB."""
    logging.getLogger("splink").setLevel(logging.ERROR)
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT 'x' AS unique_id")
    settings = Linker(DuckDBAPI(connection=con).register("t"), build_settings(load_rules(domain)))._settings_obj
    return [lv.sql_condition for c in settings.comparisons for lv in c.comparison_levels
            if lv.sql_condition.strip().upper() != "ELSE"]


def _variant(row: dict, i: int) -> dict:
    """A near copy that lands in the in-between levels: a transposed or mistyped identifier,
    a changed character in names, a missing value, a birth date known only from the ID."""
    out = dict(row)
    for col in ("uscc", "id_number", "legal_rep_id"):
        v = out.get(col)
        if isinstance(v, str) and len(v) > 3:
            out[col] = v[:2] + v[3] + v[2] + v[4:] if i % 2 else v[:-1] + ("0" if v[-1] != "0" else "1")
    for col in ("name", "name_core", "legal_rep"):
        v = out.get(col)
        if isinstance(v, str) and v and i % 3:
            out[col] = v[:-1] + "华"
    if i % 4 == 0:
        out["road"] = out["phone"] = out["birth_date"] = None
    if i % 5 == 0:
        out["name_tokens"] = (out.get("name_tokens") or [])[:1]
        out["name_region"] = "宁波"
    if i % 2 and not out.get("district_code"):  # people here have no address: give some one
        out.update(district_code="330106", road="文三路", house_number=str(i % 3))
    if i % 6 == 3:
        out["uscc"] = None  # old records: an org code but no USCC
    if i % 6 == 0:
        for col in ("uscc", "org_code", "name", "name_core", "trade_name", "legal_rep", "district_code",
                    "id_number", "birth_date", "id_birth_date"):
            out[col] = None
    return out


def pairs(domain: str) -> tuple[list[dict], list[dict]]:
    raw = raw_enterprises(40) if domain == "enterprise" else raw_people(40)
    rows = standardized(raw, domain).head(70).to_dict("records")
    rows = [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()} for r in rows]
    rows += [_variant(r, i) for i, r in enumerate(rows)]
    # two shops of one owner: same core name, a district in each name (individual businesses)
    rows += [dict(r, entity_kind="individual_business", name_region=region)
             for region in ("余杭区", "富阳区") for r in rows[:2]]
    # an address cut to the street, and one whose district the 2021 reform split (江干 → 钱塘)
    rows += [dict(r, district_code=code, road="文三路", house_number="1") for code in (None, "330114")
             for r in rows[:2]]
    left, right = zip(*itertools.product(rows, rows), strict=True)
    return list(left), list(right)


@pytest.mark.parametrize("domain", ["enterprise", "person"])
def test_every_level_decides_as_duckdb(domain):
    sqls = conditions(domain)
    left, right = pairs(domain)
    columns = sorted({c for r in left[:1] for c in r if c not in ("raw", "record_hash")})
    table = pa.table({f"{c}_{side}": pa.array([r.get(c) for r in rows], _ARROW[column_type(c)])
                      for c in columns for side, rows in (("l", left), ("r", right))})
    con = duckdb.connect()
    con.register("pairs", table)
    undecided = []
    for sql in sqls:
        want = [bool(v) for (v,) in con.execute(f"SELECT coalesce(({sql}), false) FROM pairs").fetchall()]
        cond = compile_condition(sql)
        got = [cond(lr, rr) is True for lr, rr in zip(left, right, strict=True)]
        assert got == want, sql
        if not 0 < sum(want) < len(want):
            undecided.append((sql, sum(want)))
    assert undecided == []  # the pairs take every level both ways


def test_unknown_sql_is_refused_not_guessed():
    with pytest.raises(Unsupported):
        compile_condition("regexp_matches(name_l, name_r)")
    with pytest.raises(Unsupported):
        compile_condition("name = 'x'")  # neither a left nor a right value
