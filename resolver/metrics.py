"""The server's metrics, kept in memory and written in Prometheus' text format (GET /metrics).

A small registry of its own rather than prometheus_client: a request adds to two dicts on the
event loop (no lock, ~0.9 µs; prometheus_client's labelled counter and histogram took ~9 µs,
docs/serving.md), and the engine can report what it does without importing the API. Label values are bounded by construction: route templates, methods, statuses, domains,
model versions. Nothing a caller sends ever becomes a label (no IDs, no personal values).

Anyone may report a value of a registered histogram (the group committer of POST /records
reports its batch sizes):

    from resolver import metrics
    metrics.observe("resolver_write_batch_records", n)   # records in one committed batch
    metrics.observe("resolver_write_batch_calls", k)     # POST /records calls sharing it
    metrics.observe("resolver_checkpoint_seconds", s)    # a background checkpoint's time

An unknown name raises KeyError (a typo must not pass silently).
"""

from __future__ import annotations

import math
import threading
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence

# Seconds: fine below 10 ms, where GET answers sit.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
COUNT_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)

Labels = tuple[str, ...]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: Sequence[str], values: Sequence[str], extra: str = "") -> str:
    parts = [f'{n}="{_escape(str(v))}"' for n, v in zip(names, values, strict=True)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


class _Series:
    """One histogram series: per-bucket counts (not cumulative; summed when written), sum, count."""

    __slots__ = ("buckets", "sum", "count")

    def __init__(self, size: int):
        self.buckets = [0] * (size + 1)  # the last one is +Inf
        self.sum = 0.0
        self.count = 0


class Histogram:
    def __init__(self, name: str, help_text: str, label_names: Sequence[str] = (),
                 buckets: Sequence[float] = LATENCY_BUCKETS):
        self.name, self.help, self.label_names = name, help_text, tuple(label_names)
        self.bounds = tuple(float(b) for b in buckets)
        self.series: dict[Labels, _Series] = {}
        self._lock = threading.Lock()

    def observe(self, value: float, labels: Labels = ()) -> None:
        """Add `value`. Not locked: for the event loop's own series (one thread adds to them)."""
        series = self.series.get(labels)
        if series is None:
            series = self.series.setdefault(labels, _Series(len(self.bounds)))
        series.buckets[bisect_left(self.bounds, value)] += 1
        series.sum += value
        series.count += 1

    def observe_locked(self, value: float, labels: Labels = ()) -> None:
        """Add `value` from any thread."""
        with self._lock:
            self.observe(value, labels)

    def lines(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} histogram"
        for labels, s in sorted(self.series.copy().items()):  # copy(): atomic while the loop adds
            counts, total, count = list(s.buckets), s.sum, s.count  # a consistent-enough copy
            running = 0
            for bound, n in zip((*self.bounds, math.inf), counts, strict=True):
                running += n
                le = 'le="' + _number(bound) + '"'
                yield f"{self.name}_bucket{_labels(self.label_names, labels, le)} {running}"
            yield f"{self.name}_sum{_labels(self.label_names, labels)} {_number(total)}"
            yield f"{self.name}_count{_labels(self.label_names, labels)} {count}"


class Counter:
    def __init__(self, name: str, help_text: str, label_names: Sequence[str] = ()):
        if not name.endswith("_total"):
            raise ValueError(f"{name}: a counter's name ends in _total")
        self.name, self.help, self.label_names = name, help_text, tuple(label_names)
        self.values: dict[Labels, float] = {}

    def inc(self, labels: Labels = (), amount: float = 1) -> None:
        self.values[labels] = self.values.get(labels, 0) + amount

    def lines(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} counter"
        for labels, value in sorted(self.values.copy().items()):
            yield f"{self.name}{_labels(self.label_names, labels)} {_number(value)}"


class Gauge:
    """A value read when /metrics is asked: `read()` gives (label values, value) pairs."""

    def __init__(self, name: str, help_text: str, label_names: Sequence[str],
                 read: Callable[[], Iterable[tuple[Labels, float]]], kind: str = "gauge"):
        self.name, self.help, self.label_names, self.read, self.kind = name, help_text, tuple(label_names), read, kind

    def lines(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} {self.kind}"
        for labels, value in self.read():
            yield f"{self.name}{_labels(self.label_names, labels)} {_number(value)}"


Metric = Histogram | Counter | Gauge


class Registry:
    def __init__(self) -> None:
        self.metrics: dict[str, Metric] = {}

    def add(self, metric: Metric) -> Metric:
        self.metrics[metric.name] = metric
        return metric

    def text(self) -> str:
        """The exposition: every metric, its HELP and TYPE lines, a newline at the end."""
        lines: list[str] = []
        for metric in self.metrics.values():
            lines.extend(metric.lines())
        return "\n".join(lines) + "\n"


# Reported by the engine from any thread (observe below); the API's request metrics live on
# each app (api.observe), so two apps in one test process do not add to each other's.
ENGINE = Registry()
ENGINE.add(Histogram("resolver_write_batch_records", "Source records committed together by one group commit "
                     "of POST /v1/{domain}/records", buckets=COUNT_BUCKETS))
ENGINE.add(Histogram("resolver_write_batch_calls", "POST /v1/{domain}/records calls sharing one group commit",
                     buckets=COUNT_BUCKETS))
# A write's time under the store's write lock, and the checkpoints that hold the lock between
# writes: together they say why a POST /records call waited longer than its own transaction.
ENGINE.add(Histogram("resolver_write_batch_seconds", "Seconds one group commit of POST /v1/{domain}/records "
                     "held the store's write lock", buckets=LATENCY_BUCKETS))
ENGINE.add(Histogram("resolver_checkpoint_seconds", "Seconds of each background checkpoint of the served store "
                     "(writes wait meanwhile)", buckets=LATENCY_BUCKETS))


def observe(name: str, value: float) -> None:
    """Add `value` to the engine histogram `name` (thread-safe); KeyError if there is none."""
    metric = ENGINE.metrics[name]
    if not isinstance(metric, Histogram):
        raise KeyError(f"{name} is not a histogram")
    metric.observe_locked(value)
