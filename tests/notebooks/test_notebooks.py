"""Every analyst notebook runs top to bottom on the committed sample and writes its charts.

Notebooks are jupytext percent-format `.py` files in `notebooks/`; each is converted with
jupytext and executed by nbclient on a python3 kernel (ipykernel from this venv), with
`RESOLVER_NOTEBOOK_OUT` pointing at a temporary directory — or at the directory that
variable already names (made absolute), which is how `make notebooks` keeps the output.
A failing cell fails the test with the cell's traceback. The executed `.ipynb` is kept
beside the charts.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import jupytext  # dev extra: a missing install fails the suite instead of skipping it
import nbclient
import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"

# notebook -> files it must write into $RESOLVER_NOTEBOOK_OUT/<notebook>/
EXPECTED = {
    "01_profile_sources": [
        "completeness_enterprise.png", "completeness_person.png", "validity_enterprise.png",
        "validity_person.png", "std_flags.png", "quarantine_reasons.png",
        "profile_enterprise.csv", "quarantine_summary.csv",
    ],
    "02_tune_enterprise": [
        "blocking_pairs.png", "level_weights.png", "match_weights.html", "m_u_parameters.html",
        "waterfall.html", "comparison_viewer.html", "level_parameters.csv",
    ],
    "03_threshold_evaluation": [
        "threshold_curves.png", "threshold_sweep.csv", "false_merges.png", "missed_links.png",
        "worst_errors.csv", "per_source_pair.png",
    ],
    "04_tune_person": [
        "blocking_pairs.png", "level_weights.png", "match_weights.html", "m_u_parameters.html",
        "waterfall.html", "comparison_viewer.html", "threshold_curves.png",
        "threshold_sweep.csv", "false_merges.png", "missed_links.png",
    ],
    "05_publish": [
        "weight_changes.png", "parameter_changes.csv", "membership_changes.png",
        "merges.csv", "splits.csv", "entity_history.csv",
    ],
}


def test_every_notebook_is_listed():
    assert sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.py")) == sorted(EXPECTED)


@pytest.fixture(scope="module")
def out_base(tmp_path_factory):
    # one base for all notebooks: 03 and 05 may reuse 02's model, all share the ingest cache
    given = os.environ.get("RESOLVER_NOTEBOOK_OUT")
    if given:
        base = Path(given).resolve()
        base.mkdir(parents=True, exist_ok=True)
        return base
    return tmp_path_factory.mktemp("notebooks")


# Each notebook trains or evaluates in a kernel of its own (about two minutes in all): `make
# notebooks` runs them (CI too, .ci/run); the default suite keeps the listing check above.
@pytest.mark.notebooks
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_notebook_runs_and_writes_its_charts(name, out_base, monkeypatch):
    monkeypatch.setenv("RESOLVER_NOTEBOOK_OUT", str(out_base))
    nb = jupytext.read(NOTEBOOKS / f"{name}.py")
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}})
    started = time.perf_counter()
    try:
        client.execute()
    finally:
        (out_base / name).mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, out_base / name / f"{name}.ipynb")
    print(f"{name}: {time.perf_counter() - started:.1f}s")
    out = out_base / name
    missing = [f for f in EXPECTED[name] if not (out / f).is_file()]
    empty = [f for f in EXPECTED[name] if (out / f).is_file() and (out / f).stat().st_size == 0]
    assert not missing, f"{name} did not write {missing}"
    assert not empty, f"{name} wrote empty {empty}"
    assert not list(NOTEBOOKS.glob("**/*.duckdb")), "a notebook wrote a store into the repo"
