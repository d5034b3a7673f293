"""Small standardized frames (docs/columns.md names) for linking tests, with known truth."""

from __future__ import annotations

import random

import pandas as pd

TRADE = ["华新", "宏达", "海康", "明泰", "恒远", "德胜", "鑫源", "博雅", "天成", "金茂", "瑞丰",
         "嘉禾", "东方", "万通", "联创", "永安", "星河", "云帆", "青松", "安信"]
INDUSTRY = ["科技", "贸易", "建材", "餐饮", "电子", "服装", "物流", "信息技术", "食品", "机械"]
ROADS = ["文三路", "莫干山路", "延安路", "解放路", "天目山路", "学院路", "教工路", "体育场路"]
DISTRICTS = ["330106", "330105", "330102", "330108", "330110"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国"
SOURCES = ["tax", "commerce", "quality", "statistics"]


def _code(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(n))


def enterprise_frame(n_entities: int = 200, seed: int = 1) -> pd.DataFrame:
    """Records of `n_entities` companies across 4 sources; column `entity_id` is the truth."""
    rng = random.Random(seed)
    rows = []
    for e in range(n_entities):
        trade = rng.choice(TRADE) + rng.choice(TRADE)[0]
        core = trade + rng.choice(INDUSTRY)
        uscc = "91330" + _code(rng, 13)
        branch = rng.random() < 0.05
        district = rng.choice(DISTRICTS)
        road, house = rng.choice(ROADS), str(rng.randint(1, 400))
        rep = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(["", rng.choice(GIVEN)])
        phone = "13" + "".join(rng.choice("0123456789") for _ in range(9))
        for src in rng.sample(SOURCES, rng.randint(1, 4)):
            name = f"杭州{core}有限公司" + ("分公司" if branch else "")
            if rng.random() < 0.2:
                name = f"{core}(杭州)有限公司" + ("分公司" if branch else "")
            has_uscc = rng.random() < 0.8
            u = uscc if has_uscc else None
            valid = True
            if has_uscc and rng.random() < 0.03:  # a typo breaks the check character
                i = rng.randrange(18)
                u = uscc[:i] + ("0" if uscc[i] != "0" else "1") + uscc[i + 1:]
                valid = False
            rows.append({
                "source": src, "source_record_id": f"{src[0]}{e:06d}",
                "name": name, "name_core": core, "trade_name": trade, "name_region": "杭州",
                "name_tokens": [trade, core[len(trade):]],
                "entity_kind": "branch" if branch else "company",
                "uscc": u, "uscc_valid": valid if u else None,
                "org_code": (u[8:17] if u else uscc[8:17]) if rng.random() < 0.95 else None,
                "org_code_valid": True,
                "legal_rep": rep if rng.random() < 0.9 else None,
                "legal_rep_id": None, "legal_rep_id_valid": None,
                "district_code": district if rng.random() < 0.9 else None,
                "road": road, "house_number": house if rng.random() < 0.9 else None,
                "phone": phone if rng.random() < 0.7 else None,
                "established": "2015-06-01", "activity_date": None, "status": "active",
                "entity_id": f"E{e}",
            })
    df = pd.DataFrame(rows)
    df["unique_id"] = df["source"] + ":" + df["source_record_id"]
    return df


def person_frame(n_entities: int = 200, seed: int = 2) -> pd.DataFrame:
    rng = random.Random(seed)
    rows = []
    for e in range(n_entities):
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(["", rng.choice(GIVEN)])
        birth = f"19{rng.randint(50, 99)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        idn = "330106" + birth.replace("-", "") + "".join(rng.choice("0123456789") for _ in range(4))
        phone = "13" + "".join(rng.choice("0123456789") for _ in range(9))
        for src in rng.sample(["police", "social_security", "civil_affairs", "housing_fund"],
                              rng.randint(1, 4)):
            rows.append({
                "source": src, "source_record_id": f"{src[0]}{e:06d}", "name": name,
                "name_pinyin": None, "id_number": idn, "id_number_valid": True,
                "id_birth_date": birth, "birth_date": birth, "birth_date_any": birth, "sex": "M",
                "district_code": rng.choice(DISTRICTS[:2]), "road": None, "house_number": None,
                "phone": phone if rng.random() < 0.6 else None, "entity_id": f"P{e}",
            })
    df = pd.DataFrame(rows)
    df["unique_id"] = df["source"] + ":" + df["source_record_id"]
    return df
