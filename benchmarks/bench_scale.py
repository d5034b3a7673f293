"""Linking at scale: resolver train + resolve per engine and plain Splink, per size, in one run.

    python benchmarks/bench_scale.py --records 200000 2000000 [--work /work/bench/lean] [--shape noisy]
                                     [--engines duckdb spark] [--domain enterprise] [--no-plain]
    python benchmarks/bench_scale.py --data DIR [DIR ...] ...

`--records N` are fixture records over all eight departments (`fixtures.generate --records
N [--shape S]`, about half of them enterprise source records), generated into WORK/dataN (or
WORK/S_N) once; `--data` names fixture folders already generated (a shape's folder is ingested
with the shape's own source mappings). Per folder the domain's exports are ingested once
into WORK/…/store_<domain>.duckdb (not timed, reused by later runs). Then, each in a child
process on its own copy of the store: `resolver train` and `resolver resolve` per engine
(the real CLI verbs), and plain Splink (bench_linking.run_baseline: natural blocking rules,
character-level comparisons on the values as the departments wrote them, read from the
same store, placeholder values such as the `*` name nulled). Printed per run: wall time,
peak RSS of the child's process tree (Python + JVM, sampled from /proc), pairwise F1 against truth, the ratio ours / plain Splink
(train + resolve wall time against plain Splink's linking time, which leaves out its
process start and record loading, so the ratio is conservative), and the 1-minute load
average before and after (the box is shared: 2.0 means both cores busy).

Our time is also split in two (the `time:` line `resolver resolve` prints, resolver.laps):
linking = train + resolve up to the save (process start, records, blocking keys, prediction,
clustering), and the save (master IDs, membership/history/pairs, golden values, documents,
relations, commit), which plain Splink has no counterpart of. Two ratios are printed: the
whole pipeline's and linking's alone, each against plain Splink's linking time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_engines import run_measured  # noqa: E402

from resolver.engine import Resolver  # noqa: E402
from resolver.laps import SAVE_STEPS, parse_line  # noqa: E402
from resolver.store import open_store  # noqa: E402

MAPPINGS = ROOT / "matching_rules" / "sources"
PLACEHOLDERS = ["*", "-", "无", ""]  # values that mean "not given", nulled for plain Splink


def generate(records: int, work: Path, shape: str | None = None) -> Path:
    folder = work / (f"{shape}_{records}" if shape else f"data{records}")
    if not (folder / "manifest.json").exists():
        subprocess.run([sys.executable, "-m", "fixtures.generate", "--records", str(records), "--out", str(folder),
                        *(["--shape", shape] if shape else [])], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return folder


def mappings_of(data: Path) -> Path:
    """The source mappings the fixture folder was written for (a shape's own, else the reference ones)."""
    manifest = json.loads((data / "manifest.json").read_text(encoding="utf-8"))
    return ROOT / manifest["mappings"] if manifest.get("mappings") else MAPPINGS


def built_store(data: Path, domain: str, work: Path) -> Path:
    """The domain's exports ingested into one store (built once, kept beside the data)."""
    store = work / f"{data.name}_store_{domain}.duckdb"
    if store.exists():
        return store
    manifest = json.loads((data / "manifest.json").read_text(encoding="utf-8"))
    partial = store.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    for f in manifest["files"]:
        if f["domain"] == domain:
            subprocess.run([sys.executable, "-m", "resolver", "ingest", "--db", str(partial), "--mapping",
                            str(mappings_of(data) / f"{f['source']}.yaml"), str(data / f["file"])],
                           check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    partial.rename(store)
    return store


def run_ours(store: Path, truth: pd.DataFrame, domain: str, engine: str, work: Path) -> dict:
    copy = work / f"run_{engine}_{domain}_{os.getpid()}.duckdb"  # two runs in one folder must not share it
    shutil.copyfile(store, copy)
    try:
        cli = [sys.executable, "-m", "resolver"]
        common = ["--db", str(copy), "--domain", domain, "--engine", engine]
        train = measured(cli + ["train", *common, "--models-dir", str(work / f"models_{engine}")])
        resolve = measured(cli + ["resolve", *common])
        opened = open_store(copy, read_only=True)
        try:
            resolver = Resolver(opened, domain)
            members = opened.membership(domain).rename(columns={"entity_id": "cluster_id"})
            n, entities = len(members), int(members["cluster_id"].nunique())
            # members only: with the store's pairs, evaluate loads every record for its examples (9 GB at 1M)
            ev = resolver.evaluate(truth, clusters=members, worst=0)
        finally:
            opened.close()
    finally:
        copy.unlink(missing_ok=True)
        Path(str(copy) + ".wal").unlink(missing_ok=True)
    steps = _steps(resolve) if engine == "duckdb" else {}
    save = sum(wall for name, (wall, _) in steps.items() if name in SAVE_STEPS)
    save_cpu = sum(cpu for name, (_, cpu) in steps.items() if name in SAVE_STEPS)
    total = train["seconds"] + resolve["seconds"]
    cpu = train["cpu_s"] + resolve["cpu_s"]
    return {"source_records": n, "entities": entities, "pairwise_f1": round(ev["pairwise"]["f1"], 5),
            "train": train, "resolve": resolve, "steps": steps,
            "seconds": round(total, 1), "linking_s": round(total - save, 1) if steps else None,
            "save_s": round(save, 1) if steps else None,
            "cpu_s": round(cpu, 1), "linking_cpu_s": round(cpu - save_cpu, 1) if steps else None,
            "peak_rss_gb": max(train["peak_rss_gb"], resolve["peak_rss_gb"])}


def measured(cmd: list[str]) -> dict:
    """run_measured, with the CPU seconds (user + system) of the child and the children it waited for."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = run_measured(cmd)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {**out, "cpu_s": round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 1)}


def _steps(resolve: dict) -> dict[str, tuple[float, float]]:
    """{step: (wall s, CPU s)} from the `time:` line the resolve verb printed last."""
    found = [t.strip() for t in resolve["output"] if t.strip().startswith("time:")]  # type: ignore[attr-defined]
    return parse_line(found[-1]) if found else {}


def plain_child(store: Path, data: Path, domain: str) -> None:
    """In the child process: plain Splink on the store's records; one JSON line out."""
    import bench_linking

    bench_linking.quiet_splink()
    opened = open_store(store, read_only=True)
    try:
        records = opened.cursor().execute(
            f"SELECT unique_id, source, raw FROM records_{domain} ORDER BY unique_id").df()
    finally:
        opened.close()
    truth = bench_linking.truth_for(data, domain)
    raw_frame = bench_linking.raw_frame

    def cleaned(*args: object) -> pd.DataFrame:
        # the one cleaning step any Splink user takes first: the `*` name of unnamed individual
        # businesses (~26k records at 1M) made one block of ~350M pairs and was OOM-killed at 7 GB
        frame = raw_frame(*args)  # type: ignore[arg-type]
        return frame.where(~frame.isin(PLACEHOLDERS), None)

    bench_linking.raw_frame = cleaned  # type: ignore[assignment]
    result = bench_linking.run_baseline(records, truth, domain, mappings_of(data))
    print(json.dumps({"linking_s": round(result["total_s"], 1), "linking_cpu_s": round(result["cpu_s"], 1),
                      "pairwise_f1": round(result["pairwise"]["f1"], 5),
                      "largest_cluster": result["largest_cluster"]}))


def run_plain(store: Path, data: Path, domain: str) -> dict:
    child = measured([sys.executable, __file__, "--plain-child", str(store), str(data), domain])
    inner = json.loads(child.pop("output")[-1])  # type: ignore[arg-type]
    return {**inner, "wall_s": child["seconds"], "cpu_s": child["cpu_s"], "peak_rss_gb": child["peak_rss_gb"],
            "load_before": child["load_before"], "load_after": child["load_after"]}


HEADER = (f"{'size':<12}{'run':<14}{'train s':>8}{'resolve s':>10}{'total s':>9}{'link s':>8}{'save s':>8}"
          f"{'peak GB':>8}{'pair F1':>9}{'ratio':>7}{'link r.':>8}   load")


def line(size: str, who: str, row: dict) -> str:
    if who == "plain":
        return (f"{size:<12}{'plain splink':<14}{'':>8}{'':>10}{row['linking_s']:>9.1f}{row['linking_s']:>8.1f}"
                f"{'':>8}{row['peak_rss_gb']:>8.2f}{row['pairwise_f1']:>9.4f}{'1.00':>7}{'1.00':>8}   "
                f"{row['load_before']:.1f} -> {row['load_after']:.1f}\n{'':12}CPU s: linking {row['linking_cpu_s']:.1f} "
                f"(process {row['cpu_s']:.1f}, records loaded and scored too)")
    t, r = row["train"], row["resolve"]

    def fmt(value: float | None, width: int, digits: int = 1) -> str:
        return f"{value:>{width}.{digits}f}" if value is not None else f"{'-':>{width}}"

    out = (f"{size:<12}{who:<14}{t['seconds']:>8.1f}{r['seconds']:>10.1f}{row['seconds']:>9.1f}"
           f"{fmt(row.get('linking_s'), 8)}{fmt(row.get('save_s'), 8)}"
           f"{row['peak_rss_gb']:>8.2f}{row['pairwise_f1']:>9.4f}{fmt(row.get('ratio'), 7, 2)}"
           f"{fmt(row.get('linking_ratio'), 8, 2)}   {t['load_before']:.1f} -> {r['load_after']:.1f}")
    out += (f"\n{'':12}CPU s: train {t['cpu_s']:.1f} + resolve {r['cpu_s']:.1f} = {row['cpu_s']:.1f}, linking "
            f"{row.get('linking_cpu_s')}")
    if row.get("steps"):
        out += "\n" + " " * 12 + "resolve steps, wall s (CPU s): " + ", ".join(
            f"{name} {wall:.1f} ({cpu:.1f})" for name, (wall, cpu) in row["steps"].items())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, nargs="*", default=[], help="fixture records per size")
    ap.add_argument("--data", type=Path, nargs="*", default=[], help="fixture folders already generated")
    ap.add_argument("--shape", help="with --records: the generator's shape (fixtures/shapes/)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/bench_scale"), help="data, stores and run copies")
    ap.add_argument("--engines", nargs="+", default=["duckdb"], choices=["duckdb", "spark"])
    ap.add_argument("--domain", default="enterprise")
    ap.add_argument("--no-plain", action="store_true", help="leave plain Splink out")
    ap.add_argument("--repeat", type=int, default=1, help="runs per engine (figures: each, and the median)")
    ap.add_argument("--json", type=Path, help="append one JSON line per run here")
    ap.add_argument("--plain-child", nargs=3, metavar=("STORE", "DATA", "DOMAIN"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.plain_child:
        plain_child(Path(args.plain_child[0]), Path(args.plain_child[1]), args.plain_child[2])
        return
    args.work.mkdir(parents=True, exist_ok=True)
    folders = [generate(n, args.work, args.shape) for n in args.records] + list(args.data)
    if not folders:
        ap.error("give --records N ... or --data DIR ...")
    # each of our two verbs is a process that imports the CLI, pandas, DuckDB and Splink first; plain
    # Splink's time leaves its start out: this says how much of our linking time that is
    start = run_measured([sys.executable, "-c", "import resolver.cli, resolver.engine, splink"])
    print(f"process start (imports), once per verb: {start['seconds']:.1f} s", flush=True)
    print(HEADER, flush=True)
    for data in folders:
        store = built_store(data, args.domain, args.work)
        truth = pd.read_csv(data / "truth_members.csv", dtype=str)
        truth = truth[truth["domain"] == args.domain]
        opened = open_store(store, read_only=True)
        try:
            n = int(opened.cursor().execute(f"SELECT count(*) FROM records_{args.domain}").fetchone()[0])
        finally:
            opened.close()
        size = f"{n / 1e6:.2f}M" if n >= 1e6 else f"{n / 1e3:.0f}k"
        shape = json.loads((data / "manifest.json").read_text(encoding="utf-8")).get("shape") or "default"
        print(f"-- {data}: {n:,} {args.domain} source records, shape {shape}", flush=True)
        plain = None
        if not args.no_plain:
            plain = run_plain(store, data, args.domain)
            print(line(size, "plain", plain), flush=True)
        rows = []
        for engine in args.engines:
            for i in range(args.repeat):
                row = run_ours(store, truth, args.domain, engine, args.work)
                row["ratio"] = row["seconds"] / plain["linking_s"] if plain else None
                row["linking_ratio"] = row["linking_s"] / plain["linking_s"] if plain and row["linking_s"] else None
                rows.append(row)
                print(line(size, engine + (f" #{i + 1}" if args.repeat > 1 else ""), row), flush=True)
                if args.json:
                    with args.json.open("a", encoding="utf-8") as fh:
                        fh.write(json.dumps({"data": str(data), "source_records": n, "engine": engine,
                                             "run": i + 1, **row, "plain": plain}, ensure_ascii=False) + "\n")
            if args.repeat > 1:
                mine = rows[-args.repeat:]
                med = {k: sorted(r[k] for r in mine)[len(mine) // 2] for k in ("seconds", "peak_rss_gb")}
                print(f"{'':<12}{engine + ' median':<14}{'':>17}{med['seconds']:>9.1f}{med['peak_rss_gb']:>8.2f}",
                      flush=True)
    print(f"load average now {os.getloadavg()[0]:.1f} (1 min); {time.strftime('%H:%M:%S')}", flush=True)


if __name__ == "__main__":
    main()
