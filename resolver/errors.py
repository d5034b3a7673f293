"""Exceptions the product raises on purpose. Each maps to one CLI message and one HTTP status."""


class ResolverError(Exception):
    """Base class: a failure with a one-line reason for a human."""


class ConfigError(ResolverError):
    """A rule or mapping file is wrong. The message names the file and every bad key."""

    def __init__(self, path: str, problems: list[str]):
        self.path = path
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{path}: {len(problems)} problem(s)\n{lines}")


class InputError(ResolverError):
    """An input file cannot be read at all (missing, wrong format, undecodable)."""


class NotFoundError(ResolverError):
    """A requested entity, model version or key does not exist."""


class ModelMissingError(ResolverError):
    """A registered model version whose JSON is neither in the store nor at its registered path
    (a store from before models were kept inside it, moved without its model files)."""
