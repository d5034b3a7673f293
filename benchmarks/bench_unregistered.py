"""漏管户 detection: precision, recall and wrongly flagged decoys against fixture truth, with timings.

    python benchmarks/bench_unregistered.py --records 200000            # generate, ingest, resolve, detect
    python benchmarks/bench_unregistered.py --fixtures DIR --db DB      # reuse a resolved store

Truth: truth_unregistered.csv (entity_id, expected, kind) over truth entity ids; a truth entity
maps to ours through its commerce record (truth_members.csv → membership). A truth suspect is
found when the entity holding its commerce record is on the suspect list; a flagged entity is a
false positive when none of its commerce records belongs to a truth suspect.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> None:
    subprocess.run([str(Path(sys.executable).with_name("resolver")), *args], check=True, cwd=ROOT)


def _has_verb(verb: str) -> bool:
    out = subprocess.run([str(Path(sys.executable).with_name("resolver")), "--help"], capture_output=True,
                         text=True, cwd=ROOT).stdout
    return f" {verb} " in out


def build(fixtures: Path, db: Path, mappings: Path, timings: dict[str, float]) -> None:
    manifest = json.loads((fixtures / "manifest.json").read_text(encoding="utf-8"))
    files = {f["source"]: f["file"] for f in manifest["files"] if f["domain"] == "enterprise"}
    t = time.perf_counter()
    for source, file in files.items():  # every enterprise department: activity evidence comes by role
        _run("ingest", "--db", str(db), "--mapping", str(mappings / f"{source}.yaml"), str(fixtures / file))
    timings["ingest"] = time.perf_counter() - t
    t = time.perf_counter()
    if _has_verb("train") and _has_verb("resolve"):
        _run("train", "--db", str(db), "--domain", "enterprise")
        _run("resolve", "--db", str(db), "--domain", "enterprise")
    else:  # until the linking verbs land: the same library calls they make
        _resolve_with_library(db)
    timings["train+resolve"] = time.perf_counter() - t


def _resolve_with_library(db: Path) -> None:
    from resolver.engine import Resolver
    from resolver.store import open_store

    store = open_store(db)
    try:
        resolver = Resolver(store, "enterprise")
        resolver.publish(resolver.train())
        resolver.resolve()
    finally:
        store.close()


def evaluate(fixtures: Path, db: Path, as_of: str) -> dict[str, object]:
    from resolver.store import open_store
    from resolver.unregistered import LISTS, find_unregistered

    truth = pd.read_csv(fixtures / "truth_unregistered.csv", dtype=str)
    members = pd.read_csv(fixtures / "truth_members.csv", dtype=str)
    commerce = members[members["source"] == "commerce"]
    store = open_store(db, read_only=True)
    try:
        t = time.perf_counter()
        found = find_unregistered(store, as_of, lists=LISTS)
        seconds = time.perf_counter() - t
        ours = store.membership("enterprise")
    finally:
        store.close()
    ours = ours.assign(source=ours["unique_id"].str.split(":").str[0],
                       source_record_id=ours["unique_id"].str.split(":", n=1).str[1])
    link = commerce.merge(ours, on=["source", "source_record_id"], suffixes=("_truth", ""))
    truth_of = link.groupby("entity_id")["entity_id_truth"].apply(set).to_dict()
    kind_of = truth.set_index("entity_id")["kind"].to_dict()
    expected = set(truth.loc[truth["expected"] == "suspect", "entity_id"])
    flagged = found[found["list"] == "suspect"]
    hits: set[str] = set()
    wrong: dict[str, int] = {}
    fp = 0
    for eid in flagged["entity_id"]:
        truths = truth_of.get(eid, set())
        if truths & expected:
            hits |= truths & expected
        else:
            fp += 1
            for k in {kind_of.get(x, "unknown") for x in truths} or {"no_commerce_truth"}:
                wrong[k] = wrong.get(k, 0) + 1
    missed = expected - hits
    missed_kinds = pd.Series([kind_of[m] for m in missed], dtype=str).value_counts().to_dict()
    lists = found["list"].value_counts().to_dict()
    tp = len(flagged) - fp
    return {
        "precision": round(tp / len(flagged), 4) if len(flagged) else 0.0,
        "recall": round(len(hits) / len(expected), 4) if expected else 0.0,
        "flagged": len(flagged), "expected": len(expected), "false_positives_by_kind": wrong,
        "missed_by_kind": missed_kinds, "lists": lists, "detect_seconds": round(seconds, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=200_000, help="records over all 8 sources to generate")
    ap.add_argument("--fixtures", type=Path, help="existing fixture directory (skips generation)")
    ap.add_argument("--db", type=Path, help="existing resolved store (skips ingest and resolution)")
    ap.add_argument("--resolve", action="store_true", help="with --db: resolve it again first")
    ap.add_argument("--mappings", type=Path, default=ROOT / "matching_rules" / "sources")
    ap.add_argument("--work", type=Path, default=Path("/tmp/bench_unregistered"))
    args = ap.parse_args()
    timings: dict[str, float] = {}
    fixtures = args.fixtures
    if fixtures is None:
        fixtures = args.work / f"fx{args.records}"
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "fixtures.generate", "--out", str(fixtures), "--records",
                        str(args.records)], check=True, cwd=ROOT)
        timings["generate"] = time.perf_counter() - t
    db = args.db
    if db is not None and args.resolve:
        t = time.perf_counter()
        _resolve_with_library(db)
        timings["train+resolve"] = time.perf_counter() - t
    if db is None:
        db = args.work / f"{fixtures.name}.duckdb"
        db.parent.mkdir(parents=True, exist_ok=True)
        db.unlink(missing_ok=True)
        build(fixtures, db, args.mappings, timings)
    as_of = json.loads((fixtures / "manifest.json").read_text(encoding="utf-8"))["as_of"]
    result = evaluate(fixtures, db, as_of)
    result["timings_seconds"] = {k: round(v, 1) for k, v in timings.items()}
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    result["fixtures"] = str(fixtures)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    ok = result["precision"] >= 0.95 and result["recall"] >= 0.95  # type: ignore[operator]
    print(f"precision {result['precision']} recall {result['recall']} -> {'PASS' if ok else 'FAIL'} (floor 0.95)")


if __name__ == "__main__":
    main()
