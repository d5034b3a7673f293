"""`resolver model show|diff`: the published model of a domain, level by level, and what
changed between two model versions."""

from __future__ import annotations

from typing import Annotated

import typer

from resolver.cli.app import app
from resolver.cli.link import DbOption, DomainOption

model_app = typer.Typer(help="The published linking model: show its levels, diff two versions.",
                        no_args_is_help=True)
app.add_typer(model_app, name="model")


@model_app.command("show")
def show(
    db: DbOption,
    domain: DomainOption,
    version: Annotated[str | None, typer.Option("--version", help="A model version (default: the latest).")] = None,
) -> None:
    """Every comparison level of the published model: m, u, match weight, pairs observed in
    training, trained or fallback (and why), with the warnings training gave."""
    from resolver.engine import Resolver
    from resolver.linking.report import show_lines
    from resolver.store import open_store

    store = open_store(db, read_only=True)
    try:
        model = Resolver(store, domain).model(version)
    finally:
        store.close()
    for line in show_lines(model):
        typer.echo(line)


@model_app.command("diff")
def diff(
    db: DbOption,
    domain: DomainOption,
    versions: Annotated[list[str] | None, typer.Argument(
        help="Two model versions, older first (default: the two latest).")] = None,
) -> None:
    """What changed between two model versions: rules, thresholds, prior, and every level whose
    m, u, match weight or trained/fallback status moved."""
    from resolver.engine import Resolver
    from resolver.errors import InputError, NotFoundError
    from resolver.linking.report import diff_lines
    from resolver.store import open_store

    store = open_store(db, read_only=True)
    try:
        if versions:
            if len(versions) != 2:
                raise InputError(f"model diff takes two versions, got {len(versions)}")
            pair = versions
        else:
            known = store.model_versions(domain)
            if len(known) < 2:
                raise NotFoundError(f"{db}: {len(known)} {domain} model version(s) published; a diff needs two")
            pair = known[-2:]
        resolver = Resolver(store, domain)
        before, after = (resolver.model(v) for v in pair)
    finally:
        store.close()
    for line in diff_lines(before, after):
        typer.echo(line)
