"""The safety net before listing an entity: its nearest tax record and why it was not accepted.

For every candidate commerce record (`ur_cand`), tax records are found through the scored
pairs of the last resolution and through direct equality on the rule file's candidate keys.
Each (commerce, tax) pair gets features (same valid code, same name …) and vetoes (two
different valid codes, branch vs head office, owned by another registered enterprise).
The best pair per commerce record lands in `ur_near`, with `accepted` when the rule file's
`link_review_when` says the linker should have joined them.
"""

from __future__ import annotations

import duckdb

from resolver.unregistered.facts import VETO_CONSTRAINTS, veto_sql
from resolver.unregistered.roles import Parts
from resolver.unregistered.rules import UnregisteredRules

# candidate key -> equality between commerce record c and tax record t, and the key itself
_KEYS = {
    "uscc": ("c.uscc IS NOT NULL AND (t.uscc = c.uscc OR t.tax_id = c.uscc)", "c.uscc"),
    "org_code": ("t.org_key = c.org_key", "c.org_key"),
    "name_core_district": ("t.name_core = c.name_core AND t.district_code = c.district_code",
                           "c.name_core || '|' || c.district_code"),
    "name": ("t.name_key = c.name_key", "c.name_key"),
    "trade_name_legal_rep": ("t.trade_name = c.trade_name AND t.legal_rep = c.legal_rep",
                             "c.trade_name || '|' || c.legal_rep"),
    "legal_rep_address": ("t.legal_rep = c.legal_rep AND t.district_code = c.district_code "
                          "AND t.road = c.road AND t.house_number = c.house_number",
                          "c.legal_rep || '|' || c.district_code || '|' || c.road || '|' || c.house_number"),
    "legal_rep_id": ("t.legal_rep_id = c.legal_rep_id AND c.legal_rep_id_valid", "c.legal_rep_id"),
    "operator_id": ("t.operator_id = c.legal_rep_id AND c.legal_rep_id_valid "
                    "AND c.entity_kind = 'individual_business'", "c.legal_rep_id"),
}
# the key value on the tax side, where it is not the same column as on the commerce side
_TAX_VALUE = {"operator_id": "t.operator_id"}

FEATURE_SQL = {
    "same_valid_uscc": "coalesce(c.uscc_key = t.uscc_key, false)",
    "same_valid_org_code": "coalesce(c.org_key = t.org_key, false)",
    "same_name_core_district": "coalesce(c.name_core = t.name_core AND c.district_code = t.district_code, false)",
    "same_name": "coalesce(c.name_key = t.name_key, false)",
    "same_legal_rep": "coalesce(c.legal_rep = t.legal_rep, false)",
    "same_address": "coalesce(c.district_code = t.district_code AND c.road = t.road "
                    "AND c.house_number = t.house_number, false)",
    "same_legal_rep_id": "coalesce(c.legal_rep_id = t.legal_rep_id AND c.legal_rep_id_valid, false)",
    "same_trade_name": "coalesce(c.trade_name = t.trade_name, false)",
    # a personal tax number belongs to an individual business, never to a company its operator also runs
    "same_operator_id": "coalesce(c.legal_rep_id = t.operator_id AND c.legal_rep_id_valid "
                        "AND c.entity_kind = 'individual_business', false)",
    "same_district": "coalesce(c.district_code = t.district_code, false)",
}

# Chinese labels for the features and vetoes shown to inspectors.
LABELS = {
    "same_valid_uscc": "统一社会信用代码相同", "same_valid_org_code": "组织机构代码相同",
    "same_name_core_district": "字号及行业相同且同区", "same_name": "名称相同",
    "same_legal_rep": "法定代表人相同", "same_address": "地址相同", "same_legal_rep_id": "法定代表人证件相同",
    "same_trade_name": "字号相同", "same_operator_id": "个人纳税识别号与经营者身份证一致",
    "same_district": "同区", "pair_probability": "模型匹配概率达标",
    "different_valid_uscc": "统一社会信用代码不同", "different_valid_org_code": "组织机构代码不同",
    "branch_mismatch": "一方为分支机构、另一方不是", "owned_elsewhere": "该税务记录已归属另一家登记企业",
}


