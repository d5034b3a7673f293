"""Per-stage cost of a Spark resolution on this machine: wall seconds, CPU seconds, peak memory.

In local mode the whole computation is this process and its descendants (the Spark JVM it
launched, the JVM's Python workers), so /proc gives the stage's real cost: CPU seconds of the
tree (user + system, including children the tree reaped) and the high-water mark of its
resident memory (the sum of the VmHWM of the processes alive at the lap: an upper bound of
their peak together; the JVM lives through the whole run, so its peak is always in).
On a cluster the same figures cover the driver only; executors' cost is in Spark's own metrics.
Where /proc is missing (not Linux) only wall seconds are kept.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

_PROC = Path("/proc")


def _tree(root: int) -> list[int]:
    """`root` and every live descendant, from the parent pids in /proc/<pid>/stat."""
    children: dict[int, list[int]] = {}
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text(encoding="ascii", errors="replace").rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def _cpu_and_hwm(pids: list[int]) -> tuple[float, float]:
    tick = os.sysconf("SC_CLK_TCK")
    cpu_ticks, hwm_kb = 0, 0
    for pid in pids:
        try:
            fields = (_PROC / str(pid) / "stat").read_text(encoding="ascii", errors="replace").rsplit(")", 1)[1].split()
            cpu_ticks += sum(int(fields[i]) for i in (11, 12, 13, 14))  # utime stime cutime cstime
            for line in (_PROC / str(pid) / "status").read_text(encoding="ascii", errors="replace").splitlines():
                if line.startswith("VmHWM:"):
                    hwm_kb += int(line.split()[1])
        except (OSError, IndexError, ValueError):
            continue  # a worker that ended between the listing and the read
    return cpu_ticks / tick, hwm_kb / 1024 / 1024


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of `pid` and its live descendants, with what they reaped from ended children."""
    return _cpu_and_hwm(_tree(pid))[0]


@dataclass
class StageMeter:
    """Call `lap(name)` at the end of each stage; `seconds`, `cpu_seconds`, `peak_rss_gb` hold
    one entry per stage (peak: the tree's high-water mark so far, see the module's note)."""

    seconds: dict[str, float] = field(default_factory=dict)
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    peak_rss_gb: dict[str, float] = field(default_factory=dict)
    _clock: float = field(default_factory=time.perf_counter)
    _cpu: float = 0.0

    def __post_init__(self) -> None:
        self._cpu = self._read()[0] if self.measured else 0.0

    @property
    def measured(self) -> bool:
        return (_PROC / str(os.getpid()) / "stat").exists()

    def _read(self) -> tuple[float, float]:
        return _cpu_and_hwm(_tree(os.getpid()))

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = round(now - self._clock, 3)
        self._clock = now
        if self.measured:
            cpu, hwm = self._read()
            self.cpu_seconds[name] = round(cpu - self._cpu, 1)
            self.peak_rss_gb[name] = round(hwm, 2)
            self._cpu = cpu

    def report(self) -> dict[str, dict[str, float]]:
        return {"seconds": self.seconds, "cpu_seconds": self.cpu_seconds, "peak_rss_gb": self.peak_rss_gb}
