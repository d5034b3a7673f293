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
# # 04 · Tune the person rules
#
# Notebooks 02 and 03 for people (`matching_rules/person/`): police 户籍, social security,
# civil affairs and housing fund records. The resident ID decides most pairs; the work is in
# records whose ID is missing, 15 digits old or mistyped, where name (exact, same pinyin, one
# character apart), birth date and address must carry the match.

# %%
import logging

import nbcharts
import pandas as pd

from resolver.analysis.sample import sample_store
from resolver.analysis.thresholds import best_threshold, threshold_sweep
from resolver.demo import SAMPLE
from resolver.engine import Resolver

DOMAIN = "person"
THRESHOLDS = [0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999]
for name in ("splink", "splink.internals"):
    logging.getLogger(name).setLevel(logging.ERROR)
OUT = nbcharts.output_dir("04_tune_person")
store = sample_store(OUT / "master.duckdb", SAMPLE, [DOMAIN], OUT.parent / "_cache")
resolver = Resolver(store, DOMAIN)  # the rule files of matching_rules/person/
records = resolver.records()
rules = resolver.rules
truth = pd.read_csv(SAMPLE / "truth_members.csv", dtype=str)
truth = truth[truth["domain"] == DOMAIN]
print(f"{len(records)} {DOMAIN} source records; rule files {rules.path}")

# %% [markdown]
# ## Blocking analysis (`blocking.yaml`)

# %%
blocking = resolver.blocking_stats()
blocking.to_csv(OUT / "blocking.csv", index=False)
nbcharts.blocking_pairs(blocking, f"{DOMAIN}: candidate pairs per blocking key", OUT / "blocking_pairs.png")
blocking

# %% [markdown]
# ## Train (`training.yaml`) and look at the weights (`comparisons.yaml`)

# %%
model = resolver.train(out_dir=OUT / "models")
print(f"model version {model.version} -> {model.path}")
params = pd.DataFrame(model.level_parameters())
params.to_csv(OUT / "level_parameters.csv", index=False)
nbcharts.level_weights(params, f"{DOMAIN}: match weight per comparison level", OUT / "level_weights.png")

linker = resolver.splink_linker(model, retain_matching_columns=True)  # Splink's charts
linker.visualisations.match_weights_chart().save(OUT / "match_weights.html")
linker.visualisations.m_u_parameters_chart().save(OUT / "m_u_parameters.html")
params.round(4)

# %% [markdown]
# ## A borderline pair and the comparison viewer

# %%
threshold = float(rules.clustering["match_probability_threshold"])
df_predict = linker.inference.predict(threshold_match_probability=float(rules.clustering["predict_threshold"]))
scored = df_predict.as_pandas_dataframe()
pair = scored.loc[[(scored["match_probability"] - threshold).abs().idxmin()]]
linker.visualisations.waterfall_chart(pair.to_dict("records"), filter_nulls=False).save(OUT / "waterfall.html")
linker.visualisations.comparison_viewer_dashboard(df_predict, str(OUT / "comparison_viewer.html"),
                                                  overwrite=True, num_example_rows=2)
show = [c for c in ("unique_id", "name", "id_number", "birth_date", "phone") if f"{c}_l" in pair]
pd.DataFrame({c: [pair[f"{c}_l"].iloc[0], pair[f"{c}_r"].iloc[0]] for c in show},
             index=["left", "right"]).assign(match_probability=pair["match_probability"].iloc[0])

# %% [markdown]
# ## Precision and recall over thresholds (`clustering.yaml`)

# %%
linkage = resolver.link(model, threshold=min(THRESHOLDS))  # pairs down to the lowest threshold swept
pairs = linkage.pairs
sweep = threshold_sweep(records, pairs, truth, rules.clustering, THRESHOLDS)
sweep.to_csv(OUT / "threshold_sweep.csv", index=False)
nbcharts.threshold_curves(sweep, threshold, f"{DOMAIN}: clustering quality by threshold",
                          OUT / "threshold_curves.png")
print(f"best pairwise F1 at {best_threshold(sweep)}; clustering.yaml has {threshold}")
sweep.round(4)

# %% [markdown]
# ## The worst errors, with the weight of each comparison

# %%
result = resolver.evaluate(truth, clusters=linkage, worst=8)
nbcharts.error_weights(result["false_merges"], f"{DOMAIN}: worst false merges", OUT / "false_merges.png")
nbcharts.error_weights(result["missed_links"], f"{DOMAIN}: worst missed links", OUT / "missed_links.png")
worst = pd.concat([pd.DataFrame(result[k]).assign(error=k)
                   for k in ("false_merges", "missed_links", "missed_not_kept") if result[k]]
                  or [pd.DataFrame(columns=["error", "match_probability", "record_l", "record_r"])],
                  ignore_index=True)
worst.to_csv(OUT / "worst_errors.csv", index=False)
pd.set_option("display.max_colwidth", 200)
worst[[c for c in ("error", "match_probability", "record_l", "record_r") if c in worst]]

# %%
store.close()
