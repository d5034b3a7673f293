"""Serving documents of format 2 (members without null keys, record_hash, row_number, the file's
folders) give byte-identical answers to format 1 (each member's whole records row), for every
entity of the demo store read (the largest and a spread of the others), masked and unmasked."""

from __future__ import annotations

import orjson
import pandas as pd

from resolver.lookup.entity import get_entity, members_page
from resolver.store import open_store
from resolver.store.docs import _iso


def _answers(store, domain: str, ids: list[str]) -> list[bytes]:
    out = []
    with store.reader() as cur:
        return _read(cur, domain, ids, out)


def _read(cur, domain: str, ids: list[str], out: list[bytes]) -> list[bytes]:
    for entity_id in ids:
        for unmasked in (False, True):
            out.append(orjson.dumps(get_entity(cur, domain, entity_id, unmasked=unmasked)))
            out.append(orjson.dumps(members_page(cur, domain, entity_id, 1, 2, unmasked=unmasked)))
    return out


def _whole_rows(cur, domain: str) -> dict[str, list[object]]:
    """Format 1's members: every column of the records row, nulls included, `since` added."""
    replaced = []
    for name, ctype, *_ in cur.execute(f"DESCRIBE records_{domain}").fetchall():
        if ctype.startswith("TIMESTAMP"):
            replaced.append(f'{_iso(f"{name}", "TIME ZONE" in ctype)} AS "{name}"')
        elif ctype == "DOUBLE":
            replaced.append(f'CASE WHEN isnan("{name}") THEN NULL ELSE "{name}" END AS "{name}"')
    rows = cur.execute(
        f"SELECT m.entity_id, list(to_json(struct_insert(r, since := {_iso('m.since', False)})))::VARCHAR "
        f"FROM membership m JOIN (SELECT * REPLACE ({', '.join(replaced)}) FROM records_{domain}) r "
        "USING (unique_id) WHERE m.domain = ? GROUP BY 1", [domain]).fetchall()
    return {e: orjson.loads(members) for e, members in rows}


def test_slim_documents_answer_byte_for_byte_as_whole_rows(demo_copy):
    store = open_store(demo_copy("doc_format"))
    try:
        cur = store.cursor()
        for domain in ("enterprise", "person"):
            # the largest entities (most members, sources and empty columns) and every 20th other one
            ids = [r[0] for r in cur.execute(
                "SELECT entity_id FROM (SELECT entity_id, row_number() OVER (ORDER BY size DESC, entity_id) AS n "
                "FROM entities WHERE domain = ?) WHERE n <= 300 OR n % 20 = 0", [domain]).fetchall()]
            slim = _answers(store, domain, ids)
            stored = dict(cur.execute("SELECT entity_id, doc FROM serving_docs WHERE domain = ?", [domain]).fetchall())
            assert all(v is not None for d in stored.values() for m in orjson.loads(d)["members"] for v in m.values())
            whole = _whole_rows(cur, domain)
            assert any(len(orjson.dumps(whole[e])) > len(orjson.dumps(orjson.loads(stored[e])["members"])) * 1.2
                       for e in whole)
            old = pd.DataFrame({"entity_id": list(stored), "doc": [
                orjson.dumps({**orjson.loads(d), "members": whole.get(e, [])}).decode() for e, d in stored.items()]})
            cur.register("old_docs", old)
            cur.execute("UPDATE serving_docs SET doc = o.doc FROM old_docs o WHERE serving_docs.entity_id = o.entity_id")
            assert _answers(store, domain, ids) == slim
    finally:
        store.close()
