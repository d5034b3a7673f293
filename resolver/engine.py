"""One facade over the engine: train, publish, resolve, add records, explain.

    resolver = Resolver(store, "enterprise")       # rules: matching_rules/enterprise/ (DomainRules)
    model = resolver.train()                       # fitted on the store's source records, not yet served
    resolver.publish(model)                        # the store's newest model version
    resolution = resolver.resolve()                # link, cluster, master IDs, golden records
    resolver.add_records(mapping, file)            # incremental: new records join entities
    resolver.explain("tax:T1", "commerce:C9")      # one pair, comparison by comparison

The CLI, the demo, the notebooks and the benchmarks call this and nothing below it. A model
version alone determines a resolution: `train` records the clustering thresholds and
constraints and the survivorship rules in the model, and `resolve` uses those, whatever
the rule files say now. A model version from before survivorship travelled with the model
falls back to the current survivorship.yaml, and the resolution's notes say so.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from resolver.engines import Engine, get_engine
from resolver.errors import ConfigError, InputError, NotFoundError
from resolver.laps import Laps
from resolver.linking.cluster import cluster_with_constraints
from resolver.linking.evaluate import evaluate as evaluate_clusters
from resolver.linking.model import LinkModel, publish_model, published_model, save_model
from resolver.linking.predict import block_stats_frame, predict_pairs
from resolver.linking.sample import TrainingSample, default_size, parse_size, sample_in_memory
from resolver.linking.train import train_model
from resolver.review.decisions import decision_labels, decision_lines, decision_links
from resolver.rules import DomainRules
from resolver.store.golden import Survivorship, parse_survivorship

if TYPE_CHECKING:
    from splink import Linker

    from resolver.incremental import IncrementalResult
    from resolver.lookup.scoring import CompiledModel
    from resolver.readers import Rejection
    from resolver.store import Store
    from resolver.store.store import ResolutionSummary


Step = Callable[[str], None]


def _silent(name: str) -> None:
    """No progress shown."""


@dataclass
class Linkage:
    """Scored pairs and the clusters they make under a model's constraints; nothing written."""

    model: LinkModel
    pairs: pd.DataFrame
    clusters: pd.DataFrame
    report: dict[str, Any]
    blocking: list[dict[str, Any]]  # what each blocking key yielded (resolver.engines.inputs.KeyStats)
    seconds: dict[str, float]       # scoring and clustering wall time, for benchmarks and progress


@dataclass
class Resolution:
    """What `Resolver.resolve` did: counts, the master-ID events, and notes for a person."""

    domain: str
    model_version: str
    records: int
    pairs: int
    report: dict[str, Any]
    summary: ResolutionSummary
    notes: list[str] = field(default_factory=list)
    laps: Laps | None = None  # seconds per step (linking, then the save)

    @property
    def entities(self) -> int:
        return self.summary.entities

    def lines(self) -> list[str]:
        events = self.summary.events
        report = self.report
        refused = ", ".join(f"{name} {n}" for name, n in sorted(report["refused_by_constraint"].items()))
        return [
            f"{self.domain}: {self.records} source records -> {report['entities']} entities "
            f"(model version {self.model_version})",
            f"  links:      {report['merges']} merges from {self.pairs} scored pairs at match probability "
            f">= {report['threshold']} (the model version's); "
            f"{report['refused']} refused by constraint" + (f" ({refused})" if refused else ""),
            f"  master IDs: {events.get('create', 0)} created, {events.get('merge', 0)} merged, "
            f"{events.get('split', 0)} split, {events.get('retire', 0)} retired; "
            f"{self.summary.changed} entities changed",
            f"  largest entity: {report['largest_entity']} source records",
            *(["  relations:  " + ", ".join(f"{name} {n}" for name, n in sorted(self.summary.relations.items()))
               + " evidence records (relations.yaml)"] if self.summary.relations else []),
            *decision_lines(report.get("decisions")),
            *(f"  note: {note}" for note in self.notes),
        ]


