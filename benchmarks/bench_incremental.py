"""Incremental ingest benchmark: N tax records into a resolved master, most of them new firms.

The file holds `--updates` (default 20 %) existing tax rows whose phone changed (an update of
a known taxpayer: its entity is re-linked) and, for the rest, genuinely new firms: each an
existing tax row (for the file's shape and noise) given a new record id, USCC, name (a new
trade name), legal representative and his resident ID, and phone; the address is kept (new
firms share buildings). Prints the mix, wall time, records/s, joined/created counts and peak
RSS, and the process's CPU seconds beside the wall time (on a shared box the wall time follows
the load; the CPU time much less), its child processes' (a standardizing worker) apart, with
the seconds the process waited for a CPU (its threads' run-queue delay, /proc schedstat: on a
loaded box that, not I/O, is most of wall minus CPU) and the bytes it wrote to disk. `--phases` adds the same figures per step of the ingest (read and
standardize, store, neighbourhood, pairs, clustering, golden records, documents, commit). The
store is copied first (into --workdir, default a temp folder), so the master is untouched; it
is opened (and migrated, when older) before the clock starts.

Usage: python benchmarks/bench_incremental.py --db MASTER.duckdb --fixtures DIR [--records 10000]
       [--updates 0.2] [--chunk N] [--workdir DIR] [--phases]
(MASTER must have been through `resolver train` and `resolver resolve` for enterprise.)
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, os.environ.get("PYTHONPATH") or str(ROOT))
sys.path.insert(1, str(ROOT))  # fixtures.ids, also when an older checkout is measured through PYTHONPATH


# Characters of new trade names (four: ~5M names, few shared by chance) and of legal
# representatives' names (often shared, as in the master).
_TRADE = "华新宏达明泰恒远德胜鑫源博雅天成金茂瑞丰嘉禾万通联创永安星河云帆青松安信海纳启明盛隆汇智景润晨光翔宇卓越"
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建文辉力鹏飞"


def _new_firm(cells: list[str], n: int, rng: random.Random) -> list[str]:
    """An existing tax row (记录编号, 纳税人识别号, 纳税人名称, 法定代表人, 法定代表人身份证件号码,
    生产经营地址, 联系电话, …) turned into a new firm's."""
    from fixtures.ids import make_org_code, make_ric, make_uscc

    out = list(cells)
    out[0] = f"NEW{n:09d}"
    out[1] = make_uscc("91", "330106", make_org_code(rng))
    trade = "".join(rng.choice(_TRADE) for _ in range(4))
    out[2] = f"杭州{trade}{rng.choice(['科技', '贸易', '建材', '餐饮', '电子', '物流'])}有限公司"
    out[3] = rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(2))
    birth = f"{rng.randint(1960, 1999)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    out[4] = make_ric("330106", birth, rng.randrange(1000))
    out[6] = f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"
    return out


def new_tax_file(fixtures: Path, out: Path, n: int, updates: float, seed: int = 11) -> tuple[int, int]:
    """Write n tax rows (same encoding, title and header lines): `updates` of them existing rows
    with a new phone, the rest new firms. Returns (new firms, updates)."""
    manifest = json.loads((fixtures / "manifest.json").read_text(encoding="utf-8"))
    entry = next(f for f in manifest["files"] if f["source"] == "tax")
    encoding = entry.get("encoding") or "utf-8"
    lines = (fixtures / entry["file"]).read_bytes().decode(encoding).split("\n")
    head = lines[: entry["header_row"]]
    body = [line.rstrip("\r") for line in lines[entry["header_row"]:] if line.strip()]
    rng = random.Random(seed)
    picked = rng.sample(body, min(n, len(body)))
    changed = int(len(picked) * updates)
    rows = []
    for i, line in enumerate(picked):
        cells = next(csv.reader([line]))
        if i < changed:  # a known taxpayer's new phone
            cells[6] = f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"
        else:
            cells = _new_firm(cells, i, rng)
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="").writerow(cells)
        rows.append(buffer.getvalue())
    out.write_bytes("\n".join([*(h.rstrip("\r") for h in head), *rows, ""]).encode(encoding))
    return len(picked) - changed, changed


def waited() -> float:
    """Seconds this process's live threads have waited for a CPU (run-queue delay, summed over
    threads: DuckDB's workers count too)."""
    total = 0
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/schedstat") as f:
                total += int(f.read().split()[1])
        except (OSError, IndexError, ValueError):
            continue  # a thread that ended meanwhile; no schedstat on this kernel
    return total / 1e9


