"""What the job tests share (imported by name: every test folder has a conftest)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "fixtures" / "sample"
SOURCES = ROOT / "matching_rules" / "sources"
FIRST_HALF = {"tax": "tax_taxpayers.csv", "commerce": "commerce_registry.csv"}
SECOND_HALF = {"statistics": "statistics_units.csv", "quality": "quality_inspections.xlsx"}


def cli(*args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`resolver ARGS` as a user runs it, from `cwd`."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "resolver", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=600)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    """The stdout of a command that must succeed."""
    assert result.returncode == 0, f"exit {result.returncode}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return result.stdout
