"""Analysis for the analyst's notebooks: data profiles, threshold sweeps, model comparisons.

Pure functions over frames the engine already produces (source records, scored pairs,
memberships, model settings); the notebooks in `notebooks/` only chart what these return.
"""
