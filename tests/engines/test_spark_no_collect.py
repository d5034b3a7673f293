"""Nothing that grows with the data comes to the driver on the Spark path (issue #20).

Every call of `collect`, `toPandas`, `toLocalIterator`, `toArrow`, `take`, `head` or `tail` in
resolver/engines/spark*.py, and in resolver/linking/train.py (training runs on Spark with
`--engine spark`), fails this test unless the function it sits in is on the allow-list below,
with the reason its result stays small. Counts (`count`, `isEmpty`) are fine. What Splink itself
pulls while training is watched at run time (tests/engines/driver_watch.py, in test_engine_spark.py).
"""

from __future__ import annotations

import ast
from pathlib import Path

ENGINES = Path(__file__).resolve().parents[2] / "resolver" / "engines"
TRAINING = ENGINES.parent / "linking" / "train.py"
PULLS = {"collect", "toPandas", "toLocalIterator", "toArrow", "take", "head", "tail", "collectAsList"}

# (file, function) -> why what it brings back is small
ALLOWED = {
    ("spark.py", "prepare_input"): "blocking-key statistics: one row per key",
    ("spark.py", "query"): "the Engine protocol's pandas bridge for the in-memory path (Resolver.link, "
                           "notebooks, training's small queries); the Spark pipeline never calls it",
    ("spark_cluster.py", "_few"): "at most `limit` rows: the clustering report's examples",
    ("spark_standardize.py", "_trade_names"): "the trade-name dictionary every task tokenizes with: "
                                              "distinct trade names, not records",
    ("spark_ingest.py", "_blank_rows"): "the row numbers of an export's blank rows, for the ingest account "
                                        "(DuckDB's ingest lists them too)",
    ("spark_train.py", "count_and_fingerprint"): "a row per partition: its record count and unique_id hash sum",
}


def pulls(source: str, filename: str) -> list[tuple[str, str, int]]:
    """(function, method, line) of every driver pull in `source`, outside the allow-list."""
    found = []

    class Visitor(ast.NodeVisitor):
        def __init__(self) -> None:
            self.stack: list[str] = []

        def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
            self.stack.append(node.name)
            self.generic_visit(node)
            self.stack.pop()

        visit_AsyncFunctionDef = visit_FunctionDef

        def visit_ClassDef(self, node: ast.ClassDef) -> None:
            self.stack.append(node.name)
            self.generic_visit(node)
            self.stack.pop()

        def visit_Attribute(self, node: ast.Attribute) -> None:
            if node.attr in PULLS:
                owners = [(filename, name) for name in self.stack]
                if not any(o in ALLOWED for o in owners):
                    found.append((".".join(self.stack) or "<module>", node.attr, node.lineno))
            self.generic_visit(node)

    Visitor().visit(ast.parse(source))
    return found


def _files() -> list[Path]:
    return [*sorted(ENGINES.glob("spark*.py")), TRAINING]


def test_no_collect_of_records_or_pairs_on_the_spark_path():
    assert len(_files()) >= 8  # spark, spark_standardize, spark_link, spark_golden, spark_train, ..., train
    found = {f.name: pulls(f.read_text(encoding="utf-8"), f.name) for f in _files()}
    found = {k: v for k, v in found.items() if v}
    assert found == {}, f"driver pulls on the Spark path (allow-list them only if the result is small): {found}"


def test_the_scan_catches_a_pull_added_anywhere():
    source = ("def golden(frame):\n    rows = frame.collect()\n    return rows\n"
              "def ok(frame):\n    return frame.count()\n"
              "class X:\n    def m(self, f):\n        return f.select('a').toPandas()\n"
              "last = frame.toLocalIterator()\n")
    assert pulls(source, "spark_new.py") == [("golden", "collect", 2), ("X.m", "toPandas", 8),
                                             ("<module>", "toLocalIterator", 9)]
    # the allow-list is by file and function: the same call elsewhere in an allowed file fails
    assert pulls("def prepare_input(c):\n    c.collect()\n", "spark.py") == []
    assert pulls("def other(c):\n    c.collect()\n", "spark.py") == [("other", "collect", 2)]


def test_the_allow_list_names_functions_that_exist():
    defined = set()
    for f in _files():
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                defined.add((f.name, node.name))
    assert set(ALLOWED) <= defined, set(ALLOWED) - defined
