"""resolver.engines.spark_meter: a stage's CPU seconds and memory include the processes this
one started (in local mode the Spark JVM and its Python workers do the work, not the driver)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # make test-slow; see tests/conftest.py

# a child that holds ~300 MB and burns a fixed amount of CPU, then waits to be told to stop
CHILD = ("import sys\nblock = bytearray(300 * 2**20)\nfor i in range(0, len(block), 4096): block[i] = 1\n"
         "x = 0\nfor i in range(20_000_000): x += i\nprint('ready', flush=True)\nsys.stdin.read()\n")

# The meter runs in a process of its own: pytest's process may have children of other tests (a
# Spark JVM and its workers) whose memory and CPU come and go, and the meter counts them too
# (a worker ending between two laps once took 70 MB off the tree's sum).
METERED = f"""
import json, subprocess, sys
from resolver.engines.spark_meter import StageMeter
meter = StageMeter()
meter.lap("quiet")
child = subprocess.Popen([sys.executable, "-c", {CHILD!r}], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
assert child.stdout.readline().strip() == "ready"
meter.lap("busy child")
child.stdin.close()
child.wait()
meter.lap("after")
print(json.dumps(meter.report()))
"""


def test_a_stage_counts_a_live_child_process():
    out = subprocess.run([sys.executable, "-c", METERED], capture_output=True, text=True, check=True).stdout
    report = json.loads(out.strip().splitlines()[-1])
    assert set(report) == {"seconds", "cpu_seconds", "peak_rss_gb"}
    seconds, cpu, peak = report["seconds"], report["cpu_seconds"], report["peak_rss_gb"]
    assert list(seconds) == list(cpu) == ["quiet", "busy child", "after"]
    # the child's loop is ~1 s of CPU on any machine; the driver itself only waited
    assert cpu["busy child"] > 0.4 > cpu["quiet"]
    assert peak["busy child"] >= peak["quiet"] + 0.25
    # reaped, its CPU is not counted twice (it moved into this process's children's time)
    assert cpu["after"] < 0.4
