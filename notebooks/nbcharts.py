"""Presentation helpers for the analyst notebooks: where charts go, and matplotlib charts.

Only drawing lives here; every figure's numbers come from `resolver/` (the engine).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # notebooks run headless (tests, make notebooks); files are the output
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from resolver.paths import REPO_ROOT  # noqa: E402

# Chinese column names and reasons need a CJK font (Noto CJK: `make system-deps`); matplotlib
# falls back along this list glyph by glyph, and to DejaVu alone when none is installed.
_CJK = [f.name for f in matplotlib.font_manager.fontManager.ttflist if "CJK" in f.name]
plt.rcParams["font.sans-serif"] = ["DejaVu Sans", *sorted(set(_CJK))]


def output_dir(notebook: str) -> Path:
    """`$RESOLVER_NOTEBOOK_OUT/<notebook>/` (default `out/notebooks/<notebook>/`), created."""
    base = Path(os.environ.get("RESOLVER_NOTEBOOK_OUT") or REPO_ROOT / "out" / "notebooks")
    path = base / notebook
    path.mkdir(parents=True, exist_ok=True)
    return path


def save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"wrote {path}")
    return path


def share_heatmap(table: pd.DataFrame, title: str, path: Path) -> Path:
    """Rows x columns of shares 0..1 as a heatmap with percentages; NaN cells left blank."""
    fig, ax = plt.subplots(figsize=(1.0 + 0.75 * len(table.columns), 1.2 + 0.42 * len(table)))
    im = ax.imshow(table.to_numpy(dtype=float), vmin=0, vmax=1, cmap="RdYlGn", aspect="auto")
    ax.set_xticks(range(len(table.columns)), table.columns, rotation=45, ha="right")
    ax.set_yticks(range(len(table.index)), table.index)
    for i, row in enumerate(table.to_numpy(dtype=float)):
        for j, v in enumerate(row):
            if not math.isnan(v):
                ax.text(j, i, f"{v:.0%}", ha="center", va="center", fontsize=7)
    ax.set_title(title)
    fig.colorbar(im, ax=ax, fraction=0.03)
    return save(fig, path)


def barh(values: pd.Series, title: str, xlabel: str, path: Path, log: bool = False) -> Path:
    fig, ax = plt.subplots(figsize=(8, 1.0 + 0.35 * len(values)))
    ax.barh([str(i) for i in values.index], values.to_numpy(dtype=float), color="#4c72b0")
    ax.invert_yaxis()
    if log:
        ax.set_xscale("symlog")
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    return save(fig, path)


def blocking_pairs(stats: pd.DataFrame, title: str, path: Path) -> Path:
    """Candidate pairs per blocking key, with and without the block size cap."""
    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.45 * len(stats)))
    y = range(len(stats))
    ax.barh([i + 0.2 for i in y], stats["pairs_without_cap"], height=0.4, label="without cap",
            color="#c44e52")
    ax.barh([i - 0.2 for i in y], stats["pairs"], height=0.4, label="with max_block_size",
            color="#4c72b0")
    ax.set_yticks(list(y), stats["name"])
    ax.invert_yaxis()
    ax.set_xscale("symlog")
    ax.set_xlabel("candidate pairs")
    ax.set_title(title)
    ax.legend()
    return save(fig, path)


def level_weights(params: pd.DataFrame, title: str, path: Path) -> Path:
    """Match weight of every comparison level (log2 m/u), one bar per level."""
    p = params.dropna(subset=["match_weight"])
    labels = [f"{c}: {lab}" for c, lab in zip(p["comparison"], p["label"], strict=True)]
    colors = ["#55a868" if w > 0 else "#c44e52" for w in p["match_weight"]]
    fig, ax = plt.subplots(figsize=(9, 1.0 + 0.3 * len(p)))
    ax.barh(labels, p["match_weight"], color=colors)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.invert_yaxis()
    ax.set_xlabel("match weight (log2 m/u)")
    ax.set_title(title)
    return save(fig, path)


def threshold_curves(sweep: pd.DataFrame, configured: float, title: str, path: Path) -> Path:
    """Pairwise and B-cubed precision / recall / F1 against the match probability threshold."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, prefix, name in ((axes[0], "", "pairwise"), (axes[1], "bcubed_", "B-cubed")):
        for metric, style in (("precision", "-o"), ("recall", "-s"), ("f1", "-^")):
            ax.plot(sweep["threshold"], sweep[prefix + metric], style, label=metric, markersize=4)
        ax.axvline(configured, color="grey", linestyle="--", label=f"clustering.yaml {configured}")
        ax.set_xlabel("match probability threshold")
        ax.set_title(name)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("score")
    axes[0].legend(loc="lower left")
    fig.suptitle(title)
    return save(fig, path)


def error_weights(errors: list[dict], title: str, path: Path) -> Path:
    """Per-comparison match weights of a few error pairs, one row of bars per pair."""
    rows = errors[:8]
    mw = sorted({k for r in rows for k in r if k.startswith("mw_")})
    fig, ax = plt.subplots(figsize=(10, 1.4 + 0.5 * max(len(rows), 1)))
    if not rows or not mw:
        ax.text(0.5, 0.5, "no errors of this kind", ha="center", va="center")
        ax.set_axis_off()
    else:
        height = 0.8 / len(mw)
        for k, col in enumerate(mw):
            vals = [float(r.get(col) or 0.0) for r in rows]
            ax.barh([i + k * height for i in range(len(rows))], vals, height=height,
                    label=col[3:])
        names = [f"{r['unique_id_l']} ~ {r['unique_id_r']} ({_prob(r.get('match_probability'))})"
                 for r in rows]
        ax.set_yticks([i + 0.4 - height / 2 for i in range(len(rows))], names, fontsize=7)
        ax.invert_yaxis()
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_xlabel("match weight of the comparison")
        ax.legend(fontsize=7, loc="lower right")
    ax.set_title(title)
    return save(fig, path)


def _prob(p: float | None) -> str:
    return "not scored" if p is None or p != p else f"p={p:.3f}"
