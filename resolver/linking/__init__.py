"""Probabilistic linking of source records into entities, driven by rule files.

    rules = load_rules("enterprise")                  # matching_rules/enterprise/*.yaml
    model = train_model(records, rules, labels=None)  # versioned model JSON
    pairs = predict_pairs(records, model)             # match probability + mw_<comparison>
    clusters, report = cluster_with_constraints(records, pairs, rules.clustering)
    metrics = evaluate(clusters, truth_members, records, pairs)
"""

from resolver.linking.cluster import cluster_with_constraints, constraint_violations
from resolver.linking.evaluate import evaluate
from resolver.linking.model import (
    DegenerateModelError,
    LinkModel,
    load_model,
    publish_model,
    published_model,
    save_model,
)
from resolver.linking.predict import predict_pairs
from resolver.linking.rules import RuleSet, load_rules
from resolver.linking.train import train_model

__all__ = [
    "DegenerateModelError", "LinkModel", "RuleSet", "cluster_with_constraints",
    "constraint_violations", "evaluate", "load_model", "load_rules", "predict_pairs",
    "publish_model", "published_model", "save_model", "train_model",
]
