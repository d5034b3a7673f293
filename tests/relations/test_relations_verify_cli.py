"""`resolver verify` as an official runs it: a real process, applicants by ID number or name +
birth date from CSV, an XLSX with a cover sheet and Chinese headers, bad rows named by row and
column, one audit row per applicant answered."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import duckdb
import pandas as pd

from resolver.access.access_store import open_access
from resolver.access.audit import iter_audit


def test_a_batch_of_applicants_is_written_to_file(sample_store, tmp_path):
    db = tmp_path / "m.duckdb"
    shutil.copy(sample_store.db, db)
    con = duckdb.connect(str(db), read_only=True)
    try:
        people = con.execute("SELECT r.id_number, r.name, r.birth_date, m.entity_id FROM records_person r "
                             "JOIN membership m USING (unique_id) WHERE r.source = 'police' AND r.id_number_valid "
                             "AND r.birth_date IS NOT NULL ORDER BY r.unique_id LIMIT 2").fetchall()
    finally:
        con.close()
    (idn, _, _, first), (_, name, birth, second) = people
    applicants = tmp_path / "申请人.csv"
    applicants.write_text("身份证号,姓名,出生日期\n"
                          f"{idn},,\n"
                          f",{name},{birth}\n"
                          f"{idn[:-1]}{'0' if idn[-1] != '0' else '1'},,\n"   # a mistyped ID: check fails
                          f",{name},\n", encoding="utf-8-sig")
    out = tmp_path / "核查结果.xlsx"
    run = subprocess.run([sys.executable, "-m", "resolver", "verify", "--db", str(db), "--applicants",
                          str(applicants), "--out", str(out), "--operator", "王科员"],
                         capture_output=True, text=True, env={**os.environ}, timeout=300)
    assert run.returncode == 1, run.stderr  # two rows could not be checked: said, and listed in the file
    assert "row 4, column 身份证号" in run.stderr and "row 5, column 姓名" in run.stderr
    assert "Traceback" not in run.stderr and idn[:-1] not in run.stderr
    sheets = pd.read_excel(out, sheet_name=None, dtype=str, engine="openpyxl")
    assert list(sheets) == ["封面", "核查明细", "无法核查"]
    cover = dict(zip(sheets["封面"]["项目"], sheets["封面"]["内容"], strict=True))
    assert cover["操作人员"] == "王科员" and cover["申请人数"] == "4" and cover["已核查"] == "2"
    assert int(cover["数据来源部门数"]) >= 3 and "公安" in cover["数据来源部门"]
    detail = sheets["核查明细"]
    assert list(detail.columns[:4]) == ["申请人行号", "申请人姓名", "证件号码", "主体编号"]
    assert set(detail["主体编号"]) == {first, second}
    assert detail["证件号码"].str.endswith("*" * 12).all()  # masked without --pii
    assert (detail.loc[detail["部门"] == "公安", "来源记录"].str.startswith("police:")).all()
    assert detail["记录日期"].notna().all() or (detail["持有信息"] == "无记录").any()
    problems = sheets["无法核查"]
    assert list(problems["行号"]) == ["4", "5"] and list(problems["列"]) == ["身份证号", "姓名"]
    audit = [r for r in iter_audit(open_access(db)) if r["endpoint"] == "CLI verify"]
    assert len(audit) == 2 and {a["department"] for a in audit} == {"王科员"}
    assert all(any(e in str(a["returned_ids"]) for a in audit) for e in (first, second))
