"""resolver.engines.spark_meter: a stage's CPU seconds and memory include the processes this
one started (in local mode the Spark JVM and its Python workers do the work, not the driver)."""

from __future__ import annotations

import subprocess
import sys

from resolver.engines.spark_meter import StageMeter

# a child that holds ~300 MB and burns a fixed amount of CPU, then waits to be told to stop
CHILD = ("import sys\nblock = bytearray(300 * 2**20)\nfor i in range(0, len(block), 4096): block[i] = 1\n"
         "x = 0\nfor i in range(20_000_000): x += i\nprint('ready', flush=True)\nsys.stdin.read()\n")


def test_a_stage_counts_a_live_child_process():
    meter = StageMeter()
    meter.lap("quiet")
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        meter.lap("busy child")
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait()
    meter.lap("after")
    assert list(meter.seconds) == list(meter.cpu_seconds) == ["quiet", "busy child", "after"]
    # the child's loop is ~1 s of CPU on any machine; the driver itself only waited
    assert meter.cpu_seconds["busy child"] > 0.4 > meter.cpu_seconds["quiet"]
    assert meter.peak_rss_gb["busy child"] >= meter.peak_rss_gb["quiet"] + 0.25
    # reaped, its CPU is not counted twice (it moved into this process's children's time)
    assert meter.cpu_seconds["after"] < 0.4
    assert set(meter.report()) == {"seconds", "cpu_seconds", "peak_rss_gb"}
