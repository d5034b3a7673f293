"""The `resolver` command. Each verb lives in a module of this package and registers on `app`."""

# Importing the modules registers their commands on `app`, in the order `--help` lists them.
from resolver.cli import admin, data, demo, inventory, link, model, review, serve, unregistered, verify  # noqa: F401
from resolver.cli.app import app, main

__all__ = ["app", "main"]
