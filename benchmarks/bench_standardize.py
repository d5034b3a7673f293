"""Benchmark: standardize 1M enterprise records; prints rows/s and peak memory.

    .venv/bin/python benchmarks/bench_standardize.py [--rows 1000000] [--input FILE]

Without --input it synthesizes rows with a seeded RNG: ~400k companies, each seen in 2-3
records written differently (region in brackets, 有限责任公司, traditional characters,
hyphenated org codes, five date formats, phone prefixes), so about 30-60 % of the values
in a column are distinct, as in real department exports.
"""

from __future__ import annotations

import argparse
import datetime
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from resolver.standardize import ids  # noqa: E402
from resolver.standardize.records import standardize_records  # noqa: E402

_TRADE_CHARS = list("华新海康威视娃哈恒生明远达通宏泰鑫源盛兴隆嘉禾瑞丰安信诚博创金银凯越")
_INDUSTRY = ["科技", "电子", "贸易", "网络科技", "数字技术", "餐饮管理", "建设工程", "文化传媒",
             "服装", "食品", "物流", "医药", "五金", "建材", "咨询"]
_FORMS = ["有限公司", "有限公司", "有限公司", "股份有限公司", "集团有限公司"]
_DISTRICTS = ["西湖区", "上城区", "江干区", "下城区", "拱墅区", "滨江区", "萧山区", "余杭区",
              "临平区", "钱塘区", "富阳区"]
_ROADS = ["文三路", "文一西路", "莫干山路", "延安路", "学林街", "江南大道", "凯旋路", "解放路"]
_SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许单曾")
_GIVEN = list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂")
_TRAD = str.maketrans({"华": "華", "兴": "興", "电": "電", "贸": "貿", "务": "務", "丰": "豐"})
_EXCEL_EPOCH = datetime.date(1899, 12, 30)
_NUM_CN = "零一二三四五六七八九"
_STATUS = ["存续", "在业", "注销", "吊销", "开业", "迁出", "非正常"]


def _cn_number(n: int) -> str:
    """Simple Chinese numeral for 1-999 (百/十 form)."""
    hundreds, rest = divmod(n, 100)
    tens, ones = divmod(rest, 10)
    text = (_NUM_CN[hundreds] + "百") if hundreds else ""
    if tens:
        text += ("" if tens == 1 and not hundreds else _NUM_CN[tens]) + "十"
    elif hundreds and ones:
        text += "零"
    return text + (_NUM_CN[ones] if ones else "")


def _entities(n: int, rng: np.random.Generator) -> list[tuple]:
    """``n`` distinct-ish companies with valid codes; vectorised draws, one Python pass."""
    alphabet = np.array(list("0123456789ABCDEFGHJKLMNPQRTUWXY"))
    org8 = ["".join(r) for r in alphabet[rng.integers(0, 31, size=(n, 8))]]
    regions = np.array(["330106", "330102", "330108", "330110", "330100"])[rng.integers(0, 5, n)]
    born = rng.integers(0, 20000, n)
    trade_len = rng.integers(2, 5, n)
    trade_chars = np.array(_TRADE_CHARS)[rng.integers(0, len(_TRADE_CHARS), size=(n, 4))]
    given_len = rng.integers(1, 3, n)
    given = np.array(_GIVEN)[rng.integers(0, len(_GIVEN), size=(n, 2))]
    pick = {name: rng.integers(0, len(vals), n) for name, vals in (
        ("industry", _INDUSTRY), ("form", _FORMS), ("district", _DISTRICTS),
        ("surname", _SURNAMES), ("road", _ROADS), ("status", _STATUS))}
    house = rng.integers(1, 999, n)
    phone = rng.integers(0, 10**7, n)
    day = rng.integers(33000, 45000, n)
    seq = rng.integers(0, 1000, n)
    epoch = pd.Timestamp("1950-01-01")
    out = []
    for i in range(n):
        org = org8[i] + ids.org_code_check_char(org8[i])
        first17 = "91" + regions[i] + org
        id17 = "330106" + (epoch + pd.Timedelta(days=int(born[i]))).strftime("%Y%m%d") + \
            f"{seq[i]:03d}"
        out.append((
            "".join(trade_chars[i, : trade_len[i]]), _INDUSTRY[pick["industry"][i]],
            _FORMS[pick["form"][i]], _DISTRICTS[pick["district"][i]],
            first17 + ids.uscc_check_char(first17),
            _SURNAMES[pick["surname"][i]] + "".join(given[i, : given_len[i]]),
            id17 + ids.resident_id_check_char(id17), _ROADS[pick["road"][i]], int(house[i]),
            f"8{phone[i]:07d}", int(day[i]), _STATUS[pick["status"][i]],
        ))
    return out


