"""One call from comments to named segments: config dataclass in, result dataclass out.

The work is split in two so that a user tuning k never waits for encoding again:
``prepare`` does what depends only on the data and the encoder (embeddings, user profiles, the shared
k-NN graph, the 2-d map, reduced spaces on demand), and ``cluster_prepared`` does what depends on the
clustering parameters. ``segment`` runs both. The configuration, :class:`SegmentConfig`, and the pipeline's
version live in :mod:`segmentation.pipeline.config`.
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from segmentation.cluster.base import Clusterer, distinct_profiles
from segmentation.cluster.selection import KChoice
from segmentation.cluster.stage import cluster
from segmentation.cluster.stage import sweep as cluster_sweep
from segmentation.core.constraints import InstanceOf, validate
from segmentation.core.errors import ConfigError
from segmentation.core.text import CJK_CHARACTER
from segmentation.describe.items import ItemLabels, describe_items
from segmentation.describe.keywords import TermCounts, term_counts
from segmentation.describe.segments import SegmentDescription, describe_segments
from segmentation.embed.base import DEFAULT_ENCODER, encoder_status, get_encoder, set_up
from segmentation.embed.cache import EmbeddingCache, encode_texts
from segmentation.embed.profiles import Profiles, build_profiles, check_profile_settings
from segmentation.embed.projection import knn_graph, map_2d, map_and_space, reduce, spectral_init
from segmentation.ingest.comments import Comments
from segmentation.pipeline.config import PIPELINE_VERSION, SegmentConfig

if TYPE_CHECKING:
    from segmentation.describe.behaviour import BehaviourProfile

StageProgress = Callable[[str, int, int], None]
"""Called with (stage, done, total); a stage is finished when done == total."""

# Above this share of CJK characters a text is treated as Chinese (or Japanese/Korean) for encoder choice.
CJK_SHARE = 0.2
PACKAGES = ("numpy", "pandas", "scikit-learn", "umap-learn", "hdbscan", "sentence-transformers", "torch")


@dataclass
class Prepared:
    """What a segmentation needs that does not depend on the clustering parameters.

    Reduced spaces and clustering trees (agglomerative) are computed on first use and kept, so switching
    algorithm or k re-uses them.
    """

    comments: Comments
    config: SegmentConfig
    embeddings: np.ndarray
    profiles: Profiles
    coords: np.ndarray
    timings: dict[str, float]
    n_encoded: int
    n_cached: int
    _knn: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    _spaces: dict[tuple[str, int], np.ndarray] = field(default_factory=dict, repr=False)
    _terms: TermCounts | None = field(default=None, repr=False)
    _item_labels: ItemLabels | None = field(default=None, repr=False)
    _trees: dict[tuple[str, int], dict] = field(default_factory=dict, repr=False)
    _runs: dict[tuple[str, int], dict] = field(default_factory=dict, repr=False)
    # UMAP's start (projection.spectral_init) as the map used it: a UMAP clustering space starts from it too.
    _init: np.ndarray | str | None = field(default=None, repr=False)

    @property
    def n_users(self) -> int:
        return len(self.profiles.user_ids)

    @functools.cached_property
    def n_distinct(self) -> int:
        """How many different profiles the users have (identical comments give identical profiles)."""
        return distinct_profiles(self.profiles.vectors)

    @property
    def knn(self) -> tuple[np.ndarray, np.ndarray]:
        """The users' nearest neighbours that the map and a UMAP clustering space share: built on first use, so
        work that needs neither (an evaluation without a map, a PCA space) never pays for it."""
        if self._knn is None:
            started = time.perf_counter()
            self._knn = knn_graph(self.profiles.vectors, seed=self.config.seed)
            self.timings["knn"] = time.perf_counter() - started
        return self._knn

    @property
    def terms(self) -> TermCounts:
        """Keyword candidates per comment, counted on first use and kept for every later description."""
        if self._terms is None:
            self._terms = term_counts(self.comments.frame["text"].to_numpy())
        return self._terms

    @property
    def item_labels(self) -> ItemLabels:
        """How the items show (names, else ids and the words of their comments), built on first use from
        :attr:`terms` and kept: a segment's top items and a recommendation's reasons read the same labels."""
        if self._item_labels is None:
            frame = self.comments.frame
            items = frame["item_id"].to_numpy() if "item_id" in frame.columns else np.full(len(frame), None)
            names = frame["item_name"].to_numpy() if "item_name" in frame.columns else None
            self._item_labels = describe_items(items, self.terms, names)
        return self._item_labels

    def space(self, method: str, n_components: int) -> np.ndarray:
        """The users' profiles in the clustering space ``method`` (memoised)."""
        key = (method, n_components)
        if key not in self._spaces:
            started = time.perf_counter()
            knn = self.knn if method == "umap" else None  # only UMAP starts from the neighbour graph
            self._spaces[key] = reduce(
                self.profiles.vectors, method, n_components, seed=self.config.seed, knn=knn, init=self._init
            )
            self.timings[f"reduce_{method}"] = time.perf_counter() - started
        return self._spaces[key]

    def trees(self, method: str, n_components: int) -> dict:
        """The trees fitted over the clustering space ``method``, kept for :func:`fit_on`: a new k only cuts."""
        return self._trees.setdefault((method, n_components), {})

    def runs(self, method: str, n_components: int) -> dict:
        """The fits made on the clustering space ``method``, kept for :func:`~segmentation.cluster.selection.fit_run`:
        the run at the k a sweep chose, or a k the slider returns to, is not fitted again."""
        return self._runs.setdefault((method, n_components), {})

    def clustering_space(self, space: tuple[str, int]) -> tuple[np.ndarray, dict | None, dict | None]:
        """The users in the clustering space ``(method, dimensions)`` with the trees and fits kept for it.

        Users whose profiles are all identical are clustered on the profiles themselves, with nothing kept:
        a reduction (UMAP) would spread identical users apart at random.
        """
        if self.n_distinct == 1:
            return self.profiles.vectors, None, None
        trees, runs = self.trees(*space), self.runs(*space)
        return self.space(*space), trees, runs


