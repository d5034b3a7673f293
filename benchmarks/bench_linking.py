"""Linking benchmark: our rule files vs a plain Splink baseline on fixture data.

    python benchmarks/bench_linking.py --data DIR [--records 200000] [--domains enterprise person]
                                       [--no-baseline] [--mappings matching_rules/sources]
    python benchmarks/bench_linking.py --shapes [NAME ...] --data DIR [--records 100000]

With --shapes (no names: every shape in fixtures/shapes/), per shape: generate DIR/<shape>
(once), then the whole pipeline through the store (fixtures/quality.py: ingest → train →
resolve → evaluate → 漏管户) and one table of pairwise F1 (enterprise, person), 漏管户
precision/recall and seconds per shape, with the median.

Generates fixtures into DIR when it has none, standardizes every export once (cached as
DIR/standardized_<domain>.parquet), then per domain: train + resolve wall time, peak
memory (RSS of this process, which also holds the records), blocking comparison counts,
pairwise and B-cubed F1 against truth_members.csv, and the baseline's F1 beside ours.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from resolver.engine import Resolver  # noqa: E402


def quiet_splink() -> None:
    for name in ["splink", *logging.root.manager.loggerDict]:
        if name.startswith("splink"):
            logging.getLogger(name).setLevel(logging.WARNING)


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


def _prepare_one(args: tuple[str, str]) -> pd.DataFrame:
    from resolver.ingest import prepare

    mapping, file = args
    return prepare(mapping, file).records


def standardized(data: Path, domain: str, mappings: Path, workers: int = 2) -> pd.DataFrame:
    cache = data / f"standardized_{domain}.parquet"
    if cache.exists():
        return pd.read_parquet(cache)
    manifest = json.loads((data / "manifest.json").read_text(encoding="utf-8"))
    jobs = [(str(mappings / f"{f['source']}.yaml"), str(data / f["file"]))
            for f in manifest["files"] if f["domain"] == domain]
    if workers <= 1:
        frames = [_prepare_one(job) for job in jobs]
    else:
        import multiprocessing

        # spawn: forking a process that holds DuckDB threads can crash the child
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            frames = list(pool.map(_prepare_one, jobs))
    df = pd.concat(frames, ignore_index=True)
    df.to_parquet(cache)
    return df


def truth_for(data: Path, domain: str) -> pd.DataFrame:
    truth = pd.read_csv(data / "truth_members.csv", dtype=str)
    return truth[truth["domain"] == domain]


def cpu_s() -> float:
    """CPU seconds of this process: with threads=2, wall time >= cpu/2 on an idle machine,
    so this figure survives a busy shared host where wall time does not."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run_ours(records: pd.DataFrame, truth: pd.DataFrame, domain: str, out: Path) -> dict:
    # records in memory, no store: what is timed is training, scoring and clustering alone
    resolver = Resolver.for_records(records, domain)  # DuckDB in-process: 6GB, 2 threads
    c0 = cpu_s()
    t0 = time.perf_counter()
    model = resolver.train(out_dir=out / "models")
    t1 = time.perf_counter()
    linkage = resolver.link(model)
    t3 = time.perf_counter()
    cpu = cpu_s() - c0
    pairs, report = linkage.pairs, linkage.report
    ev = resolver.evaluate(truth, clusters=linkage, worst=5)
    return {
        "train_s": t1 - t0, "predict_s": linkage.seconds["predict"], "cluster_s": linkage.seconds["cluster"],
        "total_s": t3 - t0, "cpu_s": cpu,
        "pairs_scored": len(pairs), "blocking": linkage.blocking, "cluster_report": report,
        "pairwise": ev["pairwise"], "bcubed": ev["bcubed"], "per_source_pair": ev["per_source_pair"],
        "false_merges": ev.get("false_merges", []), "missed_links": ev.get("missed_links", []),
        "missed_not_kept": ev.get("missed_not_kept", []), "model_version": model.version,
    }


