"""An attacker on a published two-way table with totals: can a withheld count be pinned down?

Written apart from resolver.open_data.suppress (which reasons about cycles): here the table is a
flow network (source -> row -> column -> sink, the grand total on the way back), published
counts are edges with fixed flow, withheld ones edges with flow at least 1 (zeros are shown,
so a withheld count is not 0). A withheld count is pinned down when no feasible circulation
gives it another value; the network matrix is totally unimodular, so a feasible real
circulation means a feasible integer one.
"""

from __future__ import annotations

from collections import deque

BIG = 10**9


def _max_flow(cap: dict[str, dict[str, int]], s: str, t: str) -> int:
    flow = 0
    while True:
        parent = {s: s}
        queue = deque([s])
        while queue and t not in parent:
            u = queue.popleft()
            for v, c in cap[u].items():
                if c > 0 and v not in parent:
                    parent[v] = u
                    queue.append(v)
        if t not in parent:
            return flow
        push, v = BIG * 10, t
        while v != s:
            push = min(push, cap[parent[v]][v])
            v = parent[v]
        v = t
        while v != s:
            cap[parent[v]][v] -= push
            cap[v][parent[v]] = cap[v].get(parent[v], 0) + push
            v = parent[v]
        flow += push


def feasible(grid: list[list[int | None]], fixed: dict[tuple[int, int], int]) -> bool:
    """Whether counts exist that fit `grid` ((R+1) x (C+1) with totals last; None = withheld,
    at least 1) with the cells of `fixed` set to those values."""
    rows, cols = len(grid) - 1, len(grid[0]) - 1

    def node(i: int, j: int) -> tuple[str, str]:
        if i == rows and j == cols:
            return "T", "S"  # grand total: the flow back
        if j == cols:
            return "S", f"r{i}"
        if i == rows:
            return f"c{j}", "T"
        return f"r{i}", f"c{j}"

    names = ["S", "T", *(f"r{i}" for i in range(rows)), *(f"c{j}" for j in range(cols)), "SS", "TT"]
    cap: dict[str, dict[str, int]] = {n: {} for n in names}
    excess = dict.fromkeys(names, 0)
    for i in range(rows + 1):
        for j in range(cols + 1):
            a, b = node(i, j)
            value = fixed.get((i, j), grid[i][j])
            lo, hi = (value, value) if value is not None else (1, BIG)
            cap[a][b] = cap[a].get(b, 0) + hi - lo
            excess[b] += lo
            excess[a] -= lo
    need = 0
    for n, e in excess.items():
        if e > 0:
            cap["SS"][n] = e
            need += e
        elif e < 0:
            cap[n]["TT"] = -e
    return _max_flow(cap, "SS", "TT") == need


def pinned(grid: list[list[int | None]], truth: list[list[int]]) -> list[tuple[int, int]]:
    """The withheld cells whose true value is the only one the published table allows."""
    assert feasible(grid, {}), "the published table contradicts itself"
    out = []
    for i, row in enumerate(grid):
        for j, value in enumerate(row):
            if value is None:
                v = truth[i][j]
                if not feasible(grid, {(i, j): v + 1}) and not (v > 1 and feasible(grid, {(i, j): v - 1})):
                    out.append((i, j))
    return out
