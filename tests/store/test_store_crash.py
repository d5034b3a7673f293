"""A resolution killed with SIGKILL mid-transaction leaves the previous master readable and unchanged."""

import os
import signal
import subprocess
import sys
import textwrap

import pandas as pd

from resolver.store import open_store

SCRIPT = textwrap.dedent("""
    import sys
    import pandas as pd
    from resolver.store import open_store
    store = open_store(sys.argv[1])
    clusters = pd.DataFrame({"unique_id": ["tax:a", "tax:b", "tax:c"], "cluster_id": [1, 2, 3]})
    store.save_resolution("enterprise", clusters, None, "m2")
    store.close()
    print("done")
""")


def _seed(path):
    store = open_store(path)
    frame = pd.DataFrame({"source": "tax", "source_record_id": ["a", "b", "c"], "name": ["甲", "甲", "乙"]})
    frame["unique_id"] = "tax:" + frame["source_record_id"]
    frame["raw"] = frame["name"]
    frame["record_hash"] = frame["source_record_id"]
    store.ingest_frame("enterprise", frame, [], "t.csv")
    store.save_resolution("enterprise", pd.DataFrame({"unique_id": frame["unique_id"], "cluster_id": [1, 1, 2]}),
                          None, "m1")
    before = (store.membership("enterprise"), store.golden("enterprise"))
    store.close()
    return before


def test_sigkill_midway_keeps_previous_master_and_next_run_completes(tmp_path):
    db = tmp_path / "master.duckdb"
    members_before, golden_before = _seed(db)
    env = dict(os.environ, RESOLVER_FAULT_PAUSE="save_resolution")
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(db)], env=env,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()
        assert "paused at save_resolution" in line
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == -signal.SIGKILL

    store = open_store(db)
    pd.testing.assert_frame_equal(store.membership("enterprise"), members_before)
    pd.testing.assert_frame_equal(store.golden("enterprise"), golden_before)
    assert set(store.history("enterprise")["model_version"]) == {"m1"}
    store.close()

    done = subprocess.run([sys.executable, "-c", SCRIPT, str(db)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    store = open_store(db, read_only=True)
    assert store.membership("enterprise")["entity_id"].nunique() == 3
    store.close()
