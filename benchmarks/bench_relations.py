"""Benchmark: relations across domains and the 协查 answers; prints medians.

    .venv/bin/python benchmarks/bench_relations.py [--records 100000] [--shape sample]
    .venv/bin/python benchmarks/bench_relations.py --db M.duckdb --data FIXTURE_DIR   # an existing store

Without --db it generates a fixture folder of --records source records and runs the pipeline on
it (ingest, train, resolve both domains: the resolve builds the relations). Then, on a copy of
the store: the rebuild of every relation table (as a person resolve does it, in one
transaction; median of --repeat), its evidence rows per relation and the precision/recall of
the legal-representative and employer links against truth_relations.csv; median and p99 ms of
the relations answer and of the verification answer over --calls entities (documents from
memory, evidence from DuckDB, as the server reads them); and `resolver verify`'s batch over
--applicants applicants (documents from the store, as the CLI reads them).
"""

from __future__ import annotations

import argparse
import logging
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "relations"))

from relations_support import ShapeStore, score  # noqa: E402

from resolver.lookup.doc_cache import DocCache  # noqa: E402
from resolver.relations.answer import entity_relations  # noqa: E402
from resolver.relations.batch import verify_batch  # noqa: E402
from resolver.relations.build import relations_to_rebuild  # noqa: E402
from resolver.relations.verification import verify_entity  # noqa: E402
from resolver.store import open_store  # noqa: E402
from resolver.store import relations as relation_tables  # noqa: E402


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    return f"median {statistics.median(ordered):.2f} ms, p99 {ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]:.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--shape", default="sample")
    parser.add_argument("--db", type=Path, help="an existing store with both domains resolved")
    parser.add_argument("--data", type=Path, help="the fixture folder the --db store was built from")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--applicants", type=int, default=200)
    args = parser.parse_args()
    logging.getLogger("splink").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.db is None:
            from fixtures.generate import generate
            from fixtures.quality import run_pipeline

            started = time.perf_counter()
            generate(work / "data", args.records, shape=args.shape, workers=1)
            run_pipeline(work / "data", work / "built.duckdb")
            print(f"generated and resolved {args.records} records ({args.shape}) in {time.perf_counter() - started:.0f} s")
            source, data = work / "built.duckdb", work / "data"
        else:
            source, data = args.db, args.data
        db = work / "m.duckdb"
        shutil.copy(source, db)
        if data is not None:
            built = ShapeStore(args.shape, data, db)
            for what, spec in (("legal representative", (("legal_representative", "operator"),
                                                         ["legal_rep", "legal_rep_id"], "enterprise")),
                               ("employer", (("employer",), ["employer"], "person"))):
                f = score(built, *spec)
                print(f"{what}: precision {f['precision']:.4f}, recall {f['recall']:.4f} "
                      f"({f['built']} links built, {f['reachable']} true links with evidence)")
        store = open_store(db)
        try:
            relations = relations_to_rebuild("person")
            seconds, counts = [], {}
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                with store.transaction() as con:
                    counts = relation_tables.rebuild(con, "person", relations)
                seconds.append(time.perf_counter() - t0)
            grew = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss) / 1024
            records = sum(len(store.membership(d)) for d in ("enterprise", "person"))
            print(f"rebuild of the relation tables over {records} source records: median "
                  f"{statistics.median(seconds):.2f} s of {args.repeat} (peak RSS grew {grew:.0f} MiB); "
                  + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + " evidence rows")
            with store.reader() as reader:
                caches = {d: DocCache(reader, d) for d in ("enterprise", "person")}
                docs = caches.__getitem__
                rows = reader.relation_rows("enterprise", "person")
                enterprises = sorted({r["from_id"] for r in rows if r["relation"] != "employer"})[:args.calls]
                people = sorted({r["to_id"] for r in rows if r["relation"] != "employer"}
                                | {r["from_id"] for r in rows if r["relation"] == "employer"})[:args.calls]
                for label, ids, domain in (("relations of an enterprise", enterprises, "enterprise"),
                                           ("relations of a person", people, "person")):
                    times = []
                    for entity_id in ids:
                        t0 = time.perf_counter()
                        entity_relations(reader, docs, domain, entity_id, lambda d: False)
                        times.append((time.perf_counter() - t0) * 1000)
                    print(f"{label}: {_ms(times)} over {len(ids)} entities")
                times = []
                for entity_id in people:
                    t0 = time.perf_counter()
                    verify_entity(reader, docs, "person", entity_id, lambda d: False)
                    times.append((time.perf_counter() - t0) * 1000)
                print(f"verification of a person: {_ms(times)} over {len(people)} people")
                ids = [r[0] for r in store.cursor().execute(
                    "SELECT id_number FROM records_person WHERE source = 'police' AND id_number_valid "
                    "ORDER BY unique_id LIMIT ?", [args.applicants]).fetchall()]
            applicants = work / "applicants.csv"
            applicants.write_text("身份证号\n" + "\n".join(ids) + "\n", encoding="utf-8")
            t0 = time.perf_counter()
            outcome = verify_batch(store, applicants, work / "out.xlsx", "bench", False)
            took = time.perf_counter() - t0
            print(f"resolver verify: {outcome.found} of {outcome.applicants} applicants in {took:.1f} s "
                  f"({took / max(outcome.applicants, 1) * 1000:.0f} ms each, XLSX included)")
        finally:
            store.close()


if __name__ == "__main__":
    main()
