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
# # 02 · Tune the enterprise rules
#
# The loop an analyst runs after editing `matching_rules/enterprise/*.yaml`:
#
# 1. **blocking**: how many candidate pairs each key of `blocking.yaml` yields, and what the
#    `max_block_size` cap keeps out;
# 2. **train** with `training.yaml` (u by random sampling, m by EM) — a degenerate model is
#    refused with the comparison and level named;
# 3. **match weights and m/u** per comparison level of `comparisons.yaml`;
# 4. a **waterfall** for a borderline pair, and Splink's **comparison viewer** over all scored pairs.
#
# The model is saved under the output directory (`…/02_tune_enterprise/models/`), never
# into `matching_rules/`; notebook 05 publishes.

# %%
import logging

import nbcharts
import pandas as pd

from resolver.analysis.sample import sample_store
from resolver.demo import SAMPLE
from resolver.engine import Resolver

DOMAIN = "enterprise"
for name in ("splink", "splink.internals"):
    logging.getLogger(name).setLevel(logging.ERROR)
OUT = nbcharts.output_dir("02_tune_enterprise")
# a fresh store of the sample's enterprise records (ingested once per output dir, then copied)
store = sample_store(OUT / "master.duckdb", SAMPLE, [DOMAIN], OUT.parent / "_cache")
resolver = Resolver(store, DOMAIN)  # the rule files of matching_rules/enterprise/
records = resolver.records()
rules = resolver.rules
print(f"{len(records)} {DOMAIN} source records; rule files {rules.path} (hash {rules.rules_hash[:8]})")

# %% [markdown]
# ## Blocking analysis
#
# One row per key of `blocking.yaml`: records that carry the key, blocks, candidate pairs
# with the cap, and pairs the key would make without it. A key whose `pairs_without_cap`
# dwarfs `pairs` is capping out agency phones or 王伟-style names; a key with few pairs and
# few records keyed is cheap but may be finding little.

# %%
blocking = resolver.blocking_stats()
blocking.to_csv(OUT / "blocking.csv", index=False)
nbcharts.blocking_pairs(blocking, f"{DOMAIN}: candidate pairs per blocking key", OUT / "blocking_pairs.png")
print(f"candidate pairs (sum over keys, before de-duplication): {blocking['pairs'].sum():,}")
blocking

# %% [markdown]
# ## Train
#
# EM runs once per `em_rules` entry of `training.yaml`; a rule that does not converge is left
# out. Every level ends up trained or with the fallback of `training.yaml` (an identifier
# level with m <= u, a level never seen); `model.metadata["levels"]` says which and why.

# %%
model = resolver.train(out_dir=OUT / "models")
print(f"model version {model.version} -> {model.path}")
print(pd.DataFrame(model.metadata["em"]).to_string())
pd.DataFrame(model.metadata["levels"])

# %% [markdown]
# ## Match weights and m / u per level
#
# The match weight of a level is log2(m/u): how much more often the level is seen among true
# matches than among random pairs. Green bars are evidence for a match, red against.

# %%
params = pd.DataFrame(model.level_parameters())
params.to_csv(OUT / "level_parameters.csv", index=False)
nbcharts.level_weights(params, f"{DOMAIN}: match weight per comparison level", OUT / "level_weights.png")

# Splink's own Linker for its charts; the waterfall and the viewer show the values
linker = resolver.splink_linker(model, retain_matching_columns=True)
linker.visualisations.match_weights_chart().save(OUT / "match_weights.html")
linker.visualisations.m_u_parameters_chart().save(OUT / "m_u_parameters.html")
params.round(4)

# %% [markdown]
# ## A borderline pair, as a waterfall
#
# The scored pair closest to the clustering threshold (`clustering.yaml`
# `match_probability_threshold`): each bar is one comparison's contribution to its match weight.

# %%
threshold = float(rules.clustering["match_probability_threshold"])
df_predict = linker.inference.predict(threshold_match_probability=float(rules.clustering["predict_threshold"]))
scored = df_predict.as_pandas_dataframe()
pick = (scored["match_probability"] - threshold).abs().idxmin()
pair = scored.loc[[pick]]
linker.visualisations.waterfall_chart(pair.to_dict("records"), filter_nulls=False).save(OUT / "waterfall.html")
show = [c for c in ("unique_id", "name", "uscc", "legal_rep", "address", "phone") if f"{c}_l" in pair]
pd.DataFrame({c: [pair[f"{c}_l"].iloc[0], pair[f"{c}_r"].iloc[0]] for c in show},
             index=["left", "right"]).assign(match_probability=pair["match_probability"].iloc[0])

# %% [markdown]
# ## Comparison viewer
#
# Splink's dashboard of every comparison vector (which level each comparison took) with
# example pairs: open `comparison_viewer.html` in a browser.

# %%
linker.visualisations.comparison_viewer_dashboard(df_predict, str(OUT / "comparison_viewer.html"),
                                                  overwrite=True, num_example_rows=2)
print(f"{len(scored):,} scored pairs; viewer at {OUT / 'comparison_viewer.html'}")

# %%
store.close()
