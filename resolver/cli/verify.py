"""`resolver verify`: the 协查 check for a batch of applicants, written as an XLSX to file."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated, Any

import typer

from resolver.cli.app import app, existing_store


@app.command()
def verify(
    db: Annotated[Path, typer.Option("--db", help="Master store (DuckDB file) after `resolver resolve` of both domains.")],
    applicants: Annotated[Path, typer.Option("--applicants", help="Applicants, .xlsx or .csv: an ID number column "
                                             "(身份证号), or 姓名 with 出生日期 (relations.yaml `applicants`).")],
    out: Annotated[Path, typer.Option("--out", help="The answer as .xlsx: cover sheet, one row per item held, "
                                      "the rows that could not be checked.")],
    operator: Annotated[str | None, typer.Option("--operator", help="Who runs the check, named on the cover "
                                                 "sheet and in the audit log (default: the login name).")] = None,
    pii: Annotated[bool, typer.Option("--pii", help="Show ID numbers and phones in full (default: masked).")] = False,
) -> None:
    """What each department holds about each applicant (协查): enterprises represented or operated,
    insured employment, housing fund, household registration; one audit row per applicant."""
    from resolver.access.access_store import open_access
    from resolver.access.audit import write_audit
    from resolver.relations.batch import verify_batch
    from resolver.store import open_store

    who = operator or getpass.getuser()
    access = open_access(existing_store(db))  # before the store: a first open migrates from it
    store = open_store(db, read_only=True)

    def audit(query: dict[str, Any], returned: list[str]) -> None:
        write_audit(access, key_id=None, department=who, endpoint="CLI verify", query=query,
                    returned_ids=returned, status=200)
    try:
        outcome = verify_batch(store, applicants, out, who, pii, audit)
    finally:
        store.close()
    typer.echo(f"{out}: {outcome.found} of {outcome.applicants} applicants checked against "
               f"{len(outcome.departments)} departments ({'、'.join(outcome.departments)})")
    for problem in outcome.problems:
        typer.echo(f"{applicants}: row {problem.row}, column {problem.column}: {problem.reason}", err=True)
    if outcome.problems:
        from resolver.errors import InputError

        raise InputError(f"{len(outcome.problems)} applicant row(s) could not be checked; they are listed "
                         f"in the sheet 无法核查 of {out}")