# -- baseline: plain Splink on the raw values, character-level comparisons ----------------

RAW_FIELDS = {
    "enterprise": ["name", "uscc", "tax_id", "org_code", "legal_rep", "address", "phone"],
    "person": ["name", "id_number", "birth_date", "address", "phone"],
}


def raw_frame(records: pd.DataFrame, domain: str, mappings: Path) -> pd.DataFrame:
    """Each record's values as the department wrote them (from the kept raw row)."""
    import yaml

    inverse = {}
    for path in mappings.glob("*.yaml"):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        inverse[doc["source"]] = {v: k for k, v in doc["columns"].items()}
    rows = []
    for src, raw in zip(records["source"], records["raw"], strict=True):
        values = json.loads(raw)
        cols = inverse.get(src, {})
        rows.append({f: (str(values.get(cols[f])) if cols.get(f) and values.get(cols[f]) is not None
                         else None) for f in RAW_FIELDS[domain]})
    out = pd.DataFrame(rows)
    if domain == "enterprise":  # one identifier column: whatever code the source gave
        out["ident"] = out["uscc"].fillna(out["tax_id"]).fillna(out["org_code"])
    else:
        out["ident"] = out["id_number"]
    out["unique_id"] = records["unique_id"].to_numpy()
    return out


def run_baseline(records: pd.DataFrame, truth: pd.DataFrame, domain: str, mappings: Path) -> dict:
    import duckdb
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    df = raw_frame(records, domain, mappings)
    comparisons = [
        cl.JaroWinklerAtThresholds("name", [0.95, 0.88]),
        cl.ExactMatch("ident"),
        cl.JaroWinklerAtThresholds("address", [0.9, 0.8]),
        cl.ExactMatch("phone"),
    ]
    blocking = [block_on("name"), block_on("ident"), block_on("phone")]
    if domain == "enterprise":
        comparisons.append(cl.ExactMatch("legal_rep"))
        blocking.append(block_on("legal_rep", "address"))
    else:
        comparisons.append(cl.ExactMatch("birth_date"))
        blocking.append(block_on("birth_date", "address"))
    settings = SettingsCreator(link_type="dedupe_only", comparisons=comparisons,
                               blocking_rules_to_generate_predictions=blocking,
                               probability_two_random_records_match=1e-5)
    t0, cpu0 = time.perf_counter(), time.process_time()  # CPU: every thread of DuckDB's
    con = duckdb.connect()  # the session our engine uses: 6GB, 2 threads
    con.execute("SET memory_limit='6GB'; SET threads=2; SET preserve_insertion_order=false")
    linker = Linker(DuckDBAPI(connection=con).register(df), settings)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("ident"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("name"))
    pred = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pred, 0.9).as_pandas_dataframe()
    total, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    clusters = clusters[["unique_id", "cluster_id"]]
    ev = Resolver.for_records(records, domain).evaluate(truth, clusters=clusters)
    return {"total_s": total, "cpu_s": cpu, "pairwise": ev["pairwise"], "bcubed": ev["bcubed"],
            "largest_cluster": int(clusters["cluster_id"].value_counts().max())}


