"""Golden values of a domain's active entities, a few fields wide, for the open-data export
(resolver.open_data): pivoted in DuckDB, so the long table of every golden value never
reaches pandas (1M records: ~4M golden values)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from resolver.store.reads import safe_name

if TYPE_CHECKING:
    from resolver.store.store import Store


def golden_columns(store: Store, domain: str, fields: list[str]) -> pd.DataFrame:
    """entity_id, model_version and one column per field (None where no golden value)."""
    wanted = list(dict.fromkeys(safe_name(f) for f in fields))
    picks = "".join(f", max(g.value) FILTER (WHERE g.field = '{f}') AS \"{f}\"" for f in wanted)
    cur = store.cursor()
    try:
        return cur.execute(
            f"SELECT e.entity_id, e.model_version{picks} FROM entities e LEFT JOIN "
            "(SELECT entity_id, field, value FROM golden_values WHERE domain = $d AND list_contains($f, field)) g "
            "ON g.entity_id = e.entity_id WHERE e.domain = $d AND e.active "
            "GROUP BY e.entity_id, e.model_version ORDER BY e.entity_id", {"d": domain, "f": wanted}).df()
    finally:
        cur.close()


def entities_with(store: Store, domain: str, field: str, values: tuple[str, ...]) -> set[str]:
    """Master IDs of the active entities any of whose member records has `field` in `values`."""
    from resolver.store.store import records_table

    table = records_table(domain)
    if not store.has_table(table):
        return set()
    cur = store.cursor()
    try:
        rows = cur.execute(
            f"SELECT DISTINCT m.entity_id FROM {table} r JOIN membership m ON m.unique_id = r.unique_id "
            f"WHERE list_contains($values, CAST(r.\"{safe_name(field)}\" AS VARCHAR))", {"values": list(values)}).fetchall()
    finally:
        cur.close()
    return {r[0] for r in rows}
