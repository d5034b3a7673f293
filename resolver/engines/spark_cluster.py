"""Constrained clustering on Spark: the greedy of resolver.linking.cluster, in rounds.

The Python greedy takes scored pairs in descending match probability and unions their
components unless a constraint refuses it. Its outcome for an edge depends only on the two
components it touches, and those only on heavier edges. So an edge may be decided early as
long as every heavier edge touching either of its components is decided already; the result
is then the same as the global order's (the "locally dominant" argument of greedy matching).

Each round, on cluster-level tables only (no data reach the driver but counts):

1. every cluster's best edge (the heaviest left to any other cluster; ties broken by the
   pair's unique_ids, so the order is total);
2. a pair of clusters whose best edges are each other is a root; clusters whose best edge
   points at a root member are its leaves (a star: one round takes a whole star in);
3. per root, in one SQL `aggregate` over its leaves sorted heaviest first: the root edge, then
   each leaf edge while it is heavier than every other edge the grown cluster holds, merged
   unless the cluster-level summary refuses it (per constraint the one value the cluster holds;
   the clusters it holds a cannot-link to);
4. merged clusters take the smallest unique_id among them as ID; then every edge between
   two clusters that break a constraint or a cannot-link goes, all at once (clusters only
   grow, so the greedy would refuse each of them whenever it came to it).

Every round decides at least one edge (some pair of clusters is always mutual best), so the
rounds end; `max_rounds` bounds them anyway and the report says when the bound was hit (the
clusters are then valid but not all merges made). A round's tables read the previous
round's once: they are persisted, and checkpointed every `checkpoint_every` rounds (local
checkpoints in local mode, reliable ones on a cluster) so lineage stays short. Every round by
default: Spark re-analyses a table's whole lineage each time a plan reads it, so with a cut
every fifth round each round cost more than the last (enterprise sample: 17, 26, 29 s; cut each
round: 24, 16, 15, 12 s and a quarter less CPU). Must-links are
edges above every scored pair; cannot-links are pairs of clusters carried through the rounds.

The report has the Python report's figures. One difference: a refused pair is put down to the
first constraint its two final clusters break, where Python names the first they broke when it
came to the pair (the totals agree; the split can differ for clusters that break two).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from resolver.linking import constraints as constraints_mod
from resolver.linking.constraints import Constraint, DistinctKinds, DistinctWhenValid

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, Row, SparkSession

log = logging.getLogger(__name__)


def _q(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _lit(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _key_sql(con: Constraint, types: Mapping[str, str]) -> str:
    """A record's value under `con` as Spark SQL, NULL when it says nothing; the same classes
    as `con.codes` (pandas strings; NaN counts as missing)."""
    col = _q(con.column)
    text = f"CAST({col} AS STRING)"
    present = f"{col} IS NOT NULL" + (f" AND NOT isnan({col})" if types.get(con.column) in ("double", "float")
                                      else "")
    if isinstance(con, DistinctWhenValid):
        if con.valid_flag is not None and con.valid_flag in types:
            present += f" AND coalesce(CAST({_q(con.valid_flag)} AS BOOLEAN), false)"
        return f"CASE WHEN {present} THEN {text} END"
    if isinstance(con, DistinctKinds):
        listed = ", ".join(_lit(k) for k in con.kinds)
        return f"CASE WHEN NOT ({present}) THEN NULL WHEN {text} IN ({listed}) THEN {text} ELSE '' END"
    raise TypeError(f"not a constraint: {con!r}")


def _frame(spark: SparkSession, pairs: Any) -> DataFrame | None:
    """Decided pairs as a Spark DataFrame (a steward's decisions are few: pandas is fine)."""
    if pairs is None:
        return None
    if isinstance(pairs, pd.DataFrame):
        if pairs.empty:
            return None
        pairs = spark.createDataFrame(pairs[["unique_id_l", "unique_id_r"]].astype(str))
    from pyspark.sql import functions as F

    return pairs.select(F.col("unique_id_l").cast("string").alias("l"), F.col("unique_id_r").cast("string").alias("r"))


def _one(aggregate: DataFrame) -> Row:
    """The one row of a global aggregate (a count, a maximum): the only kind of result, with
    `_few`, that this module brings to the driver."""
    row = aggregate.first()
    if row is None:
        raise RuntimeError("a global aggregate returned no row")
    return row


def _few(frame: DataFrame, limit: int) -> list[Row]:
    """At most `limit` rows (examples for the report), never a whole table."""
    return frame.limit(limit).collect()


def _checkpoint(df: DataFrame, reliable: bool) -> DataFrame:
    """`df` materialized and cut from its plan, and from its plan's size estimate too.

    A checkpoint keeps its origin's estimate, and Catalyst estimates a join as the product of
    its inputs' sizes; carried from round to round, the estimate's digits multiply each round.
    A 1M-record store that needed 6 rounds spent minutes per plan multiplying BigIntegers
    (round 6: 200 s for 7 merges) and then failed. Rows over the checkpoint's RDD with no origin
    start from the default estimate each round (adaptive execution still sizes joins from the
    shuffles it runs)."""
    from pyspark.sql import DataFrame

    cut = df.checkpoint(eager=True) if reliable else df.localCheckpoint(eager=True)
    session, jdf = cut.sparkSession, cut._jdf
    rows = session._jsparkSession.internalCreateDataFrame(jdf.queryExecution().toRdd(), jdf.schema(), False)
    return DataFrame(rows, session)


def cluster_on_spark(
    spark: SparkSession,
    edges: DataFrame,
    records: DataFrame,
    constraints: Iterable[Constraint] | Mapping[str, Any],
    *,
    threshold: float | None = None,
    must_link: Any = None,
    cannot_link: Any = None,
    max_rounds: int = 200,
    checkpoint_every: int = 1,
    reliable_checkpoint: bool | None = None,
    max_examples: int = 20,
    report_out: dict[str, Any] | None = None,
) -> DataFrame:
    """Clusters of `records` (DataFrame[unique_id, cluster_id], cluster_id the smallest unique_id
    of the cluster) from scored `edges` (unique_id_l, unique_id_r, match_probability) under
    `constraints` (constraint objects, or a clustering dict: its constraints and, unless
    `threshold` is given, its match_probability_threshold; with objects and no threshold every
    edge counts). `must_link` / `cannot_link`: decided pairs (unique_id_l, unique_id_r), a Spark or
    pandas DataFrame; pairs naming a record not in `records` are left out and counted.
    `report_out`, when given, is filled with the figures of resolver.linking.cluster's report
    plus `rounds`, `converged` and per-round merges and seconds."""
    from pyspark.sql import functions as F

    started = time.perf_counter()
    if isinstance(constraints, Mapping):
        if threshold is None and constraints.get("match_probability_threshold") is not None:
            threshold = float(constraints["match_probability_threshold"])
        cons = constraints_mod.of(constraints)
    else:
        cons = tuple(constraints)
    if reliable_checkpoint is None:  # a lost executor loses local checkpoints: reliable on a cluster
        reliable_checkpoint = not (spark.sparkContext.master or "").startswith("local")
    names = [c.name for c in cons]
    codes = [f"c{i}" for i in range(len(cons))]
    types = dict(records.dtypes)
    missing = sorted({col for c in cons for col in c.columns[:1] if col not in types}
                     | ({"unique_id"} - set(types)))
    if missing:
        raise ValueError(f"records lack the column(s) {', '.join(missing)} the constraints read")

    recs = records.selectExpr("CAST(unique_id AS STRING) AS id",
                              *[f"{_key_sql(c, types)} AS {code}" for c, code in zip(cons, codes, strict=True)])
    ids = recs.select("id")
    counts = _one(recs.agg(F.count("*").alias("n"), F.countDistinct("id").alias("d")))
    n_records = int(counts["n"])
    if counts["d"] != n_records:
        raise ValueError("records.unique_id is not unique")

    scored = edges.select(F.col("unique_id_l").cast("string").alias("l"), F.col("unique_id_r").cast("string").alias("r"),
                          F.col("match_probability").cast("double").alias("p"))
    if threshold is not None:
        scored = scored.where(F.col("p") >= F.lit(float(threshold)))
    scored = scored.withColumn("tier", F.lit(0))
    # decided pairs: both records held, not a record with itself
    decided: dict[str, tuple[DataFrame | None, int, int]] = {}
    for kind, given in (("must_link", must_link), ("cannot_link", cannot_link)):
        frame = _frame(spark, given)
        if frame is None:
            decided[kind] = (None, 0, 0)
            continue
        kept = (frame.join(ids.withColumnRenamed("id", "l"), "l", "left_semi")
                .join(ids.withColumnRenamed("id", "r"), "r", "left_semi").where("l <> r"))
        kept = _checkpoint(kept, reliable_checkpoint)
        decided[kind] = (kept, int(_one(kept.agg(F.count("*")))[0]), int(_one(frame.agg(F.count("*")))[0]))
    must, cannot = decided["must_link"][0], decided["cannot_link"][0]

    all_edges = scored if must is None else scored.unionByName(
        must.select("l", "r", F.lit(1.0).alias("p"), F.lit(1).alias("tier")))
    all_edges = _checkpoint(all_edges, reliable_checkpoint)
    unknown = (all_edges.select(F.col("l").alias("id")).union(all_edges.select(F.col("r").alias("id")))
               .join(ids, "id", "left_anti").limit(1).count())
    if unknown:
        raise ValueError("pairs name source records that are not in records")

    key = F.struct(F.col("tier"), F.col("p"), F.col("l"), F.col("r")).alias("k")
    # cluster-level edges: one row per pair of clusters (x < y), its heaviest edge as key
    cl_edges = (all_edges.where("l <> r").select(F.least("l", "r").alias("x"), F.greatest("l", "r").alias("y"), key)
                .groupBy("x", "y").agg(F.max("k").alias("k")))
    active = cl_edges.select(F.col("x").alias("id")).union(cl_edges.select(F.col("y").alias("id"))).distinct()
    summary = recs.join(active, "id", "left_semi").withColumnRenamed("id", "cid").persist()
    labels = active.select(F.col("id"), F.col("id").alias("cid"))
    blocks = None if cannot is None else cannot.select(F.least("l", "r").alias("x"), F.greatest("l", "r").alias("y"))

    if blocks is not None:
        blocks = _checkpoint(blocks.distinct(), reliable_checkpoint)
    cl_edges = _checkpoint(_admissible(cl_edges, summary, blocks, codes), reliable_checkpoint)
    rounds: list[dict[str, Any]] = []
    held: list[DataFrame] = []  # the last round's persisted tables
    stale: list[DataFrame] = []  # the round before's: released once the next round has read `held`
    converged = False
    while len(rounds) < max_rounds:
        t0 = time.perf_counter()
        groups = _checkpoint(_round(cl_edges, summary, blocks, codes, reliable_checkpoint), reliable_checkpoint)
        counts = _one(groups.agg(F.count("*").alias("roots"), F.sum(F.when(F.col("ok"), F.size("members") - 1)
                                                                    .otherwise(0)).alias("merges")))
        for df in stale:  # two rounds old: the tables this round read are built now
            df.unpersist()
        if not counts["roots"]:  # no pair of clusters is mutual best: no edge is left
            converged = True
            break
        merged = groups.where("ok").select(F.explode("members").alias("old"), F.col("new"))
        mapping = merged.where("old <> new")
        summary = (summary.join(mapping.withColumnRenamed("old", "cid"), "cid", "left")
                   .select(F.coalesce("new", "cid").alias("cid"), *codes)
                   .groupBy("cid").agg(*[F.max(c).alias(c) for c in codes]))
        labels = (labels.join(mapping.withColumnRenamed("old", "cid"), "cid", "left")
                  .select("id", F.coalesce("new", "cid").alias("cid")))
        if blocks is not None:
            blocks = _relabel_pairs(blocks, mapping)
        cl_edges = _admissible(_relabel_edges(cl_edges, mapping), summary, blocks, codes)
        # each table reads its previous version once, so lineage grows by one step a round: the
        # tables the next round reads are persisted (built once, when it reads them), labels are
        # not (read at the end), and all are cut every `checkpoint_every` rounds
        tables = [cl_edges, summary] + ([blocks] if blocks is not None else [])
        if len(rounds) % checkpoint_every == checkpoint_every - 1:
            tables = [_checkpoint(t, reliable_checkpoint) for t in tables]
            labels = _checkpoint(labels, reliable_checkpoint)
            fresh = []
        else:
            tables = fresh = [t.persist() for t in tables]
        cl_edges, summary = tables[:2]
        blocks = tables[2] if blocks is not None else None
        stale, held = held, fresh
        rounds.append({"roots": int(counts["roots"]), "merges": int(counts["merges"]),
                       "seconds": round(time.perf_counter() - t0, 3)})
        log.info("round %d: %s", len(rounds), rounds[-1])
    left = 0 if converged else cl_edges.limit(1).count()
    if left:
        log.warning("constrained clustering stopped at its bound of %d rounds with edges left: "
                    "the clusters break no constraint but miss merges", max_rounds)

    clusters = (records.select(F.col("unique_id").cast("string").alias("unique_id"))
                .join(labels.withColumnRenamed("id", "unique_id"), "unique_id", "left")
                .select("unique_id", F.coalesce("cid", "unique_id").alias("cluster_id")))
    if report_out is not None:
        clusters = _checkpoint(clusters, reliable_checkpoint)
        report_out.update(_report(clusters, all_edges, recs, cannot, names, codes, threshold, n_records,
                                  decided, max_examples))
        report_out.update(rounds=len(rounds), converged=not left, per_round=rounds,
                          seconds=round(time.perf_counter() - started, 3))
    return clusters


def _codes_conflict(a: str, b: str, codes: list[str]) -> str:
    parts = [f"({a}.{c} IS NOT NULL AND {b}.{c} IS NOT NULL AND {a}.{c} <> {b}.{c})" for c in codes]
    return "(" + " OR ".join(["false", *parts]) + ")"


def _round(cl_edges: DataFrame, summary: DataFrame, blocks: DataFrame | None, codes: list[str],
           reliable: bool) -> DataFrame:
    """One round's groups: per root, `ok` (the root edge merged), `members` merged (first the
    root pair), `new` their smallest ID, `refused` leaves, `a`/`b` the root pair."""
    from pyspark.sql import functions as F

    directed = (cl_edges.select(F.col("x").alias("n"), F.col("y").alias("m"), "k")
                .union(cl_edges.select(F.col("y").alias("n"), F.col("x").alias("m"), "k")))
    best = (directed.groupBy("n").agg(F.max(F.struct("k", "m")).alias("b"))
            .select("n", F.col("b.k").alias("bk"), F.col("b.m").alias("bm")))
    best = _checkpoint(best, reliable)
    b2 = best.select(F.col("n").alias("n2"), F.col("bm").alias("bm2"))
    roots = (best.join(b2, (best.bm == b2.n2) & (b2.bm2 == best.n))
             .where("n < bm").select(F.col("n").alias("a"), F.col("bm").alias("b"), F.col("bk").alias("k")))
    root_nodes = (roots.select(F.col("a").alias("node"), F.col("a").alias("g"))
                  .union(roots.select(F.col("b").alias("node"), F.col("a").alias("g"))))
    leaves = (best.join(root_nodes, best.bm == root_nodes.node)
              .select(F.col("n").alias("leaf"), "g", F.col("bk").alias("k"))
              .join(root_nodes.select(F.col("node").alias("leaf")), "leaf", "left_anti"))
    tree = roots.select("k").union(leaves.select("k"))
    # o: each group node's heaviest edge that this round's tree does not decide
    nodes = root_nodes.select("node").union(leaves.select(F.col("leaf").alias("node")))
    other = (directed.join(nodes, directed.n == nodes.node, "left_semi")
             .join(tree, ["k"], "left_anti").groupBy("n").agg(F.max("k").alias("o")))
    info = summary.withColumnRenamed("cid", "n").join(other, "n", "left")
    if blocks is not None:
        held = (blocks.select(F.col("x").alias("n"), F.col("y").alias("m"))
                .union(blocks.select(F.col("y").alias("n"), F.col("x").alias("m")))
                .groupBy("n").agg(F.collect_set("m").alias("blk")))
        info = info.join(held, "n", "left")
    else:
        info = info.withColumn("blk", F.lit(None).cast("array<string>"))
    info = info.select("n", "o", F.coalesce("blk", F.array().cast("array<string>")).alias("blk"), *codes)
    node = F.struct(*[F.col(c) for c in codes], "o", "blk")
    # (Spark names are case-insensitive: the root pair is a/b, their summaries ra/rb)
    ia = info.select(F.col("n").alias("a"), node.alias("ra"))
    ib = info.select(F.col("n").alias("b"), node.alias("rb"))
    il = info.select(F.col("n").alias("leaf"), node.alias("L"))
    leaf_items = (leaves.join(il, "leaf")
                  .select("g", F.struct("k", "leaf", *[F.col(f"L.{c}").alias(c) for c in codes],
                                        F.col("L.o").alias("o"), F.col("L.blk").alias("blk")).alias("item"))
                  .groupBy("g").agg(F.sort_array(F.collect_list("item"), asc=False).alias("items")))
    rooted = (roots.join(ia, "a").join(ib, "b").join(leaf_items, roots.a == leaf_items.g, "left")
              .select("a", "b", "k", "ra", "rb", F.coalesce("items", F.array()).alias("items")))
    ok = f"NOT {_codes_conflict('ra', 'rb', codes)} AND NOT array_contains(ra.blk, b)"
    state = ("named_struct(" + "".join(f"'{c}', coalesce(ra.{c}, rb.{c}), " for c in codes)
             + "'mo', greatest(ra.o, rb.o), 'members', array(a, b), 'blk', array_union(ra.blk, rb.blk), "
             "'refused', CAST(array() AS array<string>))")
    take = ("named_struct(" + "".join(f"'{c}', coalesce(s.{c}, x.{c}), " for c in codes)
            + "'mo', greatest(s.mo, x.o), 'members', array_append(s.members, x.leaf), "
            "'blk', array_union(s.blk, x.blk), 'refused', s.refused)")
    refuse = ("named_struct(" + "".join(f"'{c}', s.{c}, " for c in codes)
              + "'mo', s.mo, 'members', s.members, 'blk', s.blk, 'refused', array_append(s.refused, x.leaf))")
    # a leaf edge lighter than an edge the grown cluster holds elsewhere waits for a later round
    step = (f"(s, x) -> CASE WHEN s.mo IS NOT NULL AND x.k < s.mo THEN s "
            f"WHEN {_codes_conflict('s', 'x', codes)} OR arrays_overlap(s.members, x.blk) THEN {refuse} "
            f"ELSE {take} END")
    folded = rooted.select("a", "b", F.expr(ok).alias("ok"), F.expr(f"aggregate(items, {state}, {step})").alias("s"))
    return folded.select("a", "b", "ok", F.col("s.members").alias("members"),
                         F.array_min("s.members").alias("new"), F.col("s.refused").alias("refused"))


def _relabel_pairs(pairs: DataFrame, mapping: DataFrame) -> DataFrame:
    from pyspark.sql import functions as F

    mx = mapping.select(F.col("old").alias("x"), F.col("new").alias("nx"))
    my = mapping.select(F.col("old").alias("y"), F.col("new").alias("ny"))
    moved = (pairs.join(mx, "x", "left").join(my, "y", "left")
             .select(F.coalesce("nx", "x").alias("u"), F.coalesce("ny", "y").alias("v")))
    return moved.select(F.least("u", "v").alias("x"), F.greatest("u", "v").alias("y")).distinct()


def _relabel_edges(cl_edges: DataFrame, mapping: DataFrame) -> DataFrame:
    from pyspark.sql import functions as F

    mx = mapping.select(F.col("old").alias("x"), F.col("new").alias("nx"))
    my = mapping.select(F.col("old").alias("y"), F.col("new").alias("ny"))
    moved = (cl_edges.join(mx, "x", "left").join(my, "y", "left")
             .select(F.coalesce("nx", "x").alias("u"), F.coalesce("ny", "y").alias("v"), "k")
             .where("u <> v")
             .select(F.least("u", "v").alias("x"), F.greatest("u", "v").alias("y"), "k"))
    return moved.groupBy("x", "y").agg(F.max("k").alias("k"))


def _admissible(cl_edges: DataFrame, summary: DataFrame, blocks: DataFrame | None, codes: list[str]) -> DataFrame:
    """The edges between clusters that may still merge. Two clusters that break a constraint (or
    a cannot-link) always will, as clusters only grow: the greedy refuses each of their edges
    whenever it comes to it, so they go now, all at once (a hub linked to many firms would
    otherwise give up one firm a round)."""
    from pyspark.sql import functions as F

    fine = cl_edges
    if codes:
        sx = summary.select(F.col("cid").alias("x"), F.struct(*codes).alias("sx"))
        sy = summary.select(F.col("cid").alias("y"), F.struct(*codes).alias("sy"))
        fine = (fine.join(sx, "x").join(sy, "y").where(f"NOT {_codes_conflict('sx', 'sy', codes)}")
                .select("x", "y", "k"))
    return fine if blocks is None else fine.join(blocks, ["x", "y"], "left_anti")


def _report(clusters: DataFrame, all_edges: DataFrame, recs: DataFrame, cannot: DataFrame | None,
            names: list[str], codes: list[str], threshold: float | None, n_records: int,
            decided: dict[str, Any], max_examples: int) -> dict[str, Any]:
    """The clustering report, from small aggregates. An edge whose records end in two clusters
    was refused (the greedy merges every edge it may); its constraint is the first the two
    final clusters break."""
    from pyspark.sql import functions as F

    sizes = clusters.groupBy("cluster_id").count()
    agg = _one(sizes.agg(F.count("*").alias("entities"), F.max("count").alias("largest")))
    summ = (recs.join(clusters.withColumnRenamed("unique_id", "id"), "id")
            .groupBy("cluster_id").agg(*[F.max(c).alias(c) for c in codes]))
    cl = clusters.select(F.col("unique_id").alias("l"), F.col("cluster_id").alias("cl"))
    cr = clusters.select(F.col("unique_id").alias("r"), F.col("cluster_id").alias("cr"))
    crossing = all_edges.join(cl, "l").join(cr, "r").where("cl <> cr")
    sl = summ.select(F.col("cluster_id").alias("cl"), *[F.col(c).alias(f"{c}_l") for c in codes])
    sr = summ.select(F.col("cluster_id").alias("cr"), *[F.col(c).alias(f"{c}_r") for c in codes])
    why = "CASE " + " ".join(f"WHEN {c}_l IS NOT NULL AND {c}_r IS NOT NULL AND {c}_l <> {c}_r THEN {_lit(n)}"
                             for c, n in zip(codes, names, strict=True)) + " ELSE 'decision:different' END"
    refused = crossing.join(sl, "cl").join(sr, "cr").withColumn("constraint", F.expr(why)).persist()
    by = {r["constraint"]: int(r["count"]) for r in _few(refused.groupBy("constraint").count(), len(names) + 1)}
    examples = [{"unique_id_l": r["l"], "unique_id_r": r["r"], "match_probability": float(r["p"]),
                 "constraint": r["constraint"]}
                for r in _few(refused.orderBy(F.desc("tier"), F.desc("p"), F.desc("l"), F.desc("r")), max_examples)]
    must_refused = [{"unique_id_l": r["l"], "unique_id_r": r["r"], "constraint": r["constraint"]}
                    for r in _few(refused.where("tier = 1").orderBy("l", "r"), 1000)]
    n_must, n_cannot = decided["must_link"][1], decided["cannot_link"][1]
    considered = all_edges.where("tier = 0").count()
    refused.unpersist()
    return {
        "threshold": threshold,
        "pairs_considered": int(considered),
        "merges": n_records - int(agg["entities"]),
        "refused": int(sum(by.values())),
        "refused_by_constraint": by,
        "refused_examples": examples,
        "entities": int(agg["entities"]),
        "source_records": n_records,
        "largest_entity": int(agg["largest"] or 0),
        "decisions": {"must_link": n_must, "cannot_link": n_cannot,
                      "not_in_records": decided["must_link"][2] + decided["cannot_link"][2] - n_must - n_cannot,
                      "must_link_refused": must_refused},
    }


__all__ = ["cluster_on_spark"]
