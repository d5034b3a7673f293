"""The linking input table now lives with the engines (resolver.engines.inputs), which sit
below linking; these names stay importable from here for callers written before the move."""

from resolver.engines.inputs import KeyStats, connect, key_expression, prepare_input, to_arrow

__all__ = ["KeyStats", "connect", "key_expression", "prepare_input", "to_arrow"]
