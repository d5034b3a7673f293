# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 · Profile the sources
#
# Before tuning a match rule, know what each department actually sends: which canonical
# fields are filled, and how many identifiers pass their check character (an invalid USCC or
# resident ID is kept but flagged, and weighs less in matching). Then look at what ingest
# refuses: rows land in **quarantine** with file, row, field and reason.
#
# Builds its own master store from `fixtures/sample` in the output directory
# (`$RESOLVER_NOTEBOOK_OUT/01_profile_sources/`, default `out/notebooks/…`).

# %%
import json

import nbcharts
import pandas as pd

from resolver.analysis.profile import field_profile, quarantine_summary
from resolver.demo import SAMPLE, ingest_fixtures
from resolver.ingest import ingest_file
from resolver.mapping import load_mapping
from resolver.paths import rules_dir
from resolver.rules import DomainRules
from resolver.store import open_store

OUT = nbcharts.output_dir("01_profile_sources")
DB = OUT / "master.duckdb"
for stale in (DB, DB.with_suffix(".duckdb.wal")):
    stale.unlink(missing_ok=True)
store = open_store(DB)
ingest_fixtures(store, SAMPLE, print)

# %% [markdown]
# ## Completeness per source and field
#
# `present` is the share of a source's records with a value. Grey cells in the table below
# (`mapped = False`) are fields the department never sends: missing by design, not by
# neglect. Besides the canonical fields, the derived fields the linker reads (core name,
# district code, pinyin…) are profiled: a blocking key on an empty field finds nothing.

# %%
manifest = json.loads((SAMPLE / "manifest.json").read_text(encoding="utf-8"))
profiles = {}
for domain in ("enterprise", "person"):
    records = store.load_records(domain)
    sources = sorted(records["source"].unique())
    mapped = {s: load_mapping(rules_dir() / "sources" / f"{s}.yaml").canonical_fields() for s in sources}
    rules = DomainRules.load(domain)
    fields = rules.schema.canonical_fields()
    derived = sorted(c for c in rules.linking.columns_used() if c not in fields and not c.endswith("_valid"))
    prof = field_profile(records, [*fields, *derived], mapped)
    profiles[domain] = prof
    prof.to_csv(OUT / f"profile_{domain}.csv", index=False)
    present = prof.pivot(index="source", columns="field", values="present")[prof["field"].unique()]
    nbcharts.share_heatmap(present, f"{domain}: share of records with a value",
                           OUT / f"completeness_{domain}.png")
profiles["enterprise"].query("mapped and present < 0.9").sort_values("present").head(12)

# %% [markdown]
# ## Identifier validity
#
# Share of *present* identifiers whose check character passes (GB 32100 USCC, GB 11714
# organisation code, MOD 11,10 registration number, GB 11643 resident ID, phone syntax).
# A source with many invalid codes is one whose `when_valid` levels in `comparisons.yaml`
# rarely fire: its records lean on names and addresses instead.

# %%
for domain, prof in profiles.items():
    valid = prof.dropna(subset=["valid"]).pivot(index="source", columns="field", values="valid")
    nbcharts.share_heatmap(valid, f"{domain}: share of present identifiers that pass their check",
                           OUT / f"validity_{domain}.png")
    print(f"{domain}:\n{(valid * 100).round(1).to_string(na_rep='–')}\n")

# %% [markdown]
# ## Standardization flags
#
# `std_flags` lists what standardization noticed on each record (`uscc_invalid`,
# `org_code_conflict`, `id_sex_mismatch` …; see `docs/columns.md`).

# %%
flag_counts = []
for domain in ("enterprise", "person"):
    records = store.load_records(domain)
    flags = records.assign(flag=records["std_flags"].fillna("").str.split(";")).explode("flag")
    flags = flags[flags["flag"] != ""]
    flags["flag"] = flags["flag"].str.split(":").str[0]
    flag_counts.append(flags.groupby(["source", "flag"]).size().rename("records").reset_index())
flag_counts = pd.concat(flag_counts, ignore_index=True).sort_values("records", ascending=False)
top = flag_counts.head(20).set_index(flag_counts.head(20)["source"] + " · " + flag_counts.head(20)["flag"])
nbcharts.barh(top["records"], "standardization flags (top 20)", "records", OUT / "std_flags.png")
flag_counts.head(20)

# %% [markdown]
# ## Quarantine
#
# The sample is clean, so we make a deliberately broken copy of the tax export (same
# GB18030 encoding and title line): a row without a record id, a duplicated record id, an
# unreadable registration date and a row with a field missing. Ingest loads what it can and
# quarantines the rest, each row with the reason.

# %%
entry = next(e for e in manifest["files"] if e["source"] == "tax")
lines = (SAMPLE / entry["file"]).read_text(encoding=entry["encoding"]).splitlines()
title, header, rows = lines[0], lines[1], lines[2:42]
columns = header.split(",")
broken = [r.split(",") for r in rows]
broken[0][columns.index("记录编号")] = ""                  # no record id
broken[2][columns.index("记录编号")] = broken[1][columns.index("记录编号")]  # duplicate id
broken[3][columns.index("登记日期")] = "2021/13/45"        # no such date
broken[4] = broken[4][:-1]                               # one field short
bad_file = OUT / "tax_taxpayers_broken.csv"
bad_file.write_text("\n".join([title, header, *(",".join(r) for r in broken)]) + "\n",
                    encoding=entry["encoding"])
counts = ingest_file(store, rules_dir() / "sources" / "tax.yaml", bad_file)
print(counts)

# %%
quarantine = store.quarantine()
summary = quarantine_summary(quarantine)
summary.to_csv(OUT / "quarantine_summary.csv", index=False)
labels = summary["file"] + " · " + summary["field"].fillna("(row)") + " · " + summary["reason_kind"]
nbcharts.barh(summary.set_index(labels)["rows"], "quarantined rows by reason", "rows",
              OUT / "quarantine_reasons.png")
quarantine[["source", "file", "row_number", "field", "reason"]]

# %%
store.close()
