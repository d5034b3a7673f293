"""The set-based reads of the bulk incremental path (resolver.incremental_bulk), inside the
ingest's own transaction: a file's neighbourhood is gathered once (resolver.store.neighbourhood,
temp table `RECORDS`), and its candidate pairs, their comparison levels and term frequencies
come from SQL joins over it, not from a pandas frame of every neighbour and a Python loop per
record (at 1M records that frame and loop took ~40 % of a 100k-record file's linking).

What is found is what resolver.lookup.pairs.neighbourhood_pairs finds: each blocking key's raw
value (resolver.engines.inputs.key_expression) nulled where its block in the neighbourhood is
over the key's cap, pairs sharing a value with at least one touched record, each under the
first rule that finds it, term frequencies counted over the neighbourhood.
"""

from __future__ import annotations

from typing import Any

import duckdb
import numpy as np
import pandas as pd

from resolver.store.neighbourhood import BEFORE, RECORDS, gather

KEYS = "bulk_keys"
PAIRS = "bulk_pairs"


class BulkNeighbourhood:
    """The neighbourhood of one transaction's touched records, in temp tables of its connection."""

    def __init__(self, con: duckdb.DuckDBPyConnection, table: str):
        self.con = con
        self.table = table

    def gather(self, touched: list[str], keys: list[Any]) -> int:
        """Find the neighbourhood (touched records, records sharing a bounded blocking key with
        one, their entities' members) into `RECORDS`; returns how many records it holds."""
        gather(self.con, self.table, touched, keys, None)
        self.con.register("bulk_touched", pd.DataFrame({"unique_id": touched}, dtype="object"))
        try:
            self.con.execute("CREATE OR REPLACE TEMP TABLE bulk_touched_ids AS SELECT unique_id FROM bulk_touched")
        finally:
            self.con.unregister("bulk_touched")
        return int(self.con.execute(f"SELECT count(*) FROM {RECORDS}").fetchall()[0][0])

    def columns(self) -> set[str]:
        return {r[0] for r in self.con.execute(f"DESCRIBE {RECORDS}").fetchall()}

    def frame(self, columns: list[str]) -> pd.DataFrame:
        """unique_id, `columns` and `_entity_before` (the entity before this write, None for a new
        record) of every neighbourhood record, by unique_id."""
        wanted = "".join(f', t."{c}"' for c in columns if c != "unique_id")
        return self.con.execute(  # `gather` kept each record's entity: no second scan of the membership
            f"SELECT t.unique_id{wanted}, m.entity_id AS _entity_before FROM {RECORDS} t LEFT JOIN {BEFORE} m "
            "USING (unique_id) ORDER BY t.unique_id").df()

    def candidate_pairs(self, keys: list[Any]) -> int:
        """Fill `PAIRS` (l, r, rule: l < r, the first blocking rule that finds the pair) with the
        pairs of neighbourhood records sharing a capped key value, one of them touched."""
        from resolver.engines.inputs import key_expression

        con = self.con
        raw = ", ".join(f"{key_expression(k)} AS k{n}" for n, k in enumerate(keys))
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {KEYS} AS SELECT unique_id, "
            f"unique_id IN (SELECT unique_id FROM bulk_touched_ids) AS touched, {raw} FROM {RECORDS}")
        # Each key's blocks within its cap holding a touched record, by GROUP BY: a count(*)
        # window per key over the whole neighbourhood cost ~3x the CPU (1.7 s for 175k records).
        found = " UNION ALL ".join(
            f"SELECT least(t.unique_id, o.unique_id) AS l, greatest(t.unique_id, o.unique_id) AS r, {n} AS rule "
            f"FROM {self._block(n, k.max_block_size)} t JOIN {self._block(n, k.max_block_size)} o "
            f"ON t.k{n} = o.k{n} AND t.unique_id <> o.unique_id WHERE t.touched"
            for n, k in enumerate(keys))
        con.execute(f"CREATE OR REPLACE TEMP TABLE {PAIRS} AS SELECT l, r, min(rule) AS rule "
                    f"FROM ({found}) GROUP BY l, r")
        con.execute(f"DROP TABLE {KEYS}")
        return int(con.execute(f"SELECT count(*) FROM {PAIRS}").fetchall()[0][0])

    @staticmethod
    def _block(n: int, cap: int | None) -> str:
        """The rows of `KEYS` whose key `n` is in a block of at most `cap` rows with a touched one."""
        within = f" AND count(*) <= {int(cap)}" if cap else ""
        return (f"(SELECT unique_id, touched, k{n} FROM {KEYS} WHERE k{n} IN (SELECT k{n} FROM {KEYS} "
                f"WHERE k{n} IS NOT NULL GROUP BY k{n} HAVING bool_or(touched){within}))")

    def levels(self, columns: list[str], gammas: list[str], tf_columns: list[str]) -> dict[str, np.ndarray]:
        """For every pair of `PAIRS` ordered by (l, r): l, r, rule, each `gammas` SQL (over
        `<column>_l` / `<column>_r` of `columns`) and, per term-frequency column, `tf_<column>`:
        the larger share of the pair's two values among the neighbourhood's values (NaN when
        neither has one), as Splink's term-frequency tables count them."""
        con = self.con
        side = ", ".join(f'{{s}}."{c}" AS "{c}_{{s}}"' for c in columns)
        joins = ""
        shares = []
        for n, column in enumerate(tf_columns):
            con.execute(
                f'CREATE OR REPLACE TEMP TABLE bulk_tf_{n} AS SELECT "{column}" AS _tf_value, count(*)::DOUBLE / '
                f'(SELECT count("{column}") FROM {RECORDS}) AS _tf_share FROM {RECORDS} WHERE "{column}" IS NOT NULL GROUP BY 1')
            joins += (f' LEFT JOIN bulk_tf_{n} tl{n} ON tl{n}._tf_value = x."{column}_l"'
                      f' LEFT JOIN bulk_tf_{n} tr{n} ON tr{n}._tf_value = x."{column}_r"')
            shares.append(f"coalesce(greatest(tl{n}._tf_share, tr{n}._tf_share), 'NaN'::DOUBLE) AS \"tf_{column}\"")
        listed = ", ".join([*gammas, *shares])
        extra = "".join(f', {{s}}."{c}" AS "{c}_{{s}}"' for c in tf_columns if c not in columns)
        try:
            return con.execute(
                f"WITH x AS (SELECT p.l, p.r, p.rule, {side.format(s='l')}{extra.format(s='l')}, "
                f"{side.format(s='r')}{extra.format(s='r')} FROM {PAIRS} p "
                f"JOIN {RECORDS} l ON l.unique_id = p.l JOIN {RECORDS} r ON r.unique_id = p.r) "
                f"SELECT x.l, x.r, x.rule, {listed} FROM x{joins} ORDER BY x.l, x.r").fetchnumpy()
        finally:
            for n in range(len(tf_columns)):
                con.execute(f"DROP TABLE IF EXISTS bulk_tf_{n}")
            con.execute(f"DROP TABLE IF EXISTS {PAIRS}")

    def close(self) -> None:
        self.con.execute("DROP TABLE IF EXISTS bulk_touched_ids")
        self.con.execute(f"DROP TABLE IF EXISTS {BEFORE}")
