"""What withholding personal fields from a match costs (docs/security.md): each source record of
a resolved store, held out, is matched against the rest as a caller with and without the
domain's pii scope; prints how often the top candidate is the record's own entity.

    .venv/bin/python benchmarks/bench_match_withheld.py --db out/demo/master.duckdb [--every 1]

Only records whose entity has another member count (a lone record has nothing to find).
"found" = top candidate is the own entity at or above the model's threshold (what an
incremental write would join); "wrong" = top candidate at or above the threshold is
another entity; "top-1" = own entity ranked first whatever its probability.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from resolver.access.masking import withhold_personal  # noqa: E402
from resolver.domains import load_schema  # noqa: E402
from resolver.lookup.match import match_record  # noqa: E402
from resolver.lookup.service import LookupService  # noqa: E402
from resolver.store import open_store  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--every", type=int, default=1, help="use every n-th record")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "master.duckdb"
        shutil.copy(args.db, copy)
        store = open_store(copy)
        service = LookupService(store)
        for domain in ("person", "enterprise"):
            model, index = service.model(domain)
            members = store.membership(domain)
            sizes = members["entity_id"].value_counts()
            entity_of = dict(zip(members["unique_id"], members["entity_id"], strict=True))
            records = store.load_records(domain)
            shared = {u for u, e in entity_of.items() if sizes.get(e, 0) > 1}
            records = records[records["unique_id"].isin(shared)]
            counts = {mode: {"found": 0, "wrong": 0, "top1": 0} for mode in ("pii", "no pii")}
            n = 0
            for rec in records.iloc[::args.every].to_dict("records"):
                fields = {f: str(rec[f]) for f in load_schema(domain).canonical_fields()
                          if f in rec and rec[f] is not None and rec[f] == rec[f] and str(rec[f])}
                n += 1
                for mode, unmasked in (("pii", True), ("no pii", False)):
                    query, _ = withhold_personal(domain, fields, unmasked)
                    if not query:
                        continue
                    row = service.standardize_one(domain, query)
                    row["unique_id"] = rec["unique_id"]  # held out: not its own candidate
                    ranked = match_record(service.view(domain).docs, domain, row, model, index, top=1, unmasked=unmasked)
                    if not ranked:
                        continue
                    top = ranked[0]
                    own = top["entity_id"] == entity_of[rec["unique_id"]]
                    counts[mode]["top1"] += own
                    if top["match_probability"] >= model.threshold:
                        counts[mode]["found" if own else "wrong"] += 1
            for mode, c in counts.items():
                print(f"{domain:<10} {mode:<7} records {n:>5}  found {c['found'] / n:6.1%}  "
                      f"wrong {c['wrong'] / n:6.2%}  top-1 {c['top1'] / n:6.1%}")
        store.close()


if __name__ == "__main__":
    main()
