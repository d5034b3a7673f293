"""`resolver ingest` on a broken file: good rows land, broken rows are quarantined with reasons."""

import subprocess
import sys

from resolver.store import open_store

MAPPING = """\
source: quality
domain: enterprise
record_id: 检查编号
encoding: gb18030
columns:
  组织机构代码: org_code
  单位名称: name
  检查日期: activity_date
"""


def _write(tmp_path):
    (tmp_path / "quality.yaml").write_text(MAPPING, encoding="utf-8")
    lines = [
        "检查编号,组织机构代码,单位名称,检查日期,检查人员",
        "Q1,12345678-9,杭州华新科技有限公司,2024年3月1日,李四",
        "Q2,,西湖区张三小吃店,2024/3/2,李四",
        ",77777777-1,没有编号的公司,2024-03-03,王五",
        "Q4,,日期坏了的公司,2024-13-45,王五",
    ]
    data = b"\n".join(line.encode("gb18030") for line in lines[:3])
    data += b"\nQ3,x,\xff\xfe\xfd\xfc broken,2024-03-03,x"  # not valid GB18030
    data += b"\n" + b"\n".join(line.encode("gb18030") for line in lines[3:]) + b"\n"
    (tmp_path / "quality.csv").write_bytes(data)


def _ingest(tmp_path):
    return subprocess.run(
        [sys.executable, "-m", "resolver", "ingest", "--db", str(tmp_path / "m.duckdb"),
         "--mapping", str(tmp_path / "quality.yaml"), str(tmp_path / "quality.csv")],
        capture_output=True, text=True, timeout=120)


def test_broken_rows_are_quarantined_and_good_rows_land(tmp_path):
    _write(tmp_path)
    first = _ingest(tmp_path)
    assert first.returncode == 0, first.stderr
    assert "read 5, loaded 2, updated 0, unchanged 0, quarantined 3" in first.stdout
    # Where every line went, printed and stored: 6 lines = 1 header + 2 loaded + 3 quarantined.
    assert "6 lines = 1 header + 2 loaded (2 new, 0 updated, 0 unchanged) + 3 quarantined" in first.stdout
    store = open_store(tmp_path / "m.duckdb", read_only=True)
    records = store.load_records("enterprise").set_index("source_record_id")
    assert sorted(records.index) == ["Q1", "Q2"]
    assert records.loc["Q1", "activity_date"] == "2024-03-01"
    assert '"检查人员":"李四"' in records.loc["Q1", "raw"]  # unmapped columns are kept
    q = store.quarantine("enterprise")
    runs = store.ingest_runs()
    store.close()
    assert runs[["lines", "header", "records", "quarantined", "unaccounted"]].values.tolist() == [[6, 1, 2, 3, 0]]
    got = sorted(zip(q["row_number"], q["field"], q["reason"], strict=True))
    assert [(row, field) for row, field, _ in got] == [(4, "*"), (5, "检查编号"), (6, "检查日期")]
    assert "cannot decode as gb18030" in got[0][2]
    assert got[1][2] == "missing record id"
    assert "date unparseable" in got[2][2]
    assert set(q["file"]) == {str(tmp_path / "quality.csv")} and set(q["source"]) == {"quality"}


def test_reingesting_the_same_file_changes_nothing(tmp_path):
    _write(tmp_path)
    assert _ingest(tmp_path).returncode == 0
    again = _ingest(tmp_path)
    assert "loaded 0, updated 0, unchanged 2" in again.stdout
    store = open_store(tmp_path / "m.duckdb", read_only=True)
    assert len(store.quarantine("enterprise")) == 3
    assert store.cursor().execute("SELECT count(*) FROM record_history").fetchall()[0][0] == 0
    store.close()


def test_a_missing_file_is_a_one_line_error(tmp_path):
    _write(tmp_path)
    (tmp_path / "quality.csv").unlink()
    result = _ingest(tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error:") and "file not found" in result.stderr
    assert "Traceback" not in result.stderr
