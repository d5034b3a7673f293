"""The `resolver` command. Each verb lives in a module of this package and registers on `app`."""

from resolver.cli.app import app, main

__all__ = ["app", "main"]
