"""The `resolver` command. Each verb lives in a module of this package and registers on `app`."""

# Importing the modules registers their commands on `app`, in the order `--help` lists them.
from resolver.cli import (  # noqa: F401
    admin,
    data,
    demo,
    inventory,
    link,
    model,
    review,
    serve,
    unregistered,
    verify,
)
from resolver.cli.app import app, main

__all__ = ["app", "main"]
