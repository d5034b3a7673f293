"""Pure standardization layer: turns raw source values into canonical and derived columns."""

from resolver.standardize.one import standardize_one
from resolver.standardize.records import standardize_records
from resolver.standardize.tokens import NameTokenizer, build_trade_name_dictionary

__all__ = ["NameTokenizer", "build_trade_name_dictionary", "standardize_one", "standardize_records"]
