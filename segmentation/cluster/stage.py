"""The cluster stage in one call: the users' clustering space and the run's settings in, scored segments out.

The pipeline, the Ray engine and the page's k-sweep reach clustering here. The caller resolves the algorithm
once (:func:`~segmentation.cluster.base.clusterer_class`) and hands the class down: below this module an
algorithm is never looked up by name again. ``"auto"`` settings are resolved by a sweep and its choice
(:mod:`~segmentation.cluster.selection`), the run's fit is made, re-using the fits and trees the caller keeps
for the space, and its scores, stability and each user's membership are computed beside it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from segmentation.cluster.base import Clusterer, distinct_profiles
from segmentation.cluster.membership import membership_columns
from segmentation.cluster.metrics import SILHOUETTE_SAMPLE, quality, silhouette_values, structure_warnings
from segmentation.cluster.selection import (
    SWEEP_SAMPLE,
    KChoice,
    choose_k,
    choose_min_cluster_size,
    fit_run,
    k_sweep,
    min_cluster_size_sweep,
    sweep_rows,
)
from segmentation.cluster.stability import mean_pairwise_ari, moved_share, segment_stability

# min_cluster_size values an HDBSCAN sweep tries (those below the number of users).
MIN_CLUSTER_SIZES = (5, 10, 15, 20, 30, 50, 75, 100)


@dataclass
class Clustering:
    """What the cluster stage made of one space: the fit, how its settings were chosen, and its scores."""

    clusterer: Clusterer
    labels: np.ndarray
    settings: dict[str, Any]
    """The run's settings with ``"auto"`` resolved (the k or min_cluster_size that was fitted)."""
    sweep: pd.DataFrame | None
    choice: KChoice | None
    notes: list[str]
    warnings: list[str]
    metrics: dict[str, float]
    silhouette: np.ndarray
    """Per-user silhouettes of a sample of users (NaN for the others), against all users."""
    segment_stability: dict[int, float]
    membership: dict[str, np.ndarray]
    """How firmly each user belongs (:func:`~segmentation.cluster.membership.membership_columns`)."""
    timings: dict[str, float] = field(default_factory=dict)


def sweep(
    space: np.ndarray,
    cls: type[Clusterer],
    settings: Mapping[str, Any],
    ks: range | None = None,
    *,
    trees: dict | None = None,
    runs: dict | None = None,
    sample_size: int = SWEEP_SAMPLE,
) -> pd.DataFrame:
    """Quality per k (or per min cluster size for a class that ``chooses_k``) on ``space``.

    Parameters
    ----------
    space : ndarray of shape (n_users, n_features)
    cls : Clusterer class
    settings : mapping
        The run's settings (``SegmentConfig.to_dict()``): ``seed``, ``k_max`` and the class's own.
    ks : range, optional
        Defaults to ``2..k_max``; the page passes its slider's range so the chart covers it.
    trees, runs : dict, optional
        Trees and fits kept for this space (see :func:`~segmentation.cluster.selection.fit_run`).
    sample_size : int
        Above this many users a k-sweep is fitted on a sample of this many
        (:data:`~segmentation.cluster.selection.SWEEP_SAMPLE` by default).

    Returns
    -------
    DataFrame
        The sweep table; where it comes from a sample, ``table.attrs["sample"]`` is ``(sampled users, all
        users)`` and :func:`sweep_sample_note` says it in words.
    """
    seed = settings["seed"]
    n_users = len(space)
    if cls.chooses_k:
        asked = settings.get(cls.sweep_param)
        sizes = sorted({s for s in MIN_CLUSTER_SIZES if s < n_users} | ({asked} if asked != "auto" else set()))
        return min_cluster_size_sweep(space, cls, sizes, seed=seed, settings=dict(settings))
    rows = sweep_rows(n_users, sample_size)
    if rows is not None:
        # Its fits are kept in the space's dicts under the sample's size, beside (never instead of) fits on
        # every user; its resamples' fits serve a later fit on everyone (selection.resample_fits).
        space = space[rows]
    ks = ks if ks is not None else range(2, settings["k_max"] + 1)
    ks = range(ks.start, min(ks.stop, len(space), distinct_profiles(space)))
    table = k_sweep(space, cls, ks, seed=seed, settings=dict(settings), trees=trees, runs=runs)
    if rows is not None:
        table.attrs["sample"] = (len(rows), n_users)
    return table


