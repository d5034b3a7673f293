"""Splink's own charts for the workbench, made offline from the published model and a few records.

- `cluster_studio`: Splink's cluster studio dashboard for one entity: its member records as
  nodes, every pair of them scored by Splink with the published model as edges.
- `waterfall`: Splink's waterfall chart of one pair of source records, scored by Splink.

Both are whole HTML documents with their scripts inline: the cluster studio inlines vega,
vega-lite, vega-embed and its own JS from the splink wheel (it also links a Google font, which
is removed here: the page falls back to the system's fonts); a chart is written with
`to_html(inline=True)` (Splink's default loads the libraries from cdn.jsdelivr.net). Nothing is
fetched from elsewhere, so they work on an offline network.

A caller without the domain's pii scope gets the charts computed without the values masked for
them (resolver.access.masking: a value shown masked or left out is left out of the records
Splink sees): as with a match (docs/security.md), a score on a hidden value would tell its
level ("phone equal", "ID one typo apart") and so something the caller may not read.
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from resolver.access.masking import mask_fields
from resolver.access.sensitivity import rules
from resolver.engines import get_engine
from resolver.linking.compile import splink_log_level
from resolver.linking.model import LinkModel

MAX_NODES = 60  # a cluster studio of more records than this is unreadable (and n² pairs)
_GOOGLE_FONTS = re.compile(r"<link[^>]+fonts\.(?:googleapis|gstatic)\.com[^>]*>", re.IGNORECASE)


def visible_record(domain: str, row: dict[str, Any], unmasked: bool) -> dict[str, Any]:
    """`row` with every value the caller may not read in clear set to None (left out of scoring)."""
    if unmasked:
        return dict(row)
    shown = mask_fields(rules(domain), row, False)
    return {k: (v if k in shown and shown[k] == v else None) for k, v in row.items()}


Frequencies = Callable[[dict[str, Any]], dict[str, float]]


def _linker(model: LinkModel, records: pd.DataFrame, frequencies: Frequencies, **settings: Any) -> Any:
    """Splink's Linker over `records` alone, every pair compared, with the term frequencies of the
    whole store (`frequencies(row)`: tf column → frequency of the row's value): computed from these
    few records, every value would look common and weigh against the match."""
    from splink import Linker

    engine = get_engine("duckdb")
    con = engine.connect()
    table, _ = engine.prepare_input(con, records, model.columns, model.blocking_keys)
    db_api = engine.database_api(con)
    linker = Linker(db_api.register(table),
                    engine.settings({**model.splink_settings(), "retain_matching_columns": True,
                                     "retain_intermediate_calculation_columns": True,
                                     "blocking_rules_to_generate_predictions": ["1=1"], **settings}),
                    log_level=splink_log_level())
    lookups: dict[str, dict[Any, float]] = {}
    for row in records.to_dict("records"):
        for column, frequency in frequencies(row).items():
            if row.get(column) is not None:
                lookups.setdefault(column, {})[row[column]] = frequency
    for column, values in sorted(lookups.items()):
        frame = pd.DataFrame({column: list(values), f"tf_{column}": list(values.values())})
        linker.table_management.register_term_frequency_lookup(db_api.register(frame), column)
    return linker


def _frame(domain: str, members: list[dict[str, Any]], model: LinkModel, unmasked: bool) -> pd.DataFrame:
    keep = set(model.columns) | {"unique_id", "source", "source_record_id"}
    rows = [visible_record(domain, {k: v for k, v in m.items() if k in keep}, unmasked) for m in members]
    frame = pd.DataFrame(rows)
    for column in model.columns:  # a column no member carries still has to exist for Splink's SQL
        if column not in frame:
            frame[column] = None
    return frame


def cluster_studio(domain: str, entity_id: str, members: list[dict[str, Any]], model: LinkModel,
                   frequencies: Frequencies, unmasked: bool) -> str:
    """Splink's cluster studio HTML for the entity whose member records (serving document rows)
    are `members`: every pair scored by `model` (at most MAX_NODES records, the first by ID)."""
    members = sorted(members, key=lambda m: str(m["unique_id"]))[:MAX_NODES]
    frame = _frame(domain, members, model, unmasked)
    linker = _linker(model, frame, frequencies)
    logging.getLogger("splink").setLevel(max(logging.getLogger("splink").level, logging.WARNING))
    predicted = linker.inference.predict()
    nodes = frame.assign(cluster_id=entity_id)
    clusters = linker.table_management.register_table(nodes, f"ui_cluster_{entity_id}", overwrite=True)
    with tempfile.TemporaryDirectory(prefix="resolver-cluster-") as folder:
        out = Path(folder) / "cluster.html"
        linker.visualisations.cluster_studio_dashboard(
            predicted, clusters, str(out), cluster_ids=[entity_id],
            cluster_names=[f"{entity_id}（{len(members)} 条来源记录）"], overwrite=True)
        html = out.read_text(encoding="utf-8")
    return _GOOGLE_FONTS.sub("", html)


def waterfall(domain: str, left: dict[str, Any], right: dict[str, Any], model: LinkModel,
              frequencies: Frequencies, unmasked: bool) -> str:
    """Splink's waterfall chart of the pair (two serving-document record rows), as HTML."""
    frame = _frame(domain, [left, right], model, unmasked)
    linker = _linker(model, frame, frequencies)  # the one pair
    chart = linker.visualisations.waterfall_chart(linker.inference.predict().as_record_list(), filter_nulls=False)
    return str(chart.to_html(inline=True))
