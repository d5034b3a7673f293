"""A big file's standardizing starts before its rows are mapped (resolver.standardize.records.
standardize_ahead), and gives what the serial path gives: the same frame, the same rejections,
also when the mapping drops rows and when bad rows sit at the file's end."""

import hashlib
from pathlib import Path

import pandas as pd
import pytest

import resolver.ingest as ingest_module
from resolver import canonical
from resolver.ingest import prepare
from resolver.standardize import frame as frame_module
from resolver.standardize import records as records_module

SAMPLE = Path("fixtures/sample")
TAX = Path("matching_rules/sources/tax.yaml")


@pytest.fixture
def counted(monkeypatch):
    """The worker's shares handed out so far (their sizes), with the fixture's ~1.4k rows big enough to share."""
    submitted: list[int] = []
    submit = frame_module.Frame._submit

    def counting(self, func, items, batch):
        submitted.append(len(items))
        return submit(self, func, items, batch)

    monkeypatch.setattr(frame_module.Frame, "_submit", counting)
    monkeypatch.setattr(records_module, "PARALLEL_FROM_ROWS", 2)
    monkeypatch.setattr(frame_module, "_PARALLEL_MIN_ITEMS", 2)
    return submitted


def _serial(monkeypatch, file):
    with monkeypatch.context() as m:
        m.setattr(records_module, "PARALLEL_FROM_ROWS", 10**9)
        return prepare(TAX, file)


def _same(serial, ahead):
    pd.testing.assert_frame_equal(serial.records, ahead.records, check_exact=True)
    assert serial.rejections == ahead.rejections
    assert serial.account() == ahead.account()


def test_the_worker_has_its_shares_before_the_rows_are_mapped(monkeypatch, counted):
    serial = _serial(monkeypatch, SAMPLE / "tax_taxpayers.csv")
    assert not counted
    at_mapping: list[int] = []
    apply_mapping = ingest_module.apply_mapping

    def mapping(*args, **kwargs):
        at_mapping.append(len(counted))
        return apply_mapping(*args, **kwargs)

    monkeypatch.setattr(ingest_module, "apply_mapping", mapping)
    ahead = prepare(TAX, SAMPLE / "tax_taxpayers.csv")
    assert at_mapping and at_mapping[0] >= 3  # names, identifiers, addresses ... queued before the mapping
    # the early shares were used: only fields that are not queued ahead (few values) went after it
    assert len(counted) - at_mapping[0] < at_mapping[0]
    assert len(serial.records) > 1000
    _same(serial, ahead)


def _broken_tail(tmp_path) -> Path:
    """The fixture's tax file with bad rows at its end: a line with too many fields, a malformed
    quote, no record id, a repeated record id, and a date that cannot be read."""
    data = (SAMPLE / "tax_taxpayers.csv").read_bytes().decode("gb18030").replace("\r\n", "\n").rstrip("\n").split("\n")
    first = data[2].split(",")
    rows = [
        ",".join(["SWX00001", *first[1:], "多出来的一列"]),
        'SWX00002,91330105307973923G,"杭州引号没关的公司,姚瑾,,,,,,,,,',
        ",".join(["", *first[1:]]),
        ",".join(first),  # the first record's id again
        ",".join(["SWX00005", *first[1:7], "2024-13-45", *first[8:]]),
    ]
    path = tmp_path / "tax_tail.csv"
    path.write_bytes("\n".join([*data, *rows, ""]).encode("gb18030"))
    return path


def test_rows_the_mapping_drops_at_the_end_give_the_serial_frame_and_rejections(tmp_path, monkeypatch, counted):
    path = _broken_tail(tmp_path)
    serial = _serial(monkeypatch, path)
    ahead = prepare(TAX, path)
    _same(serial, ahead)
    lines = len(path.read_bytes().decode("gb18030").rstrip("\n").split("\n"))
    reasons = {r.row_number: (r.file, r.field, r.reason) for r in ahead.rejections}
    assert sorted(reasons) == list(range(lines - 4, lines + 1))
    assert all(file == str(path) for file, _, _ in reasons.values())
    assert reasons[lines - 4][1] == "*" and "fields, header has" in reasons[lines - 4][2]
    assert reasons[lines - 3][1] == "*" and "malformed CSV" in reasons[lines - 3][2]
    assert reasons[lines - 2][1:] == ("记录编号", "missing record id")
    assert reasons[lines - 1][1] == "记录编号" and "duplicate record id" in reasons[lines - 1][2]
    assert reasons[lines][1] == "登记日期" and "date unparseable" in reasons[lines][2]


def test_the_raw_rows_json_comes_back_as_arrow_text(monkeypatch):
    rows = pd.DataFrame({"名称": ["甲", None, "丙"], "编号": ["1", "2", None]}, dtype="object")
    text, hashes = canonical._raw_json(rows)
    assert isinstance(text, pd.arrays.ArrowStringArray) and isinstance(hashes, pd.arrays.ArrowStringArray)
    monkeypatch.setattr(canonical, "_arrow_text", lambda frame: None)  # DuckDB reads the objects
    objects, object_hashes = canonical._raw_json(rows)
    assert list(text) == objects == ['{"名称":"甲","编号":"1"}', '{"名称":null,"编号":"2"}', '{"名称":"丙","编号":null}']
    assert list(hashes) == object_hashes
    mixed = pd.DataFrame({"n": [1, "2"]}, dtype="object")
    by_objects = canonical._raw_json(mixed)
    monkeypatch.undo()  # a cell that is not text takes the objects' path
    assert canonical._raw_json(mixed) == by_objects == (['{"n":"1"}', '{"n":"2"}'], [md5("1"), md5("2")])


def md5(value: str) -> str:
    return hashlib.md5(f'{{"n":"{value}"}}'.encode()).hexdigest()