@dataclass
class SegmentResult:
    """Everything a run produced; the UI, the CLI and the workspace read it, never re-derive it."""

    config: SegmentConfig
    user_ids: np.ndarray
    labels: np.ndarray
    assignments: pd.DataFrame
    segments: list[SegmentDescription]
    metrics: dict[str, float]
    timings: dict[str, float]
    versions: dict[str, str]
    notes: list[str]
    silhouette: np.ndarray
    sweep: pd.DataFrame | None = None
    tree: np.ndarray | None = None
    choice: KChoice | None = None
    warnings: list[str] = field(default_factory=list)
    segment_stability: dict[int, float] = field(default_factory=dict)
    # The fitted clusterer, in the run's clustering space: ``predict`` places new users in its segments.
    clusterer: Clusterer | None = field(default=None, repr=False)

    @property
    def names(self) -> dict[int, str]:
        return {s.id: s.name for s in self.segments}

    def with_names(self, names: Mapping[int, str]) -> SegmentResult:
        """The same result with saved segment names in place of the suggested ones."""
        from segmentation.describe.export import apply_names

        segments = [replace(s, name=names.get(s.id) or s.name) for s in self.segments]
        return replace(self, segments=segments, assignments=apply_names(self.assignments, names))

    def run_record(self, run_id: str | None = None) -> dict:
        """The JSON-able record written as ``run.json``: the run names itself (``run_id``, where it was saved in
        the workspace: what ``runs show`` and ``assign --run`` take), the pipeline and package versions that made
        it, its config, scores and timings."""
        named = {"run_id": run_id} if run_id is not None else {}
        return {
            **named,
            "pipeline_version": PIPELINE_VERSION,
            "package_version": self.versions.get("segmentation", "not installed"),
            "config": self.config.to_dict(),
            "metrics": self.metrics,
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "versions": self.versions,
            "notes": self.notes,
            "warnings": self.warnings,
            "segment_stability": {str(k): round(v, 4) for k, v in self.segment_stability.items()},
            "n_users": int(len(self.user_ids)),
        }

    def write(self, out_dir: str | Path, run_id: str | None = None,
              behaviour: BehaviourProfile | None = None) -> list[Path]:
        """Write ``assignments.csv``, ``segments.json`` and ``run.json`` (naming ``run_id``) into ``out_dir``.

        With ``behaviour`` (the run's :class:`~segmentation.describe.behaviour.BehaviourProfile`), each segment
        of ``segments.json`` carries its ``behaviour``.

        The three files are written into a temporary folder inside ``out_dir`` and then renamed into
        place, ``run.json`` last: a run killed while writing leaves the previous set, never half a file.
        """
        from segmentation.describe.export import assignments_csv

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        segments = [_segment_record(s, behaviour) for s in self.segments]
        contents = {
            "assignments.csv": assignments_csv(self.assignments),
            "segments.json": json.dumps(segments, ensure_ascii=False, indent=2).encode("utf-8"),
            "run.json": json.dumps(self.run_record(run_id), ensure_ascii=False, indent=2).encode("utf-8"),
        }
        with tempfile.TemporaryDirectory(dir=out, prefix=".writing-") as staging:
            for name, data in contents.items():
                with open(Path(staging) / name, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
            for name in contents:
                os.replace(Path(staging) / name, out / name)
        return [out / name for name in contents]


def _segment_record(segment: SegmentDescription, behaviour: BehaviourProfile | None = None) -> dict:
    record = {key: value for key, value in segment.to_dict().items() if value is not None}
    if behaviour is not None:
        record["behaviour"] = behaviour.for_json(segment.id)
    return record


def versions() -> dict[str, str]:
    """Installed versions of the packages a result depends on."""
    found = {"segmentation": _version("segment-studio")}
    for package in PACKAGES:
        found[package] = _version(package)
    return found


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _stage(progress: StageProgress | None, name: str, done: int, total: int) -> None:
    if progress is not None:
        progress(name, done, total)


def suggest_encoder(comments: Comments) -> str:
    """The encoder to preselect for this data: MiniLM reads only English, so mostly-Chinese
    comments get the multilingual encoder where it is installed."""
    sample = comments.frame["text"].head(2000)
    n_chars = int(sample.str.len().sum())
    n_cjk = int(sample.str.count(CJK_CHARACTER).sum())
    if n_chars and n_cjk / n_chars > CJK_SHARE:
        available = {status.name for status in encoder_status() if status.available}
        if "multilingual" in available:
            return "multilingual"
    return DEFAULT_ENCODER


def check_fits(comments: Comments, config: SegmentConfig) -> None:
    """Refuse, before any comment is encoded, a config that cannot fit the data.

    Too few users, k larger than the users, an attribute column that is missing or takes more than one
    value for a user, recency weighting without a time column: each is one :class:`ConfigError`, the same
    words :func:`~segmentation.embed.profiles.build_profiles` would say after the encoding.
    """
    if comments.n_users < 2:
        raise ConfigError(
            f"{comments.source or 'the data'} has {comments.n_users} user; segmentation needs at least 2 users"
        )
    if not config.clusterer.chooses_k and config.k != "auto" and config.k > comments.n_users:
        raise ConfigError(
            f"k={config.k} is larger than the {comments.n_users} users in the data; choose k ≤ {comments.n_users}"
        )
    check_profile_settings(comments.frame, half_life_days=config.half_life_days, attributes=config.attributes)


def prepare(
    comments: Comments,
    config: SegmentConfig,
    *,
    cache: EmbeddingCache | None = None,
    progress: StageProgress | None = None,
    with_map: bool = True,
) -> Prepared:
    """Encode the comments, build one profile per user, the shared k-NN graph and the 2-d map.

    Parameters
    ----------
    comments : Comments
        Loaded comments (see :func:`segmentation.ingest.io.load_comments`).
    config : SegmentConfig
        ``config.prepare_key()`` decides the embeddings, profiles and map; ``config.space`` decides
        whether a UMAP clustering space is laid out beside the map, and ``check_fits`` reads k and the
        algorithm.
    cache : EmbeddingCache or None
        Embedding cache; the workspace's one when None.
    progress : callable or None
        ``progress(stage, done, total)``; encoding reports each batch.
    with_map : bool
        Compute the 2-d map; without it (evaluation needs no map) the coordinates are NaN.

    Returns
    -------
    Prepared
    """
    validate("comments", comments, [InstanceOf((Comments,), "from load_comments or from_frame")])
    validate("config", config, [InstanceOf((SegmentConfig,))])
    check_fits(comments, config)
    timings: dict[str, float] = {}
    encoder = get_encoder(config.encoder)
    if encoder.needs_setup():
        # A first-use step of its own (the fast encoder's distillation), so the encoding bar does not
        # sit at zero while it runs.
        started = time.perf_counter()
        _stage(progress, "setup", 0, 1)
        set_up(encoder, lambda: _stage(progress, "setup", 0, 1))
        timings["setup"] = time.perf_counter() - started
        _stage(progress, "setup", 1, 1)
    started = time.perf_counter()
    _stage(progress, "encode", 0, comments.n_comments)
    encoded = encode_texts(
        comments.frame["text"].tolist(),
        encoder,
        cache if cache is not None else EmbeddingCache(),
        progress=lambda done, total: _stage(progress, "encode", done, total),
    )
    timings["encode"] = time.perf_counter() - started

    started = time.perf_counter()
    _stage(progress, "profile", 0, 1)
    profiles = build_profiles(
        comments,
        encoded.embeddings,
        half_life_days=config.half_life_days,
        attributes=config.attributes,
        attribute_weight=config.attribute_weight,
    )
    timings["profile"] = time.perf_counter() - started
    _stage(progress, "profile", 1, 1)

    prepared = Prepared(
        comments=comments,
        config=config,
        embeddings=encoded.embeddings,
        profiles=profiles,
        coords=np.full((len(profiles.user_ids), 2), np.nan),
        timings=timings,
        n_encoded=encoded.n_encoded,
        n_cached=encoded.n_cached,
    )
    if with_map:
        started = time.perf_counter()
        _stage(progress, "map", 0, 1)
        prepared._init = spectral_init(profiles.vectors, seed=config.seed, knn=prepared.knn)
        method, dims = config.space
        if method == "umap":  # both UMAP layouts are needed: lay them out side by side
            prepared.coords, prepared._spaces[(method, dims)] = map_and_space(
                profiles.vectors, dims, seed=config.seed, knn=prepared.knn, init=prepared._init
            )
        else:
            prepared.coords = map_2d(profiles.vectors, seed=config.seed, knn=prepared.knn, init=prepared._init)
        timings["map"] = time.perf_counter() - started - timings["knn"]
        _stage(progress, "map", 1, 1)
    return prepared


def sweep(prepared: Prepared, config: SegmentConfig, ks: range | None = None) -> pd.DataFrame:
    """Quality per k (or per min cluster size for algorithms that find k) in the run's clustering space.

    ``ks`` defaults to ``2..k_max``; the page passes its slider's range so the chart covers it.
    """
    space, trees, runs = prepared.clustering_space(config.space)
    return cluster_sweep(space, config.clusterer, config.to_dict(), ks, trees=trees, runs=runs)


def cluster_prepared(
    prepared: Prepared,
    config: SegmentConfig,
    *,
    progress: StageProgress | None = None,
) -> SegmentResult:
    """Cluster prepared profiles, score the segments and describe them.

    Parameters
    ----------
    prepared : Prepared
        Output of :func:`prepare` for the same data and ``config.prepare_key()``.
    config : SegmentConfig
    progress : callable or None
        ``progress(stage, done, total)`` for the stages ``reduce``, ``cluster`` and ``describe``.

    Returns
    -------
    SegmentResult
    """
    if prepared.config.prepare_key() != config.prepare_key():
        raise ConfigError("internal: the prepared data was built with another encoder or profile settings")
    settings = config.to_dict()
    check_fits(prepared.comments, config)
    timings = dict(prepared.timings)
    notes = list(prepared.comments.notes)
    profiles = prepared.profiles

    _stage(progress, "reduce", 0, 1)
    space, trees, runs = prepared.clustering_space(config.space)
    timings.update({k: v for k, v in prepared.timings.items() if k.startswith("reduce_")})
    _stage(progress, "reduce", 1, 1)

    _stage(progress, "cluster", 0, 1)
    found = cluster(space, config.clusterer, settings, n_distinct=prepared.n_distinct, trees=trees, runs=runs)
    timings.update(found.timings)
    notes.extend(found.notes)
    _stage(progress, "cluster", 1, 1)

    _stage(progress, "describe", 0, 1)
    started = time.perf_counter()
    segments = describe_segments(
        prepared.comments,
        profiles,
        found.labels,
        prepared.embeddings,
        # No encoder re-ranking: the concentration-weighted c-TF-IDF alone already reaches distinctness 1.00
        # and raises label fidelity on every real set (benchmarks/README.md, Keywords), keeps a re-cluster
        # free of encoder calls, and gives the Ray engine's summed-count keywords exactly.
        terms=prepared.terms,
        item_labels=prepared.item_labels,
    )
    timings["describe"] = time.perf_counter() - started
    _stage(progress, "describe", 1, 1)

    names = {s.id: s.name for s in segments}
    assignments = pd.DataFrame(
        {
            "user_id": profiles.user_ids,
            "segment": found.labels,
            "segment_name": [names[label] for label in found.labels],
            "x": prepared.coords[:, 0],
            "y": prepared.coords[:, 1],
            "n_comments": profiles.n_comments,
            **found.membership,
        }
    )
    return SegmentResult(
        config=config,
        user_ids=profiles.user_ids,
        labels=found.labels,
        assignments=assignments,
        segments=segments,
        metrics=found.metrics,
        timings=timings,
        versions=versions(),
        notes=notes,
        silhouette=found.silhouette,
        sweep=found.sweep,
        tree=getattr(found.clusterer, "tree_", None),
        choice=found.choice,
        warnings=found.warnings,
        segment_stability=found.segment_stability,
        clusterer=found.clusterer,
    )


def segment(
    comments: Comments,
    config: SegmentConfig | None = None,
    *,
    cache: EmbeddingCache | None = None,
    progress: StageProgress | None = None,
) -> SegmentResult:
    """Run every stage: encode, profile, map, reduce, cluster, score, describe.

    Same data and same config (seed included) give the same assignments.
    """
    validate("comments", comments, [InstanceOf((Comments,), "from load_comments or from_frame")])
    config = validate("config", config, [InstanceOf((SegmentConfig,)), None]) or SegmentConfig()
    prepared = prepare(comments, config, cache=cache, progress=progress)
    return cluster_prepared(prepared, config, progress=progress)