def find_nearest(con: duckdb.DuckDBPyConnection, rules: UnregisteredRules, has_pairs: bool, parts: Parts) -> None:
    """Fill `ur_near` (one row per candidate registry record that has any tax record nearby)."""
    covering = f"t.source IN ({parts.covering})"
    cap = rules.max_candidates_per_key
    gens = []
    for key in rules.candidate_keys:
        cond, value = _KEYS[key]
        # Key values shared by many tax records identify nobody; they generate nothing.
        tvalue = _TAX_VALUE.get(key, value.replace("c.", "t."))
        gens.append(f"""
          SELECT c.unique_id AS c_uid, t.unique_id AS t_uid
          FROM ur_cand c JOIN ur_rec t ON {covering} AND {cond}
          WHERE {tvalue} IN (SELECT {tvalue} FROM ur_rec t WHERE {covering}
                             GROUP BY 1 HAVING count(*) <= {cap})""")
    # Tax members of the candidate's own entity: vetoed by construction, reported as such.
    gens.append(f"""
          SELECT c.unique_id, t.unique_id FROM ur_cand c
          JOIN ur_rec t ON t.entity_id = c.entity_id AND {covering}""")
    pair_sql = "SELECT NULL AS c_uid, NULL AS t_uid, NULL::DOUBLE AS p WHERE false"
    if has_pairs:
        # A pair scored between the tax record and any member of the candidate's entity.
        pair_sql = f"""
          SELECT c.unique_id AS c_uid, t.unique_id AS t_uid, max(pp.p) AS p
          FROM ur_cand c JOIN ur_rec m ON m.entity_id = c.entity_id
          JOIN (SELECT unique_id_l AS a, unique_id_r AS b, match_probability AS p FROM pairs_{parts.domain}
                UNION ALL
                SELECT unique_id_r, unique_id_l, match_probability FROM pairs_{parts.domain}) pp ON pp.a = m.unique_id
          JOIN ur_rec t ON t.unique_id = pp.b AND {covering}
          GROUP BY 1, 2"""
        gens.append("SELECT c_uid, t_uid FROM ur_scored")
    feats = ",\n".join(f"{sql} AS {name}" for name, sql in FEATURE_SQL.items())
    veto_parts = {
        **{name: veto_sql(name, "c", "t") for name in VETO_CONSTRAINTS},
        # The linker put the tax record with another registered enterprise: it is that one's,
        # unless only this commerce record shares a valid code with it.
        "owned_elsewhere": f"""t.entity_id <> c.entity_id AND EXISTS (
            SELECT 1 FROM ur_rec o WHERE o.entity_id = t.entity_id AND o.source IN ({parts.registry})
            AND (o.uscc_key = t.uscc_key OR o.org_key = t.org_key
                 OR NOT coalesce(c.uscc_key = t.uscc_key OR c.org_key = t.org_key, false)))""",
    }
    vetoes = ",\n".join(f"{'(' + veto_parts[v] + ')' if v in rules.vetoes else 'false'} AS {v}"
                        for v in veto_parts)
    combos = " OR ".join(
        "(" + " AND ".join(f"coalesce(f.pair_probability >= {rules.pair_probability_min}, false)"
                           if f == "pair_probability" else f"f.{f}" for f in combo) + ")"
        for combo in rules.link_review_when)
    any_veto = " OR ".join(f"f.{v}" for v in veto_parts)
    # One statement per step, each kept as a temp table: as one statement (about ten joins in one
    # pipeline) DuckDB could not spill it under 96 MB on the committed sample; each alone does.
    con.execute(f"CREATE OR REPLACE TEMP TABLE ur_scored AS {pair_sql}")
    con.execute("CREATE OR REPLACE TEMP TABLE ur_gen_all (c_uid VARCHAR, t_uid VARCHAR)")
    for gen in gens:
        con.execute(f"INSERT INTO ur_gen_all {gen}")
    con.execute("CREATE OR REPLACE TEMP TABLE ur_gen AS SELECT DISTINCT c_uid, t_uid FROM ur_gen_all")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE ur_judged AS
        WITH f AS (
          SELECT g.c_uid, g.t_uid, t.entity_id AS t_entity, t.source_record_id AS t_record_id,
            t.name AS t_name, t.tax_id AS t_tax_id, t.status AS t_status, s.p AS pair_probability,
            {feats},
            {vetoes}
          FROM ur_gen g JOIN ur_cand c ON c.unique_id = g.c_uid JOIN ur_rec t ON t.unique_id = g.t_uid
          LEFT JOIN ur_scored s ON s.c_uid = g.c_uid AND s.t_uid = g.t_uid)
        SELECT f.*, NOT ({any_veto}) AND ({combos}) AS accepted,
          ({' + '.join(f'f.{n}::INT' for n in FEATURE_SQL)}) AS n_features
        FROM f""")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE ur_near AS SELECT * FROM ur_judged
        QUALIFY row_number() OVER (PARTITION BY c_uid ORDER BY accepted DESC,
          coalesce(pair_probability, 0) DESC, n_features DESC, t_uid) = 1""")
    for table in ("ur_scored", "ur_gen_all", "ur_gen", "ur_judged"):
        con.execute(f"DROP TABLE {table}")


VETO_NAMES = ("different_valid_uscc", "different_valid_org_code", "branch_mismatch", "owned_elsewhere")
NEAR_FLAGS = (*FEATURE_SQL, *VETO_NAMES)


def explain(row: dict[str, object], rules: UnregisteredRules) -> tuple[str, str]:
    """(evidence found, why it was not accepted) in Chinese for one `ur_near` row."""
    found = "、".join(LABELS[f] for f in FEATURE_SQL if row.get(f) and f != "same_district") or "仅弱相似"
    vetoes = [LABELS[v] for v in VETO_NAMES if row.get(v)]
    if row.get("accepted"):
        return found, "证据足以认定为同一企业，但模型未将其关联：需人工核对关联"
    if vetoes:
        return found, "；".join(vetoes)
    p = row.get("pair_probability")
    if p is None:
        return found, "证据不足（无模型评分配对）"
    return found, f"证据不足（匹配概率 {float(str(p)):.2f} 低于关联阈值）"