class Resolver:
    """The engine for one domain of one master store (like Splink's `Linker`).

    `rules` defaults to the domain's rule folder (matching_rules/, or $RESOLVER_RULES), loaded
    when first needed: training reads it; resolving a published model version only falls back
    on it for a version that recorded no survivorship. The source records are read once and
    kept, with the engine's session, so that `resolve` right after `train` reuses the
    prepared input; `add_records` forgets them.
    """

    def __init__(self, store: Store | None, domain: str, rules: DomainRules | None = None,
                 engine: str | Engine = "duckdb", *, rules_root: str | Path | None = None):
        if rules is not None and rules.domain != domain:
            raise InputError(f"the rules of {rules.path} are {rules.domain}'s, not {domain}'s")
        self._store = store
        self.domain = domain
        self.engine = get_engine(engine)
        self._rules = rules
        self._rules_root = rules_root
        self._records: pd.DataFrame | None = None
        self._linking: tuple[frozenset[str], pd.DataFrame] | None = None  # the columns asked, what was read
        self._con: Any = None
        self._trained: dict[str, LinkModel] = {}

    @classmethod
    def for_records(cls, records: pd.DataFrame, domain: str, rules: DomainRules | None = None,
                    engine: str | Engine = "duckdb") -> Resolver:
        """A resolver over standardized source records held in memory, with no master store:
        `train`, `link` and `explain` work; publishing and resolving need a store."""
        resolver = cls(None, domain, rules, engine)
        resolver._records = records
        return resolver

    # -- components -------------------------------------------------------------------------

    @property
    def store(self) -> Store:
        if self._store is None:
            raise InputError(f"this {self.domain} resolver holds records without a master store: "
                             "open one to publish, resolve or add records")
        return self._store

    @property
    def rules(self) -> DomainRules:
        if self._rules is None:
            self._rules = DomainRules.load(self.domain, self._rules_root)
        return self._rules

    def records(self) -> pd.DataFrame:
        """Every current source record of the domain, standardized (read once)."""
        if self._records is None:
            self._records = self.store.load_records(self.domain)
        return self._records

    def linking_records(self, columns: set[str]) -> pd.DataFrame:
        """The source records with only `columns` (and unique_id, source), in unique_id order, as
        Arrow-backed pandas: what train and link read (all columns as Python objects took ~4 GB and
        35 s at 500k records). Records already in memory (`for_records`, `records()`) serve as they are."""
        if self._records is not None:
            return self._records
        wanted = frozenset({"unique_id", "source", *columns})
        if self._linking is None or not wanted <= self._linking[0]:
            if self._linking is not None:
                wanted |= self._linking[0]
            from resolver.store.store import records_table

            name = records_table(self.domain)
            if not self.store.has_table(name):
                return self.records()  # the store's own error: no records ingested yet
            with self.store.reader() as reader:
                table = reader.records_columns(name, ["unique_id", "source",
                                                      *sorted(wanted - {"unique_id", "source"})])
            self._linking = (wanted, table.to_pandas(types_mapper=pd.ArrowDtype))
        return self._linking[1]

    def _session(self) -> Any:
        if self._con is None:
            self._con = self.engine.connect()
            if self.engine.name == "duckdb" and self._store is not None:
                from resolver.engines.inputs import limit_session
                from resolver.store.store import linking_memory_limit

                # capped, and spilling beside the store (not into the working directory)
                limit_session(self._con, linking_memory_limit(), f"{self._store.path}.linking.tmp")
        return self._con

    def _release_session(self) -> None:
        """Close the linking session and forget the records read for linking. Splink's objects
        hold the connection in reference cycles: without the close its DuckDB (~0.6 GB at 1.16M
        records) lived on into the save until Python's collector happened to run."""
        con, self._con = self._con, None
        self._records = self._linking = None
        for model in self._trained.values():
            model.prepared = None  # prepared in the session closed here
        if con is not None and self.engine.name == "duckdb":
            con.close()
        gc.collect()

    def model(self, version: str | None = None) -> LinkModel:
        """The published model `version`, or the newest published one."""
        if version is None:
            latest = self.store.latest_model(self.domain)
            if latest is None:
                raise NotFoundError(f"no {self.domain} model trained yet: run `resolver train --db "
                                    f"{self.store.path} --domain {self.domain}` first")
            version = latest[0]
        if version in self._trained and version in self.store.model_versions(self.domain):
            return self._trained[version]  # the same model, with its prepared input
        return published_model(self.store, self.domain, version)

    # -- training ---------------------------------------------------------------------------

    def train(self, labels: pd.DataFrame | str | Path | None = None, *, decisions: bool = False,
              out_dir: str | Path | None = None, step: Step = _silent,
              sample: int | str | None = "default", seed: int | None = None) -> LinkModel:
        """Fit m and u on the source records with the domain rules; record the rules' hash,
        clustering and survivorship in the model, and write a JSON copy of it into `out_dir`
        when given. Not served until `publish`. `labels`: labelled pairs (unique_id_l,
        unique_id_r, is_match); with `decisions`, the data steward's same / different decisions
        recorded in the store are labels too (a pair in both: the labels file's).
        `sample`: train on at most this many records, a random sample drawn in the store with
        `seed` (default: training.yaml's `sample_records` and `seed`); "all" or None: every record."""
        rules = self.rules
        step("loading source records")
        columns = rules.linking.columns_used() | _constraint_columns(rules.clustering)
        size = default_size(rules.linking.training) if sample == "default" else parse_size(sample)
        if seed is None:
            seed = int(rules.linking.training.get("seed", 0))
        labelled = _labels(labels)
        decided = decision_labels(self.store, self.domain) if decisions else None
        if decided is not None:
            labelled = decided if labelled is None else _union_labels(labelled, decided)
        # the records of labelled pairs join the sample: Splink reads labels against the records it trains on
        named = [] if labelled is None else [*labelled["unique_id_l"].astype(str), *labelled["unique_id_r"].astype(str)]
        keys = rules.linking.blocking + rules.linking.em_rules
        with self._training_records(columns, size, seed, keys, named) as (records, drawn):
            step("estimating u and m")
            model = train_model(records, rules.linking, labelled, con=self._session(),
                                publish=False, engine=self.engine, sample=drawn)
        if decided is not None:
            model.metadata["labelled_from_decisions"] = len(decided)
        model.metadata["survivorship"] = rules.survivorship_doc
        if out_dir is not None:
            save_model(model, out_dir)
        self._trained[model.version] = model
        return model

    @contextmanager
    def _training_records(self, columns: set[str], size: int | None, seed: int, keys: list[Any],
                          also: list[str]) -> Iterator[tuple[Any, TrainingSample | None]]:
        """What training reads, and the sample it is (None: every record). On Spark, the store's
        records (or its sample, drawn there) as a Spark DataFrame read from Parquet the store wrote
        (resolver.engines.spark_train: no record passes through this process); else pandas."""
        if self.engine.name == "spark" and self._records is None:
            from resolver.engines.spark_train import records_on_spark

            every = None if size is None else self._keys_on_every_record(size, keys)
            drawn = None if every is None or size is None else (size, seed, also)
            with records_on_spark(self.store, self.domain, columns, self._session(), sample=drawn) as (records, n):
                yield records, None if every is None else TrainingSample(n, every[0], seed, every[1], every[2],
                                                                        size)
            return
        sampled = self._training_sample(columns, size, seed, keys, also)
        yield sampled if sampled else (self.linking_records(columns), None)

    def _training_sample(self, columns: set[str], size: int | None, seed: int, keys: list[Any],
                         also: list[str] | None = None) -> tuple[pd.DataFrame, TrainingSample] | None:
        """A random sample of `size` records with `columns` (and the records `also` names), drawn
        before any frame of every record exists, and what the blocking keys yield on every record;
        None when the domain has no more than `size` records (or `size` is None: every record)."""
        if size is None:
            return None
        wanted = ["unique_id", "source", *sorted(set(columns) - {"unique_id", "source"})]
        if self._store is None:  # records held in memory (for_records): the same SQL over them
            return sample_in_memory(self.records(), wanted, size, seed, keys, also)
        from resolver.store.store import records_table

        every = self._keys_on_every_record(size, keys)
        if every is None:
            return None
        with self.store.reader() as reader:
            table = reader.records_sample(records_table(self.domain), wanted, size, seed, also)
        frame = table.to_pandas(types_mapper=pd.ArrowDtype)
        return frame, TrainingSample(len(frame), every[0], seed, every[1], every[2], size)

    def _keys_on_every_record(self, size: int, keys: list[Any]) -> tuple[int, list[Any], dict[str, list[str]]] | None:
        """(records, key statistics, over-cap values) of every record in the store, when there are
        more than `size` (a sample is drawn); None otherwise (or no records ingested yet: train's own
        error follows)."""
        from resolver.store.store import records_table

        name = records_table(self.domain)
        if not self.store.has_table(name):
            return None
        with self.store.reader() as reader:
            total = reader.record_count(name)
            if total <= size:
                return None
            stats, over = reader.key_statistics(name, keys)
        return total, stats, over

    def publish(self, model: LinkModel) -> str:
        """Make `model` the domain's newest model version, its JSON kept inside the store."""
        if model.domain != self.domain:
            raise InputError(f"a {model.domain} model cannot be published as {self.domain}'s")
        publish_model(self.store, model)
        self._trained.setdefault(model.version, model)
        return model.version

    # -- linking ----------------------------------------------------------------------------

    def link(self, model: LinkModel | str | None = None, *, threshold: float | None = None,
             clustering: dict[str, Any] | None = None, decisions: bool = True, step: Step = _silent,
             laps: Laps | None = None) -> Linkage:
        """Score and cluster the source records with `model` (a model, a published version, or
        the newest), writing nothing. `threshold` keeps pairs down to that match probability
        (default: the model's predict_threshold); `clustering` replaces the model's recorded
        thresholds and constraints, for an analyst's what-if. With `decisions`, the data
        steward's decisions recorded in the store are honoured: same as must-link, different as
        cannot-link (resolver.review.decisions). `laps` gets each step's seconds."""
        laps = laps or Laps()
        if not isinstance(model, LinkModel):
            model = self.model(model)
        step("loading source records")
        clustering = clustering or model.clustering
        records = self.linking_records(set(model.columns) | _constraint_columns(clustering))
        laps.lap("records")
        step("scoring candidate pairs")
        started = time.perf_counter()
        blocking: list[dict[str, Any]] = []
        pairs = predict_pairs(records, model, threshold=threshold, con=self._session(), engine=self.engine,
                              stats_out=blocking, laps=laps)
        scored = time.perf_counter()
        step("clustering under constraints")
        must, cannot = decision_links(self._store if decisions else None, self.domain)
        clusters, report = cluster_with_constraints(records, pairs, clustering,
                                                    must_link=must, cannot_link=cannot)
        laps.lap("clustering")
        seconds = {"predict": scored - started, "cluster": time.perf_counter() - scored}
        return Linkage(model, pairs, clusters, report, blocking, seconds)

    def resolve(self, model_version: str | None = None, *, step: Step = _silent) -> Resolution:
        """Link with the published `model_version` (default: the newest), cluster under the
        thresholds and constraints recorded with it, give entities stable master IDs and
        rebuild golden records with the survivorship recorded with it, and the relations across
        domains that touch this one (relations.yaml), in the same transaction. `step` is told each
        step's name as it starts (a progress bar)."""
        from resolver.relations.build import relations_to_rebuild

        laps = Laps()
        model = self.model(model_version)
        survivorship, notes = self._survivorship(model)
        relations = relations_to_rebuild(self.domain, self._rules_root)  # a broken relations.yaml stops here
        laps.lap("model")
        linkage = self.link(model, step=step, laps=laps)
        # Saving needs neither the records read for linking nor the linking session: let them go
        # before the store builds golden records and documents, the peak of a resolve (docs/scale.md).
        self._release_session()
        laps.lap("closing the linking session")
        step("saving master IDs and golden records")  # relations too, in the same transaction
        # the kept pairs name the model version that scored them (the store adds the column): the
        # review queue reads its thresholds
        summary = self.store.save_resolution(self.domain, linkage.clusters, linkage.pairs, model.version,
                                             survivorship=survivorship, relations=relations, laps=laps)
        notes += self._clustering_notes(model)
        return Resolution(self.domain, model.version, linkage.report["source_records"], len(linkage.pairs),
                          linkage.report, summary, notes, laps)

    def _survivorship(self, model: LinkModel) -> tuple[Survivorship, list[str]]:
        recorded = model.metadata.get("survivorship")
        if recorded is not None:
            return parse_survivorship(recorded, f"{self.store.path}: model version {model.version}"), []
        current = self.rules.survivorship
        return current, [f"model version {model.version} recorded no survivorship rules (trained before "
                         f"they travelled with the model): golden records used {current.path} as it is now; "
                         "train again to record them"]

    def _clustering_notes(self, model: LinkModel) -> list[str]:
        try:
            current = self.rules
        except ConfigError as exc:
            return [f"the current rule files have problems ({exc.path}); this resolution used the ones "
                    f"recorded with model version {model.version}"]
        changed = clustering_changes(model.clustering, current.clustering)
        recorded = model.metadata.get("survivorship")
        if recorded is not None and recorded != current.survivorship_doc:
            changed.append("survivorship.yaml")
        if not changed:
            return []
        return [f"{current.path} differs from the rules recorded with model version {model.version} "
                f"({', '.join(changed)}); this resolution used the recorded ones. "
                "Run `resolver train` for the edit to take effect."]

    # -- incremental ------------------------------------------------------------------------

    def add_records(self, mapping: str | Path, file: str | Path) -> IncrementalResult:
        """Ingest one export and link its new and changed records against the existing entities
        with the published model, without a full re-resolve (one transaction per
        resolver.incremental.CHUNK records)."""
        from resolver.incremental import ingest_incremental

        return self._added(ingest_incremental(self.store, mapping, file))

    def add_frame(self, records: pd.DataFrame, rejections: list[Rejection], file: str, source: str, *,
                  model_version: str | None = None,
                  neighbours: Callable[[pd.DataFrame], set[str]] | None = None,
                  compiled: CompiledModel | None = None) -> IncrementalResult:
        """Link standardized records (POST /records) by the same path as `add_records`;
        `neighbours` lets a server find candidates in its in-memory index, `compiled` is the
        model it keeps compiled for scoring."""
        from resolver.incremental import link_records

        return self._added(link_records(self.store, self.domain, records, rejections, file, source,
                                        model_version=model_version, neighbours=neighbours, compiled=compiled))

    def _added(self, result: IncrementalResult) -> IncrementalResult:
        self._records = self._linking = None  # the store has new records: neither they nor inputs prepared from them hold
        for model in self._trained.values():
            model.prepared = None
        return result

    # -- explanation and evaluation ---------------------------------------------------------

    def explain(self, left: str | dict[str, Any], right: str | dict[str, Any],
                model_version: str | None = None) -> dict[str, Any]:
        """Score one pair with a published model, comparison by comparison (Splink's
        `compare_two_records`). Each side is a stored source record's unique_id
        (`source:source_record_id`) or a record of canonical fields. Values are not masked:
        callers that answer people mask (resolver.access.masking)."""
        from resolver.lookup.scoring import compile_model, score

        compiled = compile_model(self.model(model_version))
        rows = [self._row(side, f"pair:{i}") for i, side in enumerate((left, right))]
        records = self.records()
        tf: dict[str, float] = {}
        for column in compiled.tf_columns:  # the left value's share of the domain, as Splink's tf tables
            value = rows[0].get(column)
            if column in records and isinstance(value, (str, int, float)) and not _is_missing(value):
                tf[column] = max(float((records[column] == value).sum()), 1.0) / max(len(records), 1)
        scored = score(compiled, rows[0], [rows[1]], tf)[0]
        return {"model_version": compiled.version, "left": rows[0]["unique_id"], "right": rows[1]["unique_id"],
                "match_probability": scored["match_probability"], "match_weight": scored["match_weight"],
                "threshold": compiled.threshold, "comparisons": scored["comparisons"]}

    def _row(self, side: str | dict[str, Any], unique_id: str) -> dict[str, Any]:
        if isinstance(side, str):
            records = self.records()
            found = records[records["unique_id"] == side]
            if found.empty:
                raise NotFoundError(f"no {self.domain} source record {side!r}")
            return {k: (None if _is_missing(v) else v) for k, v in found.iloc[0].to_dict().items()}
        from resolver.lookup.match import check_record
        from resolver.lookup.one_record import Standardizer

        clean = check_record(self.domain, side)
        return Standardizer().one(self.domain, {"source": "query", "source_record_id": unique_id, **clean})

    def evaluate(self, truth: pd.DataFrame, *, clusters: Linkage | pd.DataFrame | None = None,
                 worst: int = 10) -> dict[str, Any]:
        """Pairwise and B-cubed precision, recall and F1 against `truth` (source,
        source_record_id, entity_id) of the store's resolution, or of `clusters` (a Linkage, or
        unique_id and cluster_id of any clustering); the `worst` errors with their records."""
        members = self._members(clusters)
        pairs = clusters.pairs if isinstance(clusters, Linkage) else (
            self.store.pairs(self.domain) if clusters is None else None)
        return evaluate_clusters(members, truth, self.records() if pairs is not None else None, pairs,
                                 worst=worst)

    def evaluate_decisions(self, *, clusters: Linkage | pd.DataFrame | None = None, worst: int = 10) -> dict[str, Any]:
        """Pairwise precision and recall of the store's resolution (or of `clusters`) on the pairs
        the data steward decided (resolver.linking.evaluate.evaluate_decisions); NotFoundError
        when none are recorded."""
        from resolver.linking.evaluate import evaluate_decisions

        decisions = self.store.decisions(self.domain)
        if not (decisions["decision"].isin(["same", "different"])).any():
            raise NotFoundError(f"{self.store.path}: no {self.domain} pair decided same or different yet: "
                                "give --truth T.csv, or decide pairs of the review queue (GET /v1/review/"
                                f"{self.domain})")
        return evaluate_decisions(self._members(clusters), decisions, worst=worst)

    def _members(self, clusters: Linkage | pd.DataFrame | None) -> pd.DataFrame:
        """unique_id → cluster_id of `clusters`, or of the store's resolution when None."""
        if isinstance(clusters, Linkage):
            return clusters.clusters
        if clusters is not None:
            return clusters
        members = self.store.membership(self.domain).rename(columns={"entity_id": "cluster_id"})
        if members.empty:
            raise NotFoundError(f"no {self.domain} resolution yet: run `resolver resolve` first")
        return members

    def blocking_stats(self, model: LinkModel | None = None) -> pd.DataFrame:
        """What each blocking key yields on the store's records (with its cap and without):
        the rule files' keys, or `model`'s."""
        keys = model.blocking_keys if model else self.rules.linking.blocking
        columns = model.columns if model else self.rules.linking.columns_used()
        _, stats = self.engine.prepare_input(self._session(), self.linking_records(set(columns)), columns, keys)
        return block_stats_frame(stats)

    def splink_linker(self, model: LinkModel, **settings: Any) -> Linker:
        """Splink's own Linker over the records for `model`, for its charts (match weights,
        waterfall, comparison viewer); `settings` override the model's (retain_matching_columns …)."""
        from splink import Linker

        from resolver.linking.compile import splink_log_level

        con = self._session()
        table, _ = self.engine.prepare_input(con, self.records(), model.columns, model.blocking_keys)
        return Linker(self.engine.database_api(con).register(table),
                      self.engine.settings({**model.splink_settings(), **settings}),
                      log_level=splink_log_level())


