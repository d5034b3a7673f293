"""Wall and CPU seconds per named step of a long verb: `resolve` prints them on its `time:` line,
and benchmarks split the linking (records, blocking, prediction, clustering) from the save
(master IDs, history, golden values, documents) with them."""

from __future__ import annotations

import time

# Steps of a full resolution's save (Store.save_resolution): what plain Splink, which writes
# nothing, has no counterpart of. Every other step of `resolve` is linking.
SAVE_STEPS = ("master IDs", "membership, history, pairs", "golden values", "documents", "relations", "commit")


class Laps:
    """Seconds since the previous lap (or the start), booked under each step's name.

    CPU seconds are the whole process's (DuckDB's threads included): they hold on a loaded box,
    where wall seconds do not."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self._at = (time.perf_counter(), time.process_time())

    def lap(self, name: str) -> None:
        """Book the time since the last lap to `name` (added to it when the name comes again)."""
        now = (time.perf_counter(), time.process_time())
        self.wall[name] = self.wall.get(name, 0.0) + now[0] - self._at[0]
        self.cpu[name] = self.cpu.get(name, 0.0) + now[1] - self._at[1]
        self._at = now

    def line(self) -> str:
        """`time: records 1.2 s (CPU 1.4), …` in the order the steps came."""
        return "time: " + ", ".join(f"{name} {self.wall[name]:.1f} s (CPU {self.cpu[name]:.1f})" for name in self.wall)


def parse_line(line: str) -> dict[str, tuple[float, float]]:
    """`Laps.line`'s text back to {step: (wall s, CPU s)} (benchmarks read it from a verb's output)."""
    out: dict[str, tuple[float, float]] = {}
    for part in line.strip().removeprefix("time: ").split("), "):
        name, _, rest = part.rpartition(" s (CPU ")
        step, _, wall = name.rpartition(" ")
        out[step] = (float(wall), float(rest.rstrip(")")))
    return out
