"""Small-cell suppression of a two-way table of counts with its row, column and grand totals.

Primary: every count from 1 to k-1 (interior or total) is suppressed; zeros are shown (they
disclose no one). Complementary: a suppressed cell is safe only when the published cells and
totals leave it more than one possible value, knowing that a suppressed count is at least 1.
The totals turn the table into linear equations: every row of the table with totals sums to
its total, every column too. Another solution exists exactly when the cell lies on a cycle of
suppressed cells (row, column, row, … back) along which counts can move by one, up and down
alternately, none going below 1. For each cell not on such a cycle, the cheapest cycle through
it (fewest people newly hidden) is found over the whole grid and its cells suppressed; a cycle
that protects one cell protects every cell on it, and hiding more never unprotects a cell.
"""

from __future__ import annotations

import heapq

import numpy as np

Cell = tuple[int, int]


def with_totals(counts: np.ndarray) -> np.ndarray:
    """The (R+1) x (C+1) grid: counts, row totals in the last column, column totals and the grand
    total in the last row."""
    rows, cols = counts.shape
    grid = np.zeros((rows + 1, cols + 1), dtype=np.int64)
    grid[:rows, :cols] = counts
    grid[:rows, cols] = counts.sum(axis=1)
    grid[rows, :cols] = counts.sum(axis=0)
    grid[rows, cols] = counts.sum()
    return grid


def _polarity(grid: np.ndarray, cell: Cell) -> int:
    """+1 for a count or the grand total, -1 for a row or column total. Negating the totals makes
    every row and column of the grid sum to zero: a move along a cycle then adds +t and -t
    alternately, and a cell of polarity -1 changes by the opposite of its sign."""
    last_row, last_col = grid.shape[0] - 1, grid.shape[1] - 1
    return -1 if (cell[0] == last_row) != (cell[1] == last_col) else 1


def _cycle(grid: np.ndarray, hidden: np.ndarray, start: Cell) -> list[Cell] | None:
    """The cells (beyond those hidden) to hide so that `start` lies on a cycle of hidden cells
    along which a move of one keeps every count at least 1; [] when it already does, None when
    no cycle can. The cost of a cell is its count (people hidden); hidden cells cost nothing."""
    rows, cols = grid.shape
    best: tuple[int, list[Cell]] | None = None
    r0, c0 = start
    for sign in (1, -1):  # start's own move: +1 or -1 (as signed by polarity)
        if not _can_move(grid, start, sign):
            continue
        # Walk from column c0 back to row r0: column -> row edges carry -sign, row -> column +sign.
        # Nodes: ("c", j) and ("r", i).
        dist: dict[tuple[str, int], int] = {("c", c0): 0}
        back: dict[tuple[str, int], tuple[tuple[str, int], Cell]] = {}
        heap: list[tuple[int, str, int]] = [(0, "c", c0)]
        while heap:
            d, kind, at = heapq.heappop(heap)
            if d > dist.get((kind, at), 1 << 62):
                continue
            if kind == "r" and at == r0:
                break
            steps = ([((i, at), ("r", i)) for i in range(rows)] if kind == "c"
                     else [((at, j), ("c", j)) for j in range(cols)])
            move = -sign if kind == "c" else sign
            for cell, node in steps:
                if cell == start or grid[cell] == 0 or not _can_move(grid, cell, move):
                    continue
                nd = d + (0 if hidden[cell] else int(grid[cell]))
                if nd < dist.get(node, 1 << 62):
                    dist[node] = nd
                    back[node] = ((kind, at), cell)
                    heapq.heappush(heap, (nd, node[0], node[1]))
        end = ("r", r0)
        if end not in dist:
            continue
        path: list[Cell] = []
        node = end
        while node != ("c", c0):
            node, cell = back[node]
            path.append(cell)
        if best is None or dist[end] < best[0]:
            best = (dist[end], [c for c in path if not hidden[c]])
    return None if best is None else best[1]


def _can_move(grid: np.ndarray, cell: Cell, sign: int) -> bool:
    """Whether the count may change by polarity * sign and stay at least 1."""
    return _polarity(grid, cell) * sign > 0 or grid[cell] >= 2


def suppress(counts: np.ndarray, k: int) -> np.ndarray:
    """A boolean mask over `with_totals(counts)`: True where the count is withheld."""
    grid = with_totals(np.asarray(counts, dtype=np.int64))
    hidden = (grid > 0) & (grid < k)
    changed = True
    while changed:
        changed = False
        for cell in zip(*np.nonzero(hidden), strict=True):
            add = _cycle(grid, hidden, (int(cell[0]), int(cell[1])))
            if add is None:  # no cycle can protect it (a table too small): withhold every count
                return grid > 0
            if add:
                for c in add:
                    hidden[c] = True
                changed = True
    return hidden