def clustering_changes(recorded: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """The keys of clustering.yaml whose values differ between the model's record and the file
    now; constraints are compared as constraints (a model recorded before schema.yaml spelled
    them `different_valid` / `branch_vs_head_office`)."""
    from resolver.linking import constraints

    changed = [k for k in ("predict_threshold", "match_probability_threshold") if recorded.get(k) != current.get(k)]
    if constraints.of(recorded) != constraints.of(current):
        changed.append("constraints")
    return changed


def _constraint_columns(clustering: dict[str, Any]) -> set[str]:
    """The columns the clustering's constraints read (resolver.linking.constraints)."""
    from resolver.linking import constraints

    return {c for con in constraints.of(clustering) for c in con.columns}


def _labels(labels: pd.DataFrame | str | Path | None) -> pd.DataFrame | None:
    if labels is None or isinstance(labels, pd.DataFrame):
        return labels
    path = Path(labels)
    if not path.exists():
        raise InputError(f"labels file not found: {path}")
    return pd.read_csv(path, dtype={"unique_id_l": str, "unique_id_r": str})


def _union_labels(first: pd.DataFrame, second: pd.DataFrame) -> pd.DataFrame:
    """`first`'s labelled pairs and those of `second` on pairs `first` does not label (either order)."""
    def keys(frame: pd.DataFrame) -> pd.Series:
        a, b = frame["unique_id_l"].astype(str), frame["unique_id_r"].astype(str)
        return a.where(a <= b, b) + "\x1f" + b.where(a <= b, a)

    return pd.concat([first, second[~keys(second).isin(set(keys(first)))]], ignore_index=True)


def _is_missing(value: Any) -> bool:
    return not isinstance(value, (list, tuple, str)) and not hasattr(value, "__len__") and bool(pd.isna(value))
