"""An in-memory blocking index for matching one record at a time.

A match request needs the source records that share a blocking key value with the query,
the query value's term frequencies, and the candidates' values for scoring. Asked of DuckDB
per request, that was ~70 ms at 1M records: a key over two columns (`a = ? AND b = ?`) is
a table scan (DuckDB 2 uses an index only for a lone `column = ?`), and each wide point
read costs ~1-2 ms. Here one scan at server start keeps, per domain:

- the model's columns of every record and its master ID (Arrow, ~0.3 GB for 500k
  enterprise records);
- per blocking key and per term-frequency column, a 64-bit hash of the values (half of
  their MD5, computed by DuckDB at start), sorted, so a block or a value count is two
  binary searches.

The query's hashes are the same MD5 computed in Python (no DuckDB round trip). Records an
incremental write stored, replaced or moved to another entity (POST /records, `ingest
--incremental`, whoever committed: resolver.lookup.service follows every commit) are read
again with their entity (`fetch`, inside the writing transaction) and added (`add_rows`, after
its commit); a record's older row is dropped from the answers, found by the hash of its
unique_id (a scan of the 1M IDs for each write's few took ~16 ms, under the commit's gate).
A full resolution builds a new index. A 64-bit collision could add a stray candidate: it is
scored on its real values like any other.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from resolver.linking.rules import BlockingKey
from resolver.lookup.pairs import key_texts
from resolver.store.reads import Reader
from resolver.store.store import records_table

ENTITY = "_entity_id"  # the master ID a candidate row belongs to (None: not resolved yet)
ID = "id:unique_id"  # the hash of a row's unique_id: where an older version of a record is
FEW = 50  # `fetch` hashes this many records' keys in Python, more in DuckDB
# `neighbours_of_frame`: a key's distinct values from Arrow columns and the blocks' rows by numpy
# (False: a dict per row and a loop per value, ~0.2 s of a 2,000-record write; kept for an A/B)
VECTORIZED = True


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value) or str(value) == ""


def _hash(texts: list[str]) -> int:
    """DuckDB's md5_number_lower of the values joined by U+001F (no round trip per request): the
    Python form of resolver.store.reads.key_hash_sql."""
    return int.from_bytes(hashlib.md5("\x1f".join(texts).encode("utf-8")).digest()[8:], "little")


@dataclass
class _Slot:
    """Sorted hashes of one key (or tf column) and the row positions they belong to."""

    columns: list[str]
    hashes: np.ndarray = field(default_factory=lambda: np.empty(0, np.uint64))
    rows: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    extra: dict[int, list[int]] = field(default_factory=dict)  # hash → rows added after the start

    def _range(self, h: int) -> tuple[int, int]:
        key = np.uint64(h)
        return int(np.searchsorted(self.hashes, key, "left")), int(np.searchsorted(self.hashes, key, "right"))

    def find(self, h: int, dead: set[int]) -> list[int]:
        lo, hi = self._range(h)
        return [r for r in [*map(int, self.rows[lo:hi]), *self.extra.get(h, [])] if r not in dead]

    def count(self, h: int, dead: set[int]) -> int:
        """How many live rows hold the hash, without listing them (agency phones hold thousands)."""
        lo, hi = self._range(h)
        extra = self.extra.get(h, [])
        n = hi - lo + len(extra)
        if dead:
            n -= int(np.isin(self.rows[lo:hi], np.fromiter(dead, np.int64)).sum()) + sum(1 for r in extra if r in dead)
        return n


class BlockIndex:
    """Blocking keys, term frequencies and scoring columns of one domain's records, in memory."""

    def __init__(self, reader: Reader, domain: str, keys: list[BlockingKey],
                 tf_columns: set[str], columns: list[str], have: set[str]):
        self.table = records_table(domain)
        self.keys = [k for k in keys if all(c in have for c in k.columns)]
        self.columns = [c for c in dict.fromkeys(["unique_id", *columns]) if c in have]
        self.slots = {f"key:{k.name}": _Slot(list(k.columns)) for k in self.keys}
        self.slots |= {f"tf:{c}": _Slot([c]) for c in sorted(tf_columns & have)}
        self._lock = threading.Lock()
        self._dead: set[int] = set()  # rows replaced by a later version
        # per key slot, per column, the values the key excludes, as text
        self._excluded = {f"key:{k.name}": {c: {str(x) for x in v or []} for c, v in k.exclude_values.items()}
                          for k in self.keys}
        self._ids = _Slot(["unique_id"])  # not a slot a query looks up
        data = self._select(reader, None)
        self.data = data.select([*self.columns, ENTITY]).combine_chunks()  # take() across chunks is slow
        self.added: list[dict[str, Any]] = []  # rows of records written after the start
        for name, slot in [*self.slots.items(), (ID, self._ids)]:
            column = data.column(name)
            rows = np.flatnonzero(column.is_valid().to_numpy(zero_copy_only=False))
            values = column.drop_null().to_numpy(zero_copy_only=False).astype(np.uint64)
            order = np.argsort(values, kind="stable")
            slot.hashes, slot.rows = values[order], rows[order]
        self.totals = {name[3:]: len(slot.hashes) for name, slot in self.slots.items() if name.startswith("tf:")}

    def _select(self, reader: Reader, unique_ids: list[str] | None) -> pa.Table:
        return reader.records_with_keys(self.table, self.columns, self._hashed(), unique_ids)

    def _hashed(self) -> dict[str, list[str]]:
        return {**{n: s.columns for n, s in self.slots.items()}, ID: self._ids.columns}

    def __len__(self) -> int:
        return self.data.num_rows + len(self.added)

    def add(self, reader: Reader, unique_ids: list[str]) -> None:
        """Index records written after the start (a new version of a record replaces the old)."""
        self.add_rows(self.fetch(reader, unique_ids))

    def fetch(self, reader: Reader, unique_ids: list[str], entities: dict[str, str] | None = None,
              held: str | None = None) -> pa.Table | None:
        """The rows `add_rows` takes for `unique_ids`, with their entity (from `entities` when it
        gives every one's: the write placed them), as `reader` sees them; `held`, a temp table
        holding the current rows of many of them (resolver.store.commits.Change.rows)."""
        if not unique_ids:
            return None
        ids = list(unique_ids)
        if len(ids) <= FEW and entities is not None and all(u in entities for u in ids):
            # a write's few records: the keys' hashes in Python, as for a query. DuckDB spent ~14 ms
            # of CPU on the ~14 hash expressions for one row (24 ms the read, 1.8 without them);
            # the unique_id's too (its one expression was ~1.5 ms of a one-record write's read)
            rows = reader.records_with_keys(self.table, self.columns, {}, ids, entities)
            if all(pa.types.is_string(rows.schema.field(c).type) or pa.types.is_large_string(rows.schema.field(c).type)
                   for slot in [*self.slots.values(), self._ids] for c in slot.columns):  # text hashes alike both ways
                for name, slot in [*self.slots.items(), (ID, self._ids)]:
                    values = zip(*(rows.column(c).to_pylist() for c in slot.columns), strict=True)
                    rows = rows.append_column(name, pa.array([None if any(v is None or v == "" for v in vs)
                                                              else _hash(list(vs)) for vs in values], pa.uint64()))
                return rows
        return reader.records_with_keys(self.table, self.columns, self._hashed(), ids, entities, held)

    def add_rows(self, new: pa.Table | None) -> None:
        """Index rows from `fetch`: each replaces the record's older row (values or entity changed)."""
        if new is None or not new.num_rows:
            return
        with self._lock:
            replaced = set(new.column("unique_id").to_pylist())
            self._dead.update(r for r in self._rows_of(new.column(ID).to_pylist()) if self._unique_id(r) in replaced)
            start = len(self)
            self.added += new.select([*self.columns, ENTITY]).to_pylist()
            for name, slot in [*self.slots.items(), (ID, self._ids)]:
                for i, h in enumerate(new.column(name).to_pylist()):
                    if h is not None:
                        slot.extra.setdefault(int(h), []).append(start + i)
                if name.startswith("tf:") and VECTORIZED:  # the rows just added: a sum over every
                    # value added since the start grew with the server's age (~10 ms after 20k records)
                    self.totals[name[3:]] += new.num_rows - new.column(name).null_count
                elif name.startswith("tf:"):
                    self.totals[name[3:]] = len(slot.hashes) + sum(len(v) for v in slot.extra.values())

    def _rows_of(self, hashes: list[int]) -> list[int]:
        """The rows under any of the unique_id `hashes`, a colliding hash's other rows too (the
        caller checks the IDs): one binary search for all (row by row, 2,000 took ~35 ms)."""
        slot = self._ids
        wanted = np.fromiter(set(hashes), np.uint64)
        starts = np.searchsorted(slot.hashes, wanted, "left").tolist()
        ends = np.searchsorted(slot.hashes, wanted, "right").tolist()
        rows = [int(r) for lo, hi in zip(starts, ends, strict=True) if hi > lo for r in slot.rows[lo:hi]]
        return rows + [r for h in wanted.tolist() for r in slot.extra.get(h, [])]

    def _unique_id(self, row: int) -> str:
        n = self.data.num_rows
        return str(self.added[row - n]["unique_id"] if row >= n else self.data.column("unique_id")[row].as_py())

    def _query_hashes(self, row: dict[str, Any]) -> dict[str, int]:
        """slot → hash of the query's values, for the slots whose values are all present and allowed."""
        hashes = {name: self._hash_of(name, row) for name in self.slots}
        return {name: h for name, h in hashes.items() if h is not None}

    def frequencies(self, row: dict[str, Any]) -> dict[str, float]:
        """tf column → frequency of `row`'s value among the indexed records (as `lookup` gives them)."""
        return self._frequencies(self._query_hashes(row))

    def _frequencies(self, hashes: dict[str, int]) -> dict[str, float]:
        tf = {}
        for name, h in hashes.items():
            if name.startswith("tf:") and self.totals.get(name[3:]):
                n = self.slots[name].count(h, self._dead)
                if n:
                    tf[name[3:]] = n / self.totals[name[3:]]
        return tf

    def block_sizes(self, row: dict[str, Any]) -> dict[str, tuple[int, int]]:
        """Blocking key → (records in the query's block, the key's cap), for the keys the query
        has a value for: why a match found no candidates (resolver.lookup.reasons)."""
        hashes = self._query_hashes(row)
        return {k.name: (self.slots[f"key:{k.name}"].count(hashes[f"key:{k.name}"], self._dead),
                         int(k.max_block_size or 50)) for k in self.keys if f"key:{k.name}" in hashes}

    def neighbours(self, rows: list[dict[str, Any]]) -> set[str]:
        """unique_ids of the records sharing a blocking key value with one of `rows`, within the
        key's cap: what `lookup` finds for each row, for many rows at once (an incremental write's
        neighbourhood). Each distinct value is looked up once and no candidate row is read
        (`lookup` for each of 2,000 records took ~0.7 ms a record)."""
        if VECTORIZED:
            return self._neighbours_of({f"key:{k.name}": self._hashes_of(f"key:{k.name}", rows) for k in self.keys})
        dead = self._dead
        picked: set[int] = set()
        for key in self.keys:
            name = f"key:{key.name}"
            slot, cap = self.slots[name], int(key.max_block_size or 50)
            wanted = list(self._hashes_of(name, rows))
            keys = np.fromiter(wanted, np.uint64, len(wanted))
            starts = np.searchsorted(slot.hashes, keys, "left").tolist()
            ends = np.searchsorted(slot.hashes, keys, "right").tolist()
            for h, lo, hi in zip(wanted, starts, ends, strict=True):
                extra = slot.extra.get(h, [])
                if hi - lo + len(extra) - len(dead) > cap:  # over the cap even if every dead row were here
                    continue
                found = [r for r in [*map(int, slot.rows[lo:hi]), *extra] if r not in dead]
                if len(found) <= cap:  # an over-full block gives no evidence, as in `lookup`
                    picked.update(found)
        return self._ids_of(picked)

    def neighbours_of_frame(self, columns: dict[str, pa.Array]) -> set[str] | None:
        """`neighbours` of the rows whose key columns are `columns` (Arrow text, missing values
        null); None when one is not text (str() of other values is not reproduced here)."""
        if not all(pa.types.is_string(v.type) or pa.types.is_large_string(v.type) or pa.types.is_null(v.type)
                   for v in columns.values()):
            return None
        wanted: dict[str, set[int]] = {}
        for key in self.keys:
            name = f"key:{key.name}"
            skip, names = self._excluded.get(name, {}), self.slots[name].columns
            if not all(c in columns for c in names):
                continue  # a column missing is a blank value: the key finds nothing
            # joined by U+001F as `_hash` joins them: each distinct key text hashed once
            texts = key_texts([columns[c].cast(pa.large_string()) for c in names],
                              [skip.get(c) or set() for c in names], "\x1f")
            wanted[name] = {_hash([t]) for t in pc.unique(pc.drop_null(texts)).to_pylist()}
        return self._neighbours_of(wanted)

    def _neighbours_of(self, wanted: dict[str, set[int]]) -> set[str]:
        """The live rows under each key's `wanted` hashes, blocks over the key's cap left out, by
        numpy over every block at once (a loop per value was ~0.1 s of a 2,000-record write)."""
        dead = np.fromiter(self._dead, np.int64, len(self._dead))
        picked = []
        for key in self.keys:
            name = f"key:{key.name}"
            slot, cap = self.slots[name], int(key.max_block_size or 50)
            hashes = list(wanted.get(name, ()))
            if not hashes:
                continue
            keys = np.fromiter(hashes, np.uint64, len(hashes))
            starts = np.searchsorted(slot.hashes, keys, "left")
            sizes = np.searchsorted(slot.hashes, keys, "right") - starts
            extras = [slot.extra.get(h, []) for h in hashes]
            n_extra = np.fromiter(map(len, extras), np.int64, len(extras))
            near = sizes + n_extra - len(dead) <= cap  # else over the cap even if every dead row were here
            starts, sizes, extras_near = starts[near], sizes[near], [e for e, k in zip(extras, near.tolist(),
                                                                                     strict=True) if k]
            block = np.repeat(np.arange(len(sizes)), sizes)
            offsets = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)
            rows = slot.rows[np.repeat(starts, sizes) + offsets]
            more = np.fromiter((r for e in extras_near for r in e), np.int64)
            more_block = np.repeat(np.arange(len(extras_near)), [len(e) for e in extras_near]).astype(np.int64)
            rows, block = np.concatenate([rows, more]), np.concatenate([block, more_block])
            if len(dead):
                live = ~np.isin(rows, dead)
                rows, block = rows[live], block[live]
            small = np.bincount(block, minlength=len(sizes)) <= cap  # an over-full block gives no evidence
            picked.append(rows[small[block]])
        return self._ids_of(set(np.concatenate(picked).tolist()) if picked else set())

    def _ids_of(self, picked: set[int]) -> set[str]:
        n = self.data.num_rows
        stored = sorted(r for r in picked if r < n)
        ids = self.data.column("unique_id").take(pa.array(stored, pa.int64())).to_pylist() if stored else []
        return {str(u) for u in ids} | {str(self.added[r - n]["unique_id"]) for r in picked if r >= n}

    def _hashes_of(self, name: str, rows: list[dict[str, Any]]) -> set[int]:
        """`_hash_of` of each of `rows`, the Nones left out: each distinct value hashed once
        (~0.1 s of a 2,000-record write's neighbourhood went to hashing row by row)."""
        slot = self.slots[name]
        skip = self._excluded.get(name, {})
        skips = [skip.get(c, set()) for c in slot.columns]
        distinct: set[tuple[str, ...]] = set()
        for row in rows:
            texts = []
            for column, excluded in zip(slot.columns, skips, strict=True):
                value = row.get(column)
                if _blank(value) or str(value) in excluded:
                    break
                texts.append(str(value))
            else:
                distinct.add(tuple(texts))
        return {_hash(list(texts)) for texts in distinct}

    def _hash_of(self, name: str, row: dict[str, Any]) -> int | None:
        """The hash of `row`'s values for slot `name`; None when one is blank, or excluded by its key."""
        slot = self.slots[name]
        values = [row.get(c) for c in slot.columns]
        if any(_blank(v) for v in values):
            return None
        texts = [str(v) for v in values]
        skip = self._excluded.get(name, {})
        if any(t in skip.get(c, ()) for c, t in zip(slot.columns, texts, strict=True)):
            return None
        return _hash(texts)

    def lookup(self, row: dict[str, Any]) -> tuple[dict[str, list[str]], dict[str, float], list[dict[str, Any]]]:
        """(unique_id → blocking keys shared, tf column → frequency of the query's value,
        candidate rows with the scoring columns and ENTITY). A block over its key's cap gives nothing."""
        hashes = self._query_hashes(row)
        found: dict[int, list[str]] = {}
        for key in self.keys:
            h = hashes.get(f"key:{key.name}")
            if h is None:
                continue
            slot = self.slots[f"key:{key.name}"]
            if slot.count(h, self._dead) > int(key.max_block_size or 50):
                continue  # an over-full block gives no evidence (agency phones, common names)
            for r in slot.find(h, self._dead):
                found.setdefault(r, []).append(key.name)
        tf = self._frequencies(hashes)
        n = self.data.num_rows
        stored = [r for r in found if r < n]
        picked = self.data.take(pa.array(stored, pa.int64())).to_pylist() if stored else []
        picked += [self.added[r - n] for r in found if r >= n]
        keys = [found[r] for r in stored] + [found[r] for r in found if r >= n]
        by_id = {str(r["unique_id"]): k for r, k in zip(picked, keys, strict=True)}
        return by_id, tf, picked