def synthesize(rows: int, seed: int = 7) -> pd.DataFrame:
    """Enterprise records of ``rows`` rows in canonical columns, varied like real exports."""
    rng = np.random.default_rng(seed)
    n_entities = max(rows * 2 // 5, 1)
    ent = _entities(n_entities, rng)
    pick = rng.integers(0, n_entities, rows)
    # Half the records use a source's usual spelling; the rest spread over the variants.
    variant = np.where(rng.random((rows, 6)) < 0.5, 0, rng.integers(0, 6, size=(rows, 6)))
    records = []
    for i in range(rows):
        trade, industry, form, district, uscc, rep, rep_id, road, house, phone, day, status = \
            ent[pick[i]]
        v = variant[i]
        name = ["杭州" + trade + industry + form, trade + "(杭州)" + industry + form,
                "杭州市" + trade + industry + form.replace("有限公司", "有限责任公司"),
                ("杭州" + trade + industry + form).translate(_TRAD),
                "浙江杭州 " + trade + industry + form, "杭州" + trade + industry + form][v[0]]
        org = uscc[8:17]
        date = _EXCEL_EPOCH + datetime.timedelta(days=day)
        established = [date.strftime("%Y-%m-%d"), f"{date.year}/{date.month}/{date.day}",
                       date.strftime("%Y%m%d"), f"{date.year}年{date.month}月{date.day}日",
                       str(day), f"{date.year}.{date.month}.{date.day}"][v[1]]
        house_text = f"{_cn_number(house)}号" if v[2] == 5 else f"{house}号"
        address = ["杭州市", "浙江省", "", "浙江省杭州市", "杭州", "杭州市"][v[2]] + district + \
            road + house_text + ["", f"{house % 9 + 1}幢{house % 5 + 1}单元{house % 7 + 1}01室"][house % 2]
        records.append((
            "tax" if v[5] < 3 else "commerce", str(i), i + 2, name,
            [uscc, uscc.lower(), uscc, None, uscc, uscc][v[3]],
            [org, org[:8] + "-" + org[8], None, org, None, None][v[4]],
            ["330100" + org, None, None, None, "330100" + org, None][v[5]],
            rep, [rep_id, rep_id, rep_id[:6] + rep_id[8:17], None, rep_id, rep_id][v[1]],
            address,
            [phone, "0571-" + phone, "+86 571 " + phone, f"138{phone}", "(0571)" + phone,
             "0571" + phone][v[2]],
            established, status,
        ))
    columns = ["source", "source_record_id", "row_number", "name", "uscc", "org_code", "tax_id",
               "legal_rep", "legal_rep_id", "address", "phone", "established", "status"]
    df = pd.DataFrame.from_records(records, columns=columns)
    return df.astype({c: "string" for c in columns if c != "row_number"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--input", type=Path, help="CSV or Parquet with canonical columns")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, help="processes (default: 2 from 200k rows)")
    parser.add_argument("--save", type=Path, help="also write the synthesized rows to Parquet")
    args = parser.parse_args()

    started = time.perf_counter()
    if args.input:
        if args.input.suffix == ".parquet":
            df = pd.read_parquet(args.input)
        else:
            df = pd.read_csv(args.input, dtype="string")
        df = df.head(args.rows)
        if "row_number" not in df:
            df["row_number"] = np.arange(2, len(df) + 2)
    else:
        df = synthesize(args.rows, args.seed)
        if args.save:
            df.to_parquet(args.save)
    print(f"input: {len(df):,} rows in {time.perf_counter() - started:.1f}s")
    for col in df.columns:
        if col not in ("source", "source_record_id", "row_number"):
            print(f"  {col:14s} distinct {df[col].nunique() / max(len(df), 1):6.1%}")

    started = time.perf_counter()
    cpu_before = _cpu_seconds()
    out = standardize_records(df, "enterprise", workers=args.workers)
    elapsed = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu_before
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    flagged = (out["std_flags"] != "").mean()
    print(f"standardized {len(out):,} rows in {elapsed:.1f}s: {len(out) / elapsed:,.0f} rows/s, "
          f"peak memory {peak_gb:.2f} GB, {flagged:.1%} rows flagged")
    # Wall time depends on what else runs on the machine; CPU time does not.
    print(f"cpu {cpu:.1f}s (this process and its workers); load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


if __name__ == "__main__":
    main()
