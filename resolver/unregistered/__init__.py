"""漏管户 detection: businesses that operate but never registered for tax (issue 6)."""

from resolver.unregistered.detect import LISTS, find_unregistered, unregistered_evidence
from resolver.unregistered.rules import UnregisteredRules, load_rules

__all__ = ["LISTS", "UnregisteredRules", "find_unregistered", "load_rules", "unregistered_evidence"]