def _children_cpu() -> float:
    """CPU seconds of this process's ended child processes (a standardizing worker's)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def written() -> int:
    """Bytes this process has caused to be written to disk."""
    try:
        with open("/proc/self/io") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("write_bytes"))
    except (OSError, StopIteration):
        return 0


# (module, attribute, label): the steps --phases times, in the order they run; a step an older
# checkout lacks is left out.
PHASES = [
    ("resolver.incremental", "prepare", "read + standardize"),
    ("resolver.store.store:Store", "_ingest_in", "store records"),
    ("resolver.store.bulk_link:BulkNeighbourhood", "gather", "neighbourhood"),
    ("resolver.store.bulk_link:BulkNeighbourhood", "candidate_pairs", "candidate pairs"),
    ("resolver.store.bulk_link:BulkNeighbourhood", "levels", "levels + tf"),
    ("resolver.linking.cluster", "cluster_with_constraints", "clustering"),
    ("resolver.store.store:Store", "_plan_resolution", "master IDs (plan)"),
    ("resolver.store.store", "build_golden", "golden records"),
    ("resolver.store.docs", "refresh", "documents"),
    ("resolver.store.commits", "commit", "commit (+ checkpoint)"),
]


def time_phases() -> dict[str, list[float]]:
    """Wrap the PHASES: label → [wall s, CPU s, waited s, MB written, calls]."""
    import importlib

    figures: dict[str, list[float]] = {}
    for where, name, label in PHASES:
        module, _, cls = where.partition(":")
        owner: Any = importlib.import_module(module)
        owner = getattr(owner, cls, None) if cls else owner
        func = getattr(owner, name, None) if owner is not None else None
        if func is None:
            continue
        figures[label] = [0.0, 0.0, 0.0, 0.0, 0]

        def timed(*args: Any, _func: Callable[..., Any] = func, _label: str = label, **kwargs: Any) -> Any:
            wall, cpu, wait, wrote = time.perf_counter(), time.process_time(), waited(), written()
            try:
                return _func(*args, **kwargs)
            finally:
                f = figures[_label]
                f[0] += time.perf_counter() - wall
                f[1] += time.process_time() - cpu
                f[2] += waited() - wait
                f[3] += (written() - wrote) / 1e6
                f[4] += 1

        setattr(owner, name, timed)
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--fixtures", type=Path, required=True)
    ap.add_argument("--records", type=int, default=10_000)
    ap.add_argument("--updates", type=float, default=0.2, help="share of the records that update a known taxpayer")
    ap.add_argument("--chunk", type=int, default=None,
                    help="records per transaction (default: ingest_incremental's own; omit it to measure "
                         "an older checkout through PYTHONPATH)")
    ap.add_argument("--workdir", type=Path, default=None, help="where the store's copy goes (default: a temp folder)")
    ap.add_argument("--phases", action="store_true", help="wall, CPU, CPU wait and bytes written per step")
    args = ap.parse_args()
    from box import line as box_line  # benchmarks/box.py, the yardstick
    print(box_line(), flush=True)
    figures = time_phases() if args.phases else {}

    from resolver.incremental import ingest_incremental
    from resolver.store import open_store

    tmp = Path(tempfile.mkdtemp(prefix="bench_incr_", dir=args.workdir))
    db = tmp / "master.duckdb"
    shutil.copy(args.db, db)
    firms, updates = new_tax_file(args.fixtures, tmp / "new_tax.csv", args.records, args.updates)
    n = firms + updates
    store = open_store(db)
    before = store.cursor().execute("SELECT count(*) FROM records_enterprise").fetchall()[0][0]
    print(f"master: {before} enterprise source records; file: {firms} new firms, {updates} updates of known "
          f"taxpayers (a new phone); load average {os.getloadavg()[0]:.2f}")
    started, cpu, wait, bytes_before = time.perf_counter(), time.process_time(), waited(), written()
    children = _children_cpu()
    result = ingest_incremental(store, ROOT / "matching_rules" / "sources" / "tax.yaml", tmp / "new_tax.csv",
                                **({"chunk": args.chunk} if args.chunk else {}))
    store.close()  # timed too: closing checkpoints what the ingest wrote
    seconds, cpu, wait = time.perf_counter() - started, time.process_time() - cpu, waited() - wait
    children = _children_cpu() - children
    wrote = (written() - bytes_before) / 1e6
    print(f"{n} new records, {args.chunk or 'default'} per transaction, in {seconds:.1f}s ({n / seconds:.0f} records/s), "
          f"{cpu:.1f} CPU s (+ {children:.1f} in child processes), {wait:.1f} s waiting for a CPU, "
          f"{wrote:.0f} MB written; neighbourhood "
          f"{result.neighbourhood}; joined {result.joined}, new entities {result.created}; "
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; "
          f"load average {os.getloadavg()[0]:.2f}")
    if figures:
        print(f"{'step':24s} {'wall s':>7s} {'CPU s':>6s} {'wait s':>6s} {'MB out':>6s}")
        for label, (w, c, q, mb, calls) in figures.items():
            if calls:
                print(f"{label:24s} {w:7.1f} {c:6.1f} {q:6.1f} {mb:6.0f}")
        print(f"{'(the rest)':24s} {seconds - sum(f[0] for f in figures.values() if f[0]) :7.1f} "
              f"{cpu - sum(f[1] for f in figures.values()):6.1f}")
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
