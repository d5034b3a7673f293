"""A strict reader of Prometheus' text format (0.0.4) for the /metrics tests: every line is a
HELP, a TYPE or a sample of a family declared before it, or the reader raises."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL = r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\["\\n])*)"'
_SAMPLE = re.compile(rf"({_NAME})(\{{(?:{_LABEL})(?:,{_LABEL})*\}})? (\S+)")
_SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "counter": ("",), "gauge": ("",)}


@dataclass
class Family:
    name: str
    kind: str
    help: str = ""
    samples: list[tuple[str, dict[str, str], float]] = field(default_factory=list)


def _number(text: str) -> float:
    if text in ("+Inf", "-Inf", "NaN"):
        return float(text.replace("Inf", "inf"))
    return float(text)


def parse(text: str) -> dict[str, Family]:
    assert text.endswith("\n"), "the exposition ends with a newline"
    families: dict[str, Family] = {}
    helps: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        where = f"line {number}: {line!r}"
        if line.startswith("# HELP "):
            name, _, help_text = line[7:].partition(" ")
            assert re.fullmatch(_NAME, name), where
            helps[name] = help_text
        elif line.startswith("# TYPE "):
            name, _, kind = line[7:].partition(" ")
            assert re.fullmatch(_NAME, name) and kind in _SUFFIXES and name not in families, where
            families[name] = Family(name, kind, helps.get(name, ""))
        else:
            match = _SAMPLE.fullmatch(line)
            assert match, where
            sample = match.group(1)
            labels = dict(re.findall(_LABEL, match.group(2) or ""))
            family = next((f for f in families.values() for s in _SUFFIXES[f.kind] if sample == f.name + s), None)
            assert family is not None, f"{where}: no TYPE declared for it"
            if family.kind == "counter":
                assert sample.endswith("_total"), where
            family.samples.append((sample, labels, _number(match.group(len(match.groups())))))
    for family in families.values():
        if family.kind == "histogram":
            _check_histogram(family)
    return families


def _check_histogram(family: Family) -> None:
    series: dict[tuple[tuple[str, str], ...], list[tuple[float, float]]] = {}
    counts: dict[tuple[tuple[str, str], ...], float] = {}
    for sample, labels, value in family.samples:
        key = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        if sample.endswith("_bucket"):
            series.setdefault(key, []).append((_number(labels["le"]), value))
        elif sample.endswith("_count"):
            counts[key] = value
    for key, buckets in series.items():
        bounds = [b for b, _ in buckets]
        assert bounds == sorted(bounds) and math.isinf(bounds[-1]), f"{family.name}{key}: buckets out of order"
        values = [v for _, v in buckets]
        assert values == sorted(values), f"{family.name}{key}: buckets are not cumulative"
        assert values[-1] == counts[key], f"{family.name}{key}: +Inf bucket is not the count"


def value(families: dict[str, Family], sample: str, **labels: str) -> float:
    """The sample's value, 0 when the series does not exist yet."""
    for family in families.values():
        for name, have, number in family.samples:
            if name == sample and have == labels:
                return number
    return 0.0
