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
# # 05 · Publish a new model version
#
# A rule edit is only done when its consequences are known. This notebook:
#
# 1. resolves the sample with the **current** model (the one notebook 02 trained from the
#    rule files as they are, or a fresh one) — the state a running service would be in;
# 2. trains a **candidate** from edited rule files (here: a copy of `matching_rules/enterprise/`
#    in the output directory with a name similarity level and the clustering threshold
#    tightened — replace `edit_rules` with your own change, or point `RULES_ROOT` at your
#    edited tree);
# 3. shows what changed: **parameters** (m, u, match weight of every level) and **entities
#    that would merge or split**, scored against the truth;
# 4. **publishes**: registers the version in the store and resolves with it, which keeps
#    master IDs stable and writes every merge / split to `entity_history`.
#
# Models are written under the output directory, never into `matching_rules/`.

# %%
import logging
import shutil

import nbcharts
import pandas as pd
import yaml

from resolver.analysis.compare import compare_memberships, parameter_changes
from resolver.analysis.models import matching_model
from resolver.analysis.sample import sample_store
from resolver.demo import SAMPLE
from resolver.engine import Resolver
from resolver.rules import DomainRules

DOMAIN = "enterprise"
for name in ("splink", "splink.internals"):
    logging.getLogger(name).setLevel(logging.ERROR)
OUT = nbcharts.output_dir("05_publish")
store = sample_store(OUT / "master.duckdb", SAMPLE, [DOMAIN], OUT.parent / "_cache")
resolver = Resolver(store, DOMAIN)  # the current rule files
records = resolver.records()
truth = pd.read_csv(SAMPLE / "truth_members.csv", dtype=str)
truth = truth[truth["domain"] == DOMAIN]

# %% [markdown]
# ## 1. The current model and resolution

# %%
current_rules = resolver.rules
current = matching_model(OUT.parent / "02_tune_enterprise" / "models", current_rules.linking, records)
if current is None or "survivorship" not in current.metadata:  # survivorship travels with the version
    current = resolver.train(out_dir=OUT / "models")
resolver.publish(current)  # the model JSON goes into the store
for line in resolver.resolve().lines():
    print(line)
print("current model:", store.latest_model(DOMAIN)[0])


# %% [markdown]
# ## 2. A candidate from edited rule files

# %%
def edit_rules(folder):
    """The analyst's change: a stricter name similarity level, and a stricter clustering
    threshold (0.9 -> 0.95: notebook 03 shows what that costs in recall)."""
    path = folder / "comparisons.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    name = next(c for c in doc["comparisons"] if c["name"] == "name")
    level = next(lv for lv in name["levels"] if lv["kind"] in ("jaro_winkler", "array_jaccard"))
    before = level["threshold"]
    level["threshold"] = round(min(0.99, before + 0.06), 2)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    cpath = folder / "clustering.yaml"
    clustering = yaml.safe_load(cpath.read_text(encoding="utf-8"))
    old_threshold = clustering["match_probability_threshold"]
    clustering["match_probability_threshold"] = max(old_threshold, 0.95)
    cpath.write_text(yaml.safe_dump(clustering, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return (f"name level '{level.get('label')}': threshold {before} -> {level['threshold']}; "
            f"clustering threshold {old_threshold} -> {clustering['match_probability_threshold']}")


RULES_ROOT = OUT / "rules"
shutil.rmtree(RULES_ROOT, ignore_errors=True)
shutil.copytree(current_rules.path, RULES_ROOT / DOMAIN, ignore=shutil.ignore_patterns("models"))
print(edit_rules(RULES_ROOT / DOMAIN))
candidate_rules = DomainRules.load(DOMAIN, RULES_ROOT)
candidate_resolver = Resolver(store, DOMAIN, candidate_rules)
candidate = candidate_resolver.train(out_dir=OUT / "models")
print(f"candidate {candidate.version} -> {candidate.path}")

# %% [markdown]
# ## 3. What changes
#
# ### Parameters
# Levels matched by comparison and label; the largest change in match weight first.

# %%
diff = parameter_changes(current.settings, candidate.settings)
diff.to_csv(OUT / "parameter_changes.csv", index=False)
top = diff.dropna(subset=["weight_change"]).head(15)
nbcharts.barh(top.set_index(top["comparison"] + ": " + top["label"].astype(str))["weight_change"],
              "match weight change, candidate minus current", "Δ match weight",
              OUT / "weight_changes.png")
diff.head(15).round(4)

# %% [markdown]
# ### Entities that would merge or split
# The store's current membership (master IDs) against the candidate's clustering of the same
# records. Every merge or split is listed with the names of its records.

# %%
candidate_linkage = candidate_resolver.link(candidate)  # scored and clustered, nothing written
candidate_clusters = candidate_linkage.clusters
changes = compare_memberships(store.membership(DOMAIN), candidate_clusters)
names = records.set_index("unique_id")["name"]
members = candidate_clusters.groupby("cluster_id")["unique_id"].agg(list)
current_members = store.membership(DOMAIN).groupby("entity_id")["unique_id"].agg(list)
merges = changes.merges.assign(names=[sorted({str(names.get(u)) for u in members[a]})
                                      for a in changes.merges["after"]])
splits = changes.splits.assign(names=[sorted({str(names.get(u)) for u in current_members[b]})
                                      for b in changes.splits["before"]])
merges.to_csv(OUT / "merges.csv", index=False)
splits.to_csv(OUT / "splits.csv", index=False)
quality = pd.DataFrame({
    "current": resolver.evaluate(truth)["pairwise"],
    "candidate": resolver.evaluate(truth, clusters=candidate_clusters)["pairwise"],
}).T[["precision", "recall", "f1"]]
counts = pd.Series({k: changes.summary[k] for k in ("unchanged", "merges", "splits")})
nbcharts.barh(counts, f"entities: current {changes.summary['entities_before']} -> candidate "
              f"{changes.summary['entities_after']}", "entities", OUT / "membership_changes.png")
print(changes.summary)
quality.round(5)

# %%
pd.set_option("display.max_colwidth", 200)
pd.concat([merges.assign(change="merge"), splits.assign(change="split")], ignore_index=True).head(20)

# %% [markdown]
# ## 4. Publish
#
# Only when the change is wanted (quality not worse, merges and splits understood). The
# store keeps master IDs stable across the new resolution and records why each changed.

# %%
if quality.loc["candidate", "f1"] >= quality.loc["current", "f1"] - 0.001:
    candidate_resolver.publish(candidate)
    for line in candidate_resolver.resolve(candidate.version).lines():
        print(line)
else:
    print("candidate is worse against the labels: not published")
print("published model:", store.latest_model(DOMAIN)[0])
history = store.history(DOMAIN)
history.to_csv(OUT / "entity_history.csv", index=False)
history.groupby(["model_version", "event"]).size().rename("events").reset_index()

# %%
store.close()
