"""A small master store built like production: raw canonical records → standardize_records →
ingest_frame → a model trained on them → save_resolution. Shared by tests/lookup and tests/api."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from resolver.linking.model import LinkModel, load_model, publish_model
from resolver.linking.rules import load_rules
from resolver.linking.train import train_model
from resolver.standardize import ids
from resolver.standardize.records import standardize_records
from resolver.store import Store, open_store

TRADE = ["华新", "宏达", "明泰", "恒远", "德胜", "鑫源", "博雅", "天成", "金茂", "瑞丰", "嘉禾", "万通",
         "联创", "永安", "星河", "云帆", "青松", "安信", "海纳", "启明"]
INDUSTRY = ["科技", "贸易", "建材", "餐饮", "电子", "服装", "物流", "食品", "机械"]
ROADS = ["文三路", "莫干山路", "延安路", "解放路", "天目山路", "学院路"]
DISTRICTS = ["西湖区", "拱墅区", "上城区", "滨江区", "余杭区"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚"
EXTRA = "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥金木水火土日月星"
SOURCES = ["tax", "commerce", "quality", "statistics"]


def uscc_for(rng: random.Random) -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    first8 = "".join(rng.choice("0123456789") for _ in range(8))
    org = first8 + ids.org_code_check_char(first8)
    body = "91330106" + org
    return body + ids.uscc_check_char(body) if body[-1] in alphabet else body + "0"


def resident_id_for(rng: random.Random) -> str:
    first17 = f"330106{rng.randint(1960, 1999)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(100, 999)}"
    return first17 + ids.resident_id_check_char(first17)


def raw_enterprises(n: int, seed: int = 7) -> pd.DataFrame:
    """Raw canonical enterprise records of `n` companies in 1-4 sources; `truth` is the entity."""
    rng = random.Random(seed)
    rows = []
    used: set[str] = set()
    for e in range(n):
        for _ in range(50):
            trade = rng.choice(TRADE) + rng.choice(TRADE)
            if trade not in used:
                break
        else:  # 400 two-word trade names run out: lengthen with characters derived from e
            trade = TRADE[e % 20] + EXTRA[(e // 20) % len(EXTRA)] + EXTRA[(e // 600) % len(EXTRA)] \
                + EXTRA[(e // 18000) % len(EXTRA)]
        used.add(trade)
        core = trade + rng.choice(INDUSTRY)
        uscc = uscc_for(rng)
        rep = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
        rep_id = resident_id_for(rng)
        phone = "13" + "".join(rng.choice("0123456789") for _ in range(9))
        district, road, house = rng.choice(DISTRICTS), rng.choice(ROADS), rng.randint(1, 300)
        for src in rng.sample(SOURCES, rng.randint(1, 4)):
            name = f"杭州{core}有限公司" if rng.random() < 0.8 else f"{core}(杭州)有限公司"
            rows.append({
                "source": src, "source_record_id": f"{src[0]}{e:05d}", "truth": f"T{e}",
                "name": name, "uscc": uscc if rng.random() < 0.85 else None,
                "legal_rep": rep, "legal_rep_id": rep_id if rng.random() < 0.6 else None,
                "phone": phone if rng.random() < 0.7 else None,
                "address": f"杭州市{district}{road}{house}号",
                "established": "2015-03-01", "status": "active",
            })
    return pd.DataFrame(rows)


def raw_people(n: int, seed: int = 8) -> pd.DataFrame:
    rng = random.Random(seed)
    rows = []
    for e in range(n):
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
        idn = resident_id_for(rng)
        phone = "13" + "".join(rng.choice("0123456789") for _ in range(9))
        for src in rng.sample(["police", "social_security", "civil_affairs"], rng.randint(1, 3)):
            # police still keeps some first-generation 15-digit numbers
            number = idn[:6] + idn[8:17] if src == "police" and e % 3 == 0 else idn
            rows.append({"source": src, "source_record_id": f"{src[0]}{e:05d}", "truth": f"P{e}",
                         "name": name, "id_number": number, "phone": phone,
                         "birth_date": f"{idn[6:10]}-{idn[10:12]}-{idn[12:14]}", "sex": "男"})
    return pd.DataFrame(rows)


def standardized(raw: pd.DataFrame, domain: str) -> pd.DataFrame:
    fields = [c for c in raw.columns if c not in ("truth",)]
    frame = standardize_records(raw[fields], domain)
    frame["row_number"] = range(1, len(frame) + 1)
    frame["raw"] = [json.dumps({k: v for k, v in r.items() if k not in ("source", "truth") and v is not None},
                               ensure_ascii=False, sort_keys=True) for r in raw[fields].to_dict("records")]
    frame["record_hash"] = frame["raw"]
    return frame


@dataclass
class Built:
    path: Path
    enterprises: pd.DataFrame
    people: pd.DataFrame
    model_path: Path


# n_enterprises → (file name, JSON) of the model trained on those records this session: the
# records are the same each time (seeded), so is the model; training is a second or two.
_TRAINED: dict[int, tuple[str, str]] = {}


def _trained(ent: pd.DataFrame, n_enterprises: int, models: Path) -> LinkModel:
    """The enterprise model of `ent`, saved in `models`: trained once per size and session,
    its file written again for each later store."""
    if n_enterprises not in _TRAINED:
        model = train_model(ent, load_rules("enterprise"), out_dir=models)
        assert model.path is not None
        _TRAINED[n_enterprises] = (Path(model.path).name, Path(model.path).read_text(encoding="utf-8"))
        return model
    name, text = _TRAINED[n_enterprises]
    models.mkdir(parents=True, exist_ok=True)
    (models / name).write_text(text, encoding="utf-8")
    return load_model(models / name)


def build_store(directory: Path, n_enterprises: int = 120, n_people: int = 60) -> Built:
    """A master store file with enterprises (resolved by truth, with a trained model) and people."""
    store: Store = open_store(directory / "master.duckdb")
    try:
        ent_raw = raw_enterprises(n_enterprises)
        ent = standardized(ent_raw, "enterprise")
        store.ingest_frame("enterprise", ent, [], "enterprise.csv")
        model = _trained(ent, n_enterprises, directory / "models")
        assert model.path is not None
        publish_model(store, model)
        clusters = pd.DataFrame({"unique_id": ent["unique_id"], "cluster_id": ent_raw["truth"]})
        store.save_resolution("enterprise", clusters, None, model.version)
        ppl_raw = raw_people(n_people)
        ppl = standardized(ppl_raw, "person")
        store.ingest_frame("person", ppl, [], "person.csv")
        store.save_resolution("person", pd.DataFrame({"unique_id": ppl["unique_id"],
                                                      "cluster_id": ppl_raw["truth"]}), None, "person-none")
        ent_raw = ent_raw.assign(unique_id=ent["unique_id"].to_numpy())
        ppl_raw = ppl_raw.assign(unique_id=ppl["unique_id"].to_numpy())
        return Built(directory / "master.duckdb", ent_raw, ppl_raw, model.path)
    finally:
        store.close()


def move_one_record(store: Store, domain: str = "enterprise") -> tuple[str, str]:
    """Incremental save that moves one record of another entity into the first entity;
    returns (the entity it joined, the entity it left)."""
    membership = store.membership(domain)
    target = membership["entity_id"].iloc[0]
    members = membership[membership["entity_id"] == target].rename(columns={"entity_id": "cluster_id"})
    moved = membership[membership["entity_id"] != target].iloc[[0]]
    clusters = pd.concat([members, moved.assign(cluster_id=target)[["unique_id", "cluster_id"]]])
    store.save_resolution(domain, clusters, None, "inc", incremental=True)
    return str(target), str(moved["entity_id"].iloc[0])
