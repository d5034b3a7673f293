"""Small-cell suppression on tables made to be hard, and on random ones: no count from 1 to k-1 is
shown, and the attacker (tests/inventory/attacker.py) pins no withheld count down from the rest."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import numpy as np
import pytest

from resolver.open_data.suppress import suppress, with_totals

sys.path.insert(0, str(Path(__file__).resolve().parent))
from attacker import feasible, pinned  # noqa: E402

K = 10


def published(counts: np.ndarray, k: int = K) -> tuple[list[list[int | None]], list[list[int]], np.ndarray]:
    grid = with_totals(counts)
    hidden = suppress(counts, k)
    shown = [[None if hidden[i, j] else int(grid[i, j]) for j in range(grid.shape[1])] for i in range(grid.shape[0])]
    return shown, grid.tolist(), hidden


def check(counts: np.ndarray, k: int = K) -> np.ndarray:
    shown, truth, hidden = published(counts, k)
    values = [v for row in shown for v in row if v is not None]
    assert all(v == 0 or v >= k for v in values), "a small count is shown"
    assert not (hidden & (with_totals(counts) == 0)).any(), "a zero was withheld"
    assert pinned(shown, truth) == []
    return hidden


def test_one_small_cell_takes_three_others_with_it():
    counts = np.array([[3, 40, 50], [30, 60, 70], [25, 45, 80]])
    hidden = check(counts)
    assert hidden[0, 0] and hidden.sum() == 4  # a 2 x 2 rectangle: the cheapest cycle


def test_the_attacker_solves_a_row_with_one_withheld_cell():
    counts = np.array([[3, 40], [30, 60]])
    grid = with_totals(counts)
    shown: list[list[int | None]] = grid.tolist()
    shown[0][0] = None  # withheld alone: its row total gives it back
    assert pinned(shown, grid.tolist()) == [(0, 0)]
    shown[0][1] = shown[1][0] = shown[1][1] = None  # the rectangle: 3 could be 4, 40 could be 39 …
    assert pinned(shown, grid.tolist()) == []


def test_the_attacker_knows_a_withheld_count_is_not_zero():
    # rectangle 1 / 1 over 20 / 20: moving down would take a 1 to 0, moving up takes the other 1
    # to 0, so every count is pinned although no row or column has one withheld cell alone.
    counts = np.array([[1, 1, 30], [20, 20, 30], [30, 30, 30]])
    grid = with_totals(counts)
    shown: list[list[int | None]] = grid.tolist()
    for i, j in ((0, 0), (0, 1), (1, 0), (1, 1)):
        shown[i][j] = None
    assert set(pinned(shown, grid.tolist())) == {(0, 0), (0, 1), (1, 0), (1, 1)}
    check(counts)


def test_a_small_row_total_is_withheld_too():
    counts = np.array([[2, 3, 0], [40, 50, 60], [45, 55, 65]])
    hidden = check(counts)
    assert hidden[0, 3]  # the row's total, 5


def test_a_whole_small_column():
    counts = np.array([[30, 3], [40, 2], [50, 4], [60, 1]])
    hidden = check(counts)
    # every small cell withheld; the column's total (10) may stay: the four can trade among themselves
    assert hidden[:4, 1].all()


def test_a_table_too_small_to_protect_withholds_every_count():
    hidden = check(np.array([[4]]))
    assert hidden.all()


@pytest.mark.parametrize("seed", range(60))
def test_random_tables(seed: int):
    rng = random.Random(seed)
    rows, cols = rng.randint(1, 7), rng.randint(1, 6)
    scale = rng.choice([3, 8, 20, 60])
    counts = np.array([[rng.choice([0, rng.randint(1, scale), rng.randint(1, 3 * scale)]) for _ in range(cols)]
                       for _ in range(rows)])
    check(counts)


def test_the_published_table_is_consistent_with_itself():
    counts = np.array([[5, 12, 30, 2], [14, 0, 8, 40], [33, 21, 6, 19]])
    shown, _, _ = published(counts)
    assert feasible(shown, {})