def sweep_sample_note(table: pd.DataFrame | None) -> str | None:
    """The sentence that says a sweep's figures come from a sample of the users; None when they do not."""
    if table is None or "sample" not in table.attrs:
        return None
    sampled, users = table.attrs["sample"]
    return (f"The k-sweep's figures come from a sample of {sampled:,} of the {users:,} users (the same sample "
            "under every seed); the segments themselves are fitted on all users.")


def choose(
    space: np.ndarray,
    cls: type[Clusterer],
    settings: Mapping[str, Any],
    *,
    n_distinct: int,
    notes: list[str],
    trees: dict | None = None,
    runs: dict | None = None,
) -> tuple[dict, pd.DataFrame | None, KChoice | None]:
    """Resolve ``"auto"`` settings by a sweep: the settings to fit, the sweep table and the choice (None
    when nothing was chosen); the reason is appended to ``notes``."""
    settings = dict(settings)
    if settings.get(cls.sweep_param) != "auto":
        return settings, None, None
    if not cls.chooses_k and n_distinct < 3:  # no two segmentations to compare: deliver what exists, say why
        notes.append(f"only {n_distinct} distinct user profile{'s' if n_distinct != 1 else ''}: no k to choose")
        return {**settings, "k": 2}, None, None
    table = sweep(space, cls, settings, trees=trees, runs=runs)
    if cls.chooses_k:
        choice = choose_min_cluster_size(table)
    elif table.empty:  # too few users to score any k: two segments is the only choice left
        notes.append(f"k=2: {len(space)} users are too few to compare numbers of segments")
        return {**settings, "k": 2}, table, None
    else:
        choice = choose_k(table, k_min=settings["k_min"], k_max=settings["k_max"])
    notes.append(choice.reason)
    if note := sweep_sample_note(table):
        notes.append(note)
    return {**settings, cls.sweep_param: choice.k}, table, choice


def cluster(
    space: np.ndarray,
    cls: type[Clusterer],
    settings: Mapping[str, Any],
    *,
    n_distinct: int,
    trees: dict | None = None,
    runs: dict | None = None,
) -> Clustering:
    """Choose, fit and score the run's segments on ``space``.

    Parameters
    ----------
    space : ndarray of shape (n_users, n_features)
        The users in the run's clustering space.
    cls : Clusterer class
        The run's algorithm, resolved once by the caller.
    settings : mapping
        The run's settings (``SegmentConfig.to_dict()``); ``"auto"`` ones are resolved here.
    n_distinct : int
        How many different profiles the users have (no k is chosen among fewer than 3).
    trees, runs : dict, optional
        Trees and fits kept for this space by the caller, so a new k only cuts or re-uses.

    Returns
    -------
    Clustering
    """
    timings: dict[str, float] = {}
    notes: list[str] = []
    started = time.perf_counter()
    resolved, table, choice = choose(space, cls, settings, n_distinct=n_distinct, notes=notes, trees=trees, runs=runs)
    if table is not None:
        timings["sweep"] = time.perf_counter() - started
    started = time.perf_counter()
    clusterer, placements = fit_run(space, cls, resolved, trees=trees, runs=runs)
    labels = np.asarray(clusterer.labels_, dtype=int)
    timings["cluster"] = time.perf_counter() - started
    notes.extend(clusterer.notes_)

    started = time.perf_counter()
    seed = settings["seed"]
    # Per-user values for a sample of users against all users; their mean is the reported silhouette,
    # so the distances are computed once.
    silhouette = silhouette_values(space, labels, max_points=SILHOUETTE_SAMPLE, seed=seed)
    mean = float(np.nanmean(silhouette)) if np.isfinite(silhouette).any() else None
    metrics = quality(space, labels, seed=seed, silhouette=mean)
    metrics["stability"] = mean_pairwise_ari(placements)
    metrics["moved_share"] = moved_share(labels, placements)
    stability = segment_stability(labels, placements)
    timings["metrics"] = time.perf_counter() - started
    warnings = (choice.warnings if choice else []) + structure_warnings(
        metrics, labels, metrics["stability"], cls.parameters)
    return Clustering(
        clusterer=clusterer,
        labels=labels,
        settings=resolved,
        sweep=table,
        choice=choice,
        notes=notes,
        warnings=warnings,
        metrics=metrics,
        silhouette=silhouette,
        segment_stability=stability,
        # How firmly each user belongs: one label hides the users between two segments (issue 23).
        membership=membership_columns(space, labels),
        timings=timings,
    )