def run_shapes(shapes: list[str], data: Path, records: int, json_out: Path | None) -> None:
    import statistics
    import tempfile

    from fixtures.quality import run_pipeline
    from fixtures.shape import names

    shapes = shapes or names()
    rows = []
    print(f"{'shape':<18}{'records':>9}{'ent F1':>9}{'per F1':>9}{'漏管户 P':>9}{'R':>7}{'gen s':>7}{'run s':>7}",
          flush=True)
    for shape in shapes:
        folder = data / shape
        t0 = time.perf_counter()
        if not (folder / "manifest.json").exists():
            subprocess.run([sys.executable, "-m", "fixtures.generate", "--out", str(folder), "--records",
                            str(records), "--shape", shape], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        t1 = time.perf_counter()
        with tempfile.TemporaryDirectory(dir=data) as work:
            r = run_pipeline(folder, Path(work) / "m.duckdb")
        r["generate_s"], r["run_s"] = t1 - t0, time.perf_counter() - t1
        rows.append(r)
        u = r["unregistered"]
        print(f"{shape:<18}{r['records']:>9,}{r['enterprise']['pairwise']['f1']:>9.4f}"
              f"{r['person']['pairwise']['f1']:>9.4f}{u['precision']:>9.3f}{u['recall']:>7.3f}"
              f"{r['generate_s']:>7.0f}{r['run_s']:>7.0f}", flush=True)
    print(f"median run {statistics.median(r['run_s'] for r in rows):.0f}s per shape; "
          f"peak RSS {peak_rss_gb():.2f} GB", flush=True)
    if json_out:
        json_out.write_text(json.dumps(rows, ensure_ascii=False, indent=1, default=str), encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--records", type=int, default=200000)
    ap.add_argument("--domains", nargs="+", default=["enterprise", "person"])
    ap.add_argument("--mappings", type=Path, default=ROOT / "matching_rules" / "sources")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--json", type=Path, help="write all figures here")
    ap.add_argument("--shapes", nargs="*", help="per-shape figures (no names: every shape)")
    args = ap.parse_args()
    quiet_splink()
    if args.shapes is not None:
        args.data.mkdir(parents=True, exist_ok=True)
        run_shapes(args.shapes, args.data, args.records, args.json)
        return
    if not (args.data / "manifest.json").exists():
        subprocess.run([sys.executable, "-m", "fixtures.generate", "--out", str(args.data),
                        "--records", str(args.records)], check=True, cwd=ROOT)
    results = {}
    for domain in args.domains:
        t = time.perf_counter()
        records = standardized(args.data, domain, args.mappings)
        truth = truth_for(args.data, domain)
        print(f"\n== {domain}: {len(records):,} source records "
              f"(standardized/loaded in {time.perf_counter() - t:.0f}s)", flush=True)
        ours = run_ours(records, truth, domain, args.data)
        print(f"ours: train {ours['train_s']:.1f}s  predict {ours['predict_s']:.1f}s  "
              f"cluster {ours['cluster_s']:.1f}s  total {ours['total_s']:.1f}s (cpu {ours['cpu_s']:.0f}s)  "
              f"peak RSS {peak_rss_gb():.2f} GB  pairs scored {ours['pairs_scored']:,}")
        for s in ours["blocking"]:
            print(f"  block {s['name']:<22} pairs {s['pairs']:>11,} (uncapped {s['pairs_without_cap']:>13,})"
                  f"  keyed {s['records_keyed']:>9,}  blocks over cap {s['blocks_over_cap']:,} "
                  f"({s['records_over_cap']:,} records)")
        rep = ours["cluster_report"]
        print(f"  clusters: {rep['entities']:,} entities, largest {rep['largest_entity']}, "
              f"refused {rep['refused']} {rep['refused_by_constraint']}")
        pw, b3 = ours["pairwise"], ours["bcubed"]
        print(f"  OURS     pairwise P {pw['precision']:.4f} R {pw['recall']:.4f} F1 {pw['f1']:.4f}   "
              f"B-cubed F1 {b3['f1']:.4f}", flush=True)
        result = {"ours": ours}
        if not args.no_baseline:
            base = run_baseline(records, truth, domain, args.mappings)
            bpw = base["pairwise"]
            print(f"  BASELINE pairwise P {bpw['precision']:.4f} R {bpw['recall']:.4f} F1 {bpw['f1']:.4f}"
                  f"   B-cubed F1 {base['bcubed']['f1']:.4f}  ({base['total_s']:.1f}s, "
                  f"largest cluster {base['largest_cluster']})", flush=True)
            result["baseline"] = base
        results[domain] = result
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1, default=str),
                             encoding="utf-8")


if __name__ == "__main__":
    main()
