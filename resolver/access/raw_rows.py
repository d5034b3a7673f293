"""A department's raw row as a caller without the domain's pii scope sees it: through the
source mapping, not by what values look like.

- a column mapped to a personal field shows that record's standardized value in the
  field's masked form (`159 4632 5453` → `159****5453`, as the phone is shown everywhere
  else), or stars when it has none;
- a column mapped to any other field, and the record ID column, are shown as written;
- an unmapped column is shown only when the mapping lists it in `public_columns`.

Rows written through POST /records carry canonical field names as their columns, and are
read the same way. A source without a loadable mapping shows only canonical columns. Each
mapping is read once per process (a changed `public_columns` applies after a restart).
"""

from __future__ import annotations

import threading
from typing import Any

import orjson

from resolver.access.masking import FORMS, stars
from resolver.access.sensitivity import HIDE, Sensitivity, rules
from resolver.domains import is_domain, load_schema
from resolver.errors import ConfigError
from resolver.mapping import load_mapping
from resolver.paths import rules_dir

_SHOW = ""  # plan value for a public unmapped column; any other value names the field the column holds

_plans: dict[tuple[str, str], dict[str, str]] = {}
_lock = threading.Lock()


def plan(domain: str, source: str) -> dict[str, str]:
    """raw column → the field it holds, or _SHOW (listed public); columns absent are hidden."""
    found = _plans.get((domain, source))
    if found is not None:
        return found
    columns: dict[str, str] = {f: f for f in (load_schema(domain).canonical_fields() if is_domain(domain) else ())}
    columns["source_record_id"] = "source_record_id"
    public: tuple[str, ...] = ()
    path = rules_dir() / "sources" / f"{source}.yaml"
    try:
        mapping = load_mapping(path) if source.isidentifier() else None
    except ConfigError:  # a broken mapping is reported by ingest; here it only hides more
        mapping = None
    if mapping is not None and mapping.domain == domain:
        columns |= mapping.columns
        columns[mapping.record_id] = "source_record_id"
        public = mapping.public_columns
    out = dict(columns)
    out |= {col: _SHOW for col in public if col not in columns}
    with _lock:
        _plans[(domain, source)] = out
    return out


def forget_plans() -> None:
    """Re-read mappings on next use (tests that write their own rules directory)."""
    with _lock:
        _plans.clear()


def mask_raw(domain: str | Sensitivity, member: dict[str, Any], unmasked: bool) -> dict[str, Any] | str | None:
    """The member record's raw row (JSON text in `member["raw"]`) as the caller may see it."""
    raw = member.get("raw")
    if raw is None:
        return None
    try:
        row = orjson.loads(raw)
    except (TypeError, ValueError):
        row = None
    if unmasked:
        return row if row is not None else raw
    if not isinstance(row, dict):
        return None  # not a row of columns: nothing says what it holds
    sense = rules(domain)
    columns = plan(sense.domain, str(member.get("source")))
    forms = sense.forms
    repeats = sense.repeats(member)
    out: dict[str, Any] = {}
    for col, value in row.items():
        field = columns.get(col)
        if field is None:
            continue
        if field in repeats and value is not None:
            out[col] = stars(value)
            continue
        if field not in forms or value is None:
            out[col] = value
            continue
        form = forms[field]
        if form == HIDE:
            continue
        standard = member.get(field)
        test = sense.conditions.get(field)
        if test is not None and not test(standard if standard is not None else value):
            out[col] = value
        else:
            out[col] = FORMS[form](standard) if standard is not None else stars(value)
    return out
