"""The data steward's review: the queue of pairs to decide (`review_queue`) and the decisions
(`record_decision`, `list_decisions`) that resolve, train and evaluate then use."""

from resolver.review.decisions import (
    decision_labels,
    decision_links,
    list_decisions,
    record_decision,
)
from resolver.review.queue import review_queue

__all__ = ["decision_labels", "decision_links", "list_decisions", "record_decision", "review_queue"]
