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
# # 03 · Choose the enterprise threshold against labels
#
# The sample's generator knows the truth (`fixtures/sample/truth_members.csv`: which source
# records are one enterprise). Here the trained model scores candidate pairs once, then the
# clustering (hard constraints included) is re-run at each match probability threshold and
# scored: **pairwise** precision / recall / F1 (pairs of records put together) and **B-cubed**
# (per record, less dominated by big entities). Then the worst errors at the configured
# threshold, each with the match weight every comparison gave it: the place to look for
# the rule to change.

# %%
import logging

import nbcharts
import pandas as pd

from resolver.analysis.models import matching_model
from resolver.analysis.sample import sample_store
from resolver.analysis.thresholds import best_threshold, threshold_sweep
from resolver.demo import SAMPLE
from resolver.engine import Resolver

DOMAIN = "enterprise"
THRESHOLDS = [0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999]
for name in ("splink", "splink.internals"):
    logging.getLogger(name).setLevel(logging.ERROR)
OUT = nbcharts.output_dir("03_threshold_evaluation")
store = sample_store(OUT / "master.duckdb", SAMPLE, [DOMAIN], OUT.parent / "_cache")
resolver = Resolver(store, DOMAIN)
records = resolver.records()
rules = resolver.rules
truth = pd.read_csv(SAMPLE / "truth_members.csv", dtype=str)
truth = truth[truth["domain"] == DOMAIN]

# reuse the model notebook 02 trained on these records with these rule files, else train
model = matching_model(OUT.parent / "02_tune_enterprise" / "models", rules.linking, records)
if model is None:
    model = resolver.train(out_dir=OUT / "models")
print(f"model version {model.version}")
linkage = resolver.link(model, threshold=min(THRESHOLDS))  # pairs down to the lowest threshold swept
pairs = linkage.pairs
print(f"{len(pairs):,} pairs scored at or above {min(THRESHOLDS)}")

# %% [markdown]
# ## Precision and recall over thresholds

# %%
sweep = threshold_sweep(records, pairs, truth, rules.clustering, THRESHOLDS)
sweep.to_csv(OUT / "threshold_sweep.csv", index=False)
configured = float(rules.clustering["match_probability_threshold"])
nbcharts.threshold_curves(sweep, configured, f"{DOMAIN}: clustering quality by threshold",
                          OUT / "threshold_curves.png")
print(f"best pairwise F1 at {best_threshold(sweep)}; clustering.yaml has {configured}")
sweep.round(4)

# %% [markdown]
# ## The worst errors at the configured threshold
#
# - **false merges**: records of two enterprises put in one entity, highest probability first;
# - **missed links**: records of one enterprise scored as a pair but left apart (below the
#   threshold, or refused by a hard constraint);
# - **never kept**: records of one enterprise that no blocking key brought together, or
#   scored below `predict_threshold` — a blocking problem, not a weights problem.
#
# The `mw_<comparison>` columns are each comparison's match weight for the pair: a false merge
# carried by `name` and `address` alone, say, asks for a stronger disagreement level.

# %%
result = resolver.evaluate(truth, clusters=linkage, worst=8)
print(f"pairwise {result['pairwise']['precision']:.4f} P / {result['pairwise']['recall']:.4f} R; "
      f"refused unions: {linkage.report['refused_by_constraint']}")
nbcharts.error_weights(result["false_merges"], f"{DOMAIN}: worst false merges, weight per comparison",
                       OUT / "false_merges.png")
nbcharts.error_weights(result["missed_links"], f"{DOMAIN}: worst missed links, weight per comparison",
                       OUT / "missed_links.png")
worst = pd.concat([pd.DataFrame(result[k]).assign(error=k)
                   for k in ("false_merges", "missed_links", "missed_not_kept") if result[k]]
                  or [pd.DataFrame(columns=["error", "match_probability", "record_l", "record_r"])],
                  ignore_index=True)
worst.to_csv(OUT / "worst_errors.csv", index=False)
cols = ["error", "match_probability", "record_l", "record_r"]
pd.set_option("display.max_colwidth", 200)
worst[[c for c in cols if c in worst]]

# %% [markdown]
# ## Which pairs of sources are hard
#
# Pairwise F1 per pair of departments (tax–commerce, commerce–quality …): a weak pair points
# at the mapping or the standardization of one source, not at the weights.

# %%
per_pair = pd.DataFrame(result["per_source_pair"]).set_index("sources")
nbcharts.barh(per_pair["f1"].sort_values(), f"{DOMAIN}: pairwise F1 per source pair", "F1",
              OUT / "per_source_pair.png")
per_pair.round(4)

# %%
store.close()
