"""Named read queries on the master store, for one thread at a time (`Store.reader()`).

Callers outside resolver.store ask these by name and never see DuckDB. Every value reaches
SQL as a parameter; a table or column name is checked against `_SAFE_NAME` (they come from
the schemas and the store's own columns, never from a request). DuckDB (2.0) uses an index
only for a lone `column = ?`: `AND domain = ?` or an IN list turns a point query into a scan
(3 ms → 150 ms on 4.4M golden values), so point queries here filter on the indexed column
alone, one value per query, and callers check the rest in Python.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from types import TracebackType
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from resolver.store import docs
from resolver.store.docs import Found

_SAFE_NAME = re.compile(r"[a-z_][a-z0-9_]*")


def safe_name(name: str) -> str:
    """`name` when it is a plain lower-case table or column name, else ValueError (it is spliced into SQL)."""
    if not _SAFE_NAME.fullmatch(name):
        raise ValueError(f"not a plain table or column name: {name!r}")
    return name


def key_hash_sql(columns: list[str]) -> str:
    """A row's blocking-key hash in SQL: half of the MD5 of its values joined by U+001F, NULL when
    one is missing (resolver.lookup.block_index computes the same in Python for a query)."""
    nulls = " OR ".join(f'"{c}" IS NULL OR "{c}"::VARCHAR = \'\'' for c in columns)
    joined = ", ".join(f'"{c}"::VARCHAR' for c in columns)
    return f"CASE WHEN {nulls} THEN NULL ELSE md5_number_lower(concat_ws(chr(31), {joined})) END"


class Reader:
    """Read queries on one cursor of the store. A cursor is not thread-safe: one reader per thread."""

    def __init__(self, cur: duckdb.DuckDBPyConnection, *, owned: bool = True):
        self._cur = cur
        self._owned = owned  # False: a writing transaction's connection, lent (resolver.store.commits)

    def close(self) -> None:
        if self._owned:
            self._cur.close()

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    # -- tables ---------------------------------------------------------------------------

    def table_columns(self, table: str) -> list[str]:
        """The columns of `table` in order; none when it does not exist."""
        rows = self._cur.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
            [table]).fetchall()
        return [r[0] for r in rows]

    def records_columns(self, table: str, columns: list[str]) -> pa.Table:
        """Those of `columns` that `table` has, for every record in unique_id order, as Arrow: linking
        reads a few columns of a million records and needs no Python object per value."""
        have = set(self.table_columns(table))
        cols = ", ".join(f'"{safe_name(c)}"' for c in dict.fromkeys(columns) if c in have)
        return self._cur.sql(f"SELECT {cols} FROM {safe_name(table)} ORDER BY unique_id").to_arrow_table()

    def record_count(self, table: str) -> int:
        return int(self._cur.sql(f"SELECT count(*) FROM {safe_name(table)}").fetchall()[0][0])

    def records_sample(self, table: str, columns: list[str], size: int, seed: int,
                       also: list[str] | None = None) -> pa.Table:
        """`records_columns` of a random sample of `size` records (resolver.engines.inputs.sample_ids_sql),
        and of the records `also` names (those of labelled pairs), drawn here so that only the
        sample ever leaves the store."""
        from resolver.engines.inputs import sample_ids_sql

        have = set(self.table_columns(table))
        cols = ", ".join(f'"{safe_name(c)}"' for c in dict.fromkeys(columns) if c in have)
        name = safe_name(table)
        ids = sample_ids_sql(name, size, seed)
        self._cur.register("sample_also", pa.table({"unique_id": pa.array(sorted(set(also or [])), pa.string())}))
        try:
            return self._cur.sql(f"SELECT {cols} FROM {name} SEMI JOIN (({ids}) UNION SELECT unique_id FROM "
                                 "sample_also) s USING (unique_id) ORDER BY unique_id").to_arrow_table()
        finally:
            self._cur.unregister("sample_also")

    def key_statistics(self, table: str, keys: list[Any]) -> tuple[list[Any], dict[str, list[str]]]:
        """What each bounded blocking key yields on every record of `table`, and its values over
        the cap (resolver.engines.inputs.key_statistics)."""
        from resolver.engines.inputs import key_statistics

        return key_statistics(self._cur, safe_name(table), keys)

    def records_columns_to_parquet(self, table: str, columns: list[str], path: str,
                                   sample: tuple[int, int, list[str]] | None = None) -> int:
        """`records_columns` written to the Parquet file `path` by DuckDB (streamed: no record passes
        through Python), for an engine that reads them where it runs (Spark); returns the row count.
        `sample` (size, seed, also): only the records `records_sample` draws."""
        from resolver.engines.inputs import sample_ids_sql

        have = set(self.table_columns(table))
        cols = ", ".join(f'"{safe_name(c)}"' for c in dict.fromkeys(columns) if c in have)
        name = safe_name(table)
        target = "'" + path.replace("'", "''") + "'"
        drawn = ""
        if sample is not None:
            size, seed, also = sample
            self._cur.register("sample_also", pa.table({"unique_id": pa.array(sorted(set(also)), pa.string())}))
            drawn = (f" SEMI JOIN (({sample_ids_sql(name, size, seed)}) UNION SELECT unique_id FROM sample_also) s "
                     "USING (unique_id)")
        try:
            rows = self._cur.execute(f"COPY (SELECT {cols} FROM {name}{drawn} ORDER BY unique_id) TO {target} "
                                     "(FORMAT parquet)").fetchall()
        finally:
            if sample is not None:
                self._cur.unregister("sample_also")
        return int(rows[0][0]) if rows else 0

    # -- membership -----------------------------------------------------------------------

    def entities_of(self, unique_ids: list[str]) -> dict[str, str]:
        """unique_id → master ID for the records that belong to an entity."""
        out: dict[str, str] = {}
        for unique_id in dict.fromkeys(unique_ids):  # point queries on the primary key (module docstring)
            rows = self._cur.execute("SELECT entity_id FROM membership WHERE unique_id = ?", [unique_id]).fetchall()
            if rows:
                out[unique_id] = rows[0][0]
        return out

    def entities_in(self, unique_ids: list[str]) -> dict[str, str]:
        """unique_id → master ID for many records at once (a registered frame, not a parameter list)."""
        self._cur.register("wanted_ids", pd.DataFrame({"unique_id": list(unique_ids)}, dtype="object"))
        try:
            rows = self._cur.execute("SELECT unique_id, entity_id FROM membership "
                                     "WHERE unique_id IN (SELECT unique_id FROM wanted_ids)").fetchall()
        finally:
            self._cur.unregister("wanted_ids")
        return {str(u): str(e) for u, e in rows}

    def has_resolution(self, domain: str) -> bool:
        """Whether any record of the domain belongs to an entity yet."""
        return bool(self._cur.execute("SELECT count(*) FROM (SELECT 1 FROM membership WHERE domain = ? LIMIT 1)",
                                      [domain]).fetchall()[0][0])

    def members_of(self, entity_id: str) -> list[str]:
        """The unique_ids of an entity's source records (indexed point query)."""
        return [r[0] for r in self._cur.execute("SELECT unique_id FROM membership WHERE entity_id = ?",
                                                [entity_id]).fetchall()]

    def members_by_source(self, domain: str) -> pd.DataFrame:
        """source, source_record_id, entity_id, model_version of every member of the domain's entities."""
        return self._cur.execute(
            "SELECT split_part(unique_id, ':', 1) AS source, "
            "substr(unique_id, length(split_part(unique_id, ':', 1)) + 2) AS source_record_id, "
            "entity_id, model_version FROM membership WHERE domain = ? ORDER BY entity_id, unique_id",
            [domain]).df()

    def active_entities(self, domain: str) -> pd.DataFrame:
        """entity_id, size, model_version of the domain's active entities."""
        return self._cur.execute(
            "SELECT entity_id, size, model_version FROM entities WHERE domain = ? AND active", [domain]).df()

    def events_of(self, entity_id: str) -> list[tuple[Any, ...]]:
        """(event_id, event_at as ISO text, domain, event, related_ids, reason, model_version) of
        every history event recorded on one master ID, oldest first. No index: entity_history
        is written once per resolution and an index would slow every write; a filtered scan
        of it serves the rare look-up of a retired ID."""
        return self._cur.execute(
            "SELECT event_id, strftime(event_at, '%Y-%m-%dT%H:%M:%S.%f'), domain, event, related_ids, reason, "
            "model_version FROM entity_history WHERE entity_id = ? ORDER BY event_id", [entity_id]).fetchall()

    # -- source records -------------------------------------------------------------------

    def records_where(self, table: str, column: str, value: str, limit: int) -> list[str]:
        """unique_ids of records of `table` whose `column` is `value` (indexed: a lone `column = ?`)."""
        rows = self._cur.execute(f'SELECT unique_id FROM {safe_name(table)} WHERE "{safe_name(column)}" = ? LIMIT ?',
                                 [value, limit]).fetchall()
        return [r[0] for r in rows]

    def similar_cores(self, table: str, core: str, trade: str, core_value: str, trade_value: str,
                      limit: int) -> list[tuple[str, float]]:
        """(unique_id, Jaro-Winkler similarity of `core` to `core_value`) of the records whose
        `trade` is `trade_value`, most similar first."""
        core, trade = safe_name(core), safe_name(trade)
        rows = self._cur.execute(
            f'SELECT unique_id, jaro_winkler_similarity("{core}", ?) AS s FROM {safe_name(table)} '
            f'WHERE "{trade}" = ? AND "{core}" IS NOT NULL ORDER BY s DESC LIMIT ?',
            [core_value, trade_value, limit]).fetchall()
        return [(r[0], float(r[1])) for r in rows]

    def records_with_keys(self, table: str, columns: list[str], keys: dict[str, list[str]],
                          unique_ids: list[str] | None = None, entities: dict[str, str] | None = None,
                          held: str | None = None) -> pa.Table:
        """`columns` of `table`'s records (all, or those in `unique_ids`) with their master ID as
        `_entity_id` and, per name in `keys`, the hash of those columns (`key_hash_sql`) as a column.
        `entities` may give the master ID of every one of `unique_ids` (a write that placed them):
        the membership is then not joined (a scan of it for more than a few records). `held`
        (with `entities`): a temp table of `table`'s columns holding the current rows of some of
        `unique_ids`, read there (in `unique_ids`' order), the others from `table`."""
        cols = ", ".join(f'"{safe_name(c)}"' for c in columns)
        hashes = "".join(f', {key_hash_sql([safe_name(c) for c in cs])} AS "{name}"' for name, cs in keys.items())
        where, params, members = "", [], ""
        if unique_ids is not None and entities is not None and all(u in entities for u in unique_ids) and held:
            # a list parameter: 2,000 `?` took ~50 ms to bind and test
            found = self._cur.sql(f"SELECT {cols}{hashes} FROM {safe_name(held)} "
                                  "WHERE unique_id IN (SELECT unnest(?::VARCHAR[]))",
                                  params=[list(unique_ids)]).to_arrow_table()
            got = set(found.column("unique_id").to_pylist())
            rest = [u for u in unique_ids if u not in got]
            if rest:
                found = pa.concat_tables([found, self.records_with_keys(table, columns, keys, rest, entities)
                                          .drop_columns(["_entity_id"])])
            order = pc.sort_indices(pc.index_in(found.column("unique_id"), pa.array(list(unique_ids), pa.string())))
            found = found.take(order)
            ids = found.column("unique_id").to_pylist()
            return found.add_column(len(columns), "_entity_id", pa.array([entities[u] for u in ids], pa.string()))
        if unique_ids is not None and entities is not None and all(u in entities for u in unique_ids):
            found = self._cur.sql(f"SELECT {cols}{hashes} FROM {safe_name(table)} "
                                  f"WHERE unique_id IN ({', '.join('?' for _ in unique_ids)})",
                                  params=list(unique_ids)).to_arrow_table()
            ids = found.column("unique_id").to_pylist()
            return found.add_column(len(columns), "_entity_id", pa.array([entities[u] for u in ids], pa.string()))
        if unique_ids is not None:
            where = f"WHERE unique_id IN ({', '.join('?' for _ in unique_ids)})"
            params = list(unique_ids)
            if len(unique_ids) <= 50:  # a write's few records: their members by key (11 → 4 ms for 20 at 1M)
                members, params = where, params * 2
        return self._cur.sql(f"SELECT {cols}, _entity_id{hashes} FROM {safe_name(table)} LEFT JOIN "
                             f"(SELECT unique_id, entity_id AS _entity_id FROM membership {members}) "
                             f"USING (unique_id) {where}", params=params).to_arrow_table()

    # -- relations across domains ---------------------------------------------------------

    def relation_evidence(self, a: str, b: str, entity_id: str) -> list[dict[str, Any]]:
        """Evidence rows of the (a, b) domain pair's relations where `entity_id` is either end."""
        from resolver.store import relations as relation_tables  # it uses safe_name from here

        return relation_tables.evidence_of(self._cur, relation_tables.table_name(a, b), entity_id)

    def relation_rows(self, a: str, b: str) -> list[dict[str, Any]]:
        """Every evidence row of the (a, b) domain pair's relations."""
        from resolver.store import relations as relation_tables

        return relation_tables.all_evidence(self._cur, relation_tables.table_name(a, b))

    # -- serving documents ----------------------------------------------------------------

    def doc(self, entity_id: str) -> Found | None:
        """(domain, JSON document) of one master ID, or None (one indexed point read)."""
        return docs.read(self._cur, entity_id)

    def docs(self, entity_ids: list[str]) -> dict[str, Found | None]:
        """(domain, JSON document) of each master ID, None for those without one."""
        return docs.read_many(self._cur, entity_ids)

    def written_docs(self, entity_ids: list[str]) -> dict[str, Found | None]:
        """`docs` for a listener reading the writing transaction (resolver.store.commits)."""
        return docs.read_written(self._cur, entity_ids)

    def doc_batches(self, batch_size: int = 65536, domain: str | None = None) -> Iterator[pa.RecordBatch]:
        """Every serving document (of `domain` if given) as Arrow batches of entity_id, domain, doc
        (streamed; doc packed, resolver.store.docs.unpack reads one)."""
        where, params = ("WHERE domain = ?", [domain]) if domain else ("", [])
        yield from self._cur.sql(f"SELECT entity_id, domain, doc FROM {docs.TABLE} {where}",
                                 params=params).to_arrow_reader(batch_size=batch_size)

    # -- review (resolver.store.review, imported per call: it takes safe_name from here) ----

    def decisions(self, domain: str, *, every: bool = False) -> pd.DataFrame:
        """The decision that counts on each decided pair of `domain`, or every decision (`every`)."""
        from resolver.store import review

        return review.latest(self._cur, domain, every=every)

    def review_candidates(self, domain: str, predict: float, match: float) -> pd.DataFrame:
        """Every item the domain's review queue can hold, highest priority first (resolver.store.review)."""
        from resolver.store import review

        return review.candidates(self._cur, domain, predict, match)

    def scored_pairs(self, domain: str, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
        """The kept score of each pair (unique_id_l < unique_id_r) that a resolution scored."""
        from resolver.store import review

        return review.scored(self._cur, domain, pairs)

    def pairs_model_version(self, domain: str) -> str | None:
        """The model version that scored the domain's kept pairs, if recorded."""
        from resolver.store import review

        return review.pairs_model_version(self._cur, domain)

    # -- what a store made before the access store kept -------------------------------------

    def legacy_access_rows(self) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """(API keys, audit rows) left in a store made before the access store existed (none when gone)."""
        tables = {r[0] for r in self._cur.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        keys: list[tuple[Any, ...]] = []
        audit: list[tuple[Any, ...]] = []
        if "api_keys" in tables:
            keys = self._cur.execute(
                "SELECT key_id, key_hash, department, scopes, CAST(created_at AS VARCHAR), "
                "CAST(revoked_at AS VARCHAR) FROM api_keys").fetchall()
        if "audit_log" in tables:
            audit = self._cur.execute(
                "SELECT CAST(logged_at AS VARCHAR), key_id, department, endpoint, query_fingerprint, "
                "returned_ids, status FROM audit_log ORDER BY audit_id").fetchall()
        return keys, audit
