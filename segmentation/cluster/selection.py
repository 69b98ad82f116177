"""How many segments: sweeps over k (or HDBSCAN's min_cluster_size) and the choice a marketer can trust.

A k is chosen for being **reproducible**, not only for being well separated: each k is fitted again on
resamples of the users (80% drawn without replacement), every fit places all users with ``predict``, and the
k's stability is the mean pairwise adjusted Rand index of those placements (Lange et al., 2004; R's
``fpc::clusterboot`` reports the per-segment version; both in :mod:`~segmentation.cluster.stability`). Silhouette,
Calinski–Harabasz and Davies–Bouldin are kept beside it, and the choice says when they disagree.

The choice itself must not depend on the run's seed (issue 21: one seed chose k=3, another k=4 on the same
reviewers). So every fit behind it is a full-strength fit, the same the run delivers, and the resamples are
drawn the same way whatever the seed: the stability column is a property of the data and k, and the seed
only moves the initialisations of each k's fit. Those fits (:func:`fit_run`) also start from the resamples'
segment centres where the algorithm takes starts (k-means), keeping the lowest inertia: on weakly grouped
users ten seeded initialisations otherwise land in a different optimum under each seed. A k whose smallest
segment is too small to act on is not taken, and where two ks separate the users alike the choice names both.

Five resamples give a noisy figure: on weakly grouped users a k's stability moved by up to 0.3 between draws
of the resamples. So where a k's interval (``stability_interval``) straddles the 0.8 line, more resamples are
fitted until it does not (at most :data:`MAX_RESAMPLES`).

HDBSCAN's ``min_cluster_size`` is chosen by density-based validity (DBCV), which scores density clusters where
the silhouette rewards one huge blob.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import (
    calinski_harabasz_score,
    davies_bouldin_score,
    pairwise_distances,
)

from segmentation.cluster.base import K_MAX, K_MIN, Clusterer, fit_on, from_settings
from segmentation.cluster.metrics import inertia, mean_silhouette, quality, sample_rows
from segmentation.cluster.stability import Placements, stability_interval
from segmentation.core.errors import ConfigError

SWEEP_COLUMNS = [
    "k", "stability", "silhouette", "calinski_harabasz", "davies_bouldin", "inertia", "smallest_share",
    "stability_low", "stability_high", "resamples",
]
SIZE_SWEEP_COLUMNS = [
    "min_cluster_size", "n_segments", "noise_share", "largest_share", "validity",
    "silhouette", "calinski_harabasz", "davies_bouldin",
]
# Resamples per k for stability: 5 pairs up into 10 ARIs, enough to rank ks far from the 0.8 line; each is a
# fit on 80% of users.
N_RESAMPLES = 5
# Where a k's interval from those five straddles the 0.8 line, more resamples are fitted, five at a time, up to
# this many: on weakly grouped users five put a k's stability up to 0.3 apart depending on the draw of the
# resamples, and the automatic k followed (benchmarks/README.md, "The stability figure's noise").
MAX_RESAMPLES = 20
RESAMPLE_SHARE = 0.8
# The resamples' draws and their fits' seeds come from this seed, not the run's: a seed that moved them moved
# the stability of a good k across the 0.8 line (benchmarks/README.md, Seeds).
RESAMPLE_SEED = 0
# Resamples hold at most this many users (all users are still placed by predict): at 10k users the five
# fits of a re-cluster's stability then stay well under a second.
RESAMPLE_MAX = 2000
# Above this many users the k-sweep is fitted on a sample of this many (drawn with RESAMPLE_SEED, the same under
# every seed; the chosen k is then fitted on everyone), so its cost stops growing with the users. Not smaller: at
# 9,999 real recipe reviewers a sample of 5,000 moved the automatic k from 8 to 9, where the seeds' fits on all
# users disagree (ARI 0.50-0.62; at k=8 1.000), and every real set measured here stays unsampled
# (benchmarks/README.md, "Speed of the k-means sweep at 10k").
SWEEP_SAMPLE = 10_000
# ks at least this reproducible (mean pairwise ARI over resamples) are all acceptable, and among them the
# best separated wins. Chosen on the real labelled sets (benchmarks/README.md): on the forum users (true k=5)
# it picks k=4, NMI 0.93, where "most stable" picks k=3 (0.82) and the best silhouette alone k=4; on the
# newsgroups k=5, NMI 0.42, where the best silhouette picks k=2 (0.18). Hennig reads clusterboot values above
# 0.75 as valid segments, above 0.85 as highly stable.
STABLE_ENOUGH = 0.8
# Where no k reaches it, the ks this close to the most stable one count as equally stable.
STABILITY_TOLERANCE = 0.02
# Candidate ks whose silhouettes differ by less than this separate the users alike: the smaller is taken and the
# reason names both. On the forum and newsgroup users, full-strength fits of one k under ten seeds moved its
# silhouette by a standard deviation of up to 0.013 at k <= 9: a smaller gap is one a seed could overturn.
CLOSE_SILHOUETTE = 0.01
# Automatic k takes no k that leaves a segment under this share of the users (issue 20: a one-user segment
# on the Chinese demo): a marketer cannot act on it. The true groups the automatic k could find on the labelled
# sets are all larger: 8.8% of the forum users, 4.1% of the bloggers, 2.6% of the six coarse newsgroups.
MIN_SEGMENT_SHARE = 0.02
# k=2 is taken below K_MIN only when the data splits in two clearly: reproducibly and well separated.
CLEAR_SPLIT_STABILITY = 0.95
CLEAR_SPLIT_SILHOUETTE = 0.25


@dataclass(frozen=True)
class KChoice:
    """The k chosen from a sweep, and why, in plain sentences.

    Attributes
    ----------
    k : int
    reason : str
        One sentence that says why this k.
    warnings : list of str
        Where the criteria disagree, or where the structure is weak.
    close : tuple of int
        Other ks that separate the users as well as ``k`` within noise (named in ``reason``).
    """

    k: int
    reason: str
    warnings: list[str] = field(default_factory=list)
    close: tuple[int, ...] = ()


def k_sweep(
    X: np.ndarray,
    cls: type[Clusterer],
    ks: Iterable[int],
    *,
    seed: int = 0,
    settings: dict | None = None,
    trees: dict | None = None,
    runs: dict | None = None,
    sample_size: int = 5000,
    n_resamples: int = N_RESAMPLES,
) -> pd.DataFrame:
    """Quality, stability and the smallest segment for each number of segments k.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        The clustering space.
    cls : Clusterer class
        The run's algorithm (resolved once with :func:`~segmentation.cluster.base.clusterer_class`), one that
        takes k (not one that ``chooses_k``).
    ks : iterable of int
        Values of k; those outside ``2..n_samples - 1`` are skipped.
    seed : int
        Seeds each k's fit (:func:`fit_run`, the fit the run delivers at that k); neither the resamples
        behind the stability column nor the silhouette's sample depend on it (:data:`RESAMPLE_SEED`).
    settings : dict, optional
        Other run settings the clusterer declares (``linkage``...).
    trees : dict, optional
        Trees already fitted on ``X`` (see :func:`~segmentation.cluster.base.fit_on`): cut instead of
        rebuilt, and a tree fitted here is kept there.
    runs : dict, optional
        Fits already made on ``X`` (see :func:`fit_run`): reused, and each fit made here is kept there, so
        the run at the chosen k, or a later re-cluster at a k swept here, costs nothing.
    sample_size : int
        Silhouette sample, one for every k (its distances computed once), so values compare across k.
    n_resamples : int
        Fits per k on resamples for the stability column (0 leaves it NaN); more where the interval straddles
        :data:`STABLE_ENOUGH` (:func:`fit_run`).

    Returns
    -------
    DataFrame
        Columns :data:`SWEEP_COLUMNS`, one row per usable k (empty when none is); ``smallest_share`` is the
        smallest segment's share of the users; ``stability_low`` and ``stability_high`` bound the stability
        (:func:`~segmentation.cluster.stability.stability_interval`) and ``resamples`` says how many fits it comes from.
    """
    if cls.chooses_k:
        raise ConfigError(f"{cls.name} finds the number of segments itself; sweep {cls.sweep_param} instead of k")
    X = np.asarray(X, dtype=np.float64)
    n = len(X)
    ks = sorted({int(k) for k in ks if 2 <= int(k) <= n - 1})
    if not ks:
        return pd.DataFrame(columns=SWEEP_COLUMNS)
    settings = {**(settings or {}), "seed": seed}
    runs = runs if runs is not None else {}
    # The resamples' fits first, all ks on one resample together (one tree per resample serves every k);
    # each k's run then starts from their centres too.
    missing = [k for k in ks if _run_key(cls, settings, k, n_resamples, n) not in runs]
    resampled = resample_fits(X, cls, settings, missing, n_resamples, kept=runs) if missing else {}
    # The sample does not move with the seed either: above sample_size users another sample moved the
    # silhouettes of close ks by as much as the choice's 0.01 margin.
    sample = sample_rows(n, sample_size, RESAMPLE_SEED)
    distances = pairwise_distances(X[sample])
    rows = []
    for k in ks:
        clusterer, placements = fit_run(
            X, cls, settings, k=k, trees=trees, runs=runs, resampled=resampled.get(k), n_resamples=n_resamples
        )
        labels = clusterer.labels_
        sampled = labels[sample]
        silhouette = (
            mean_silhouette(distances, sampled)
            if 2 <= len(np.unique(sampled)) < len(sample)
            else np.nan
        )
        distinct = len(np.unique(labels)) >= 2
        stability, low, high = (
            stability_interval(placements) if n_resamples >= 2 and len(placements) >= 2 else (np.nan,) * 3
        )
        rows.append(
            {
                "k": k,
                "stability": stability,
                "silhouette": silhouette,
                "calinski_harabasz": float(calinski_harabasz_score(X, labels)) if distinct else np.nan,
                "davies_bouldin": float(davies_bouldin_score(X, labels)) if distinct else np.nan,
                "inertia": inertia(X, labels),
                "smallest_share": float(np.bincount(labels[labels >= 0]).min() / n) if (labels >= 0).any() else 0.0,
                "stability_low": low,
                "stability_high": high,
                "resamples": len(placements),
            }
        )
    return pd.DataFrame(rows, columns=SWEEP_COLUMNS)


def sweep_rows(n: int, size: int = SWEEP_SAMPLE) -> np.ndarray | None:
    """The users a k-sweep over ``n`` users is fitted on: None for all of them, else a sample of ``size``
    (:data:`SWEEP_SAMPLE` by default; sorted, the same under every seed)."""
    return sample_rows(n, size, RESAMPLE_SEED) if n > size else None


def _resamples(n: int, stop: int, start: int = 0) -> list[tuple[int, np.ndarray]]:
    """Resamples ``start..stop-1`` of ``n`` users, each with its index: resample i is the same whatever the
    range asked, so more can be drawn later without changing the first ones.

    Above :data:`SWEEP_SAMPLE` users they are drawn from the sweep's sample (:func:`sweep_rows`) as the sampled
    sweep draws its own: resample i then holds the same users for the sweep and for a fit on everyone, and its
    fits, kept by content (:func:`resample_fits`), serve both.
    """
    pool = sweep_rows(n)
    m = n if pool is None else len(pool)
    rng = np.random.default_rng(RESAMPLE_SEED)
    size = max(2, min(int(round(RESAMPLE_SHARE * m)), RESAMPLE_MAX))
    drawn = [np.sort(rng.choice(m, size=size, replace=False)) for _ in range(stop)]
    if pool is not None:
        drawn = [pool[rows] for rows in drawn]  # both sorted: the same users in the same order
    return list(enumerate(drawn))[start:]


def resample_fits(
    X: np.ndarray,
    cls: type[Clusterer],
    settings: Mapping,
    ks: Sequence[int] | None = None,
    n_resamples: int = N_RESAMPLES,
    *,
    start: int = 0,
    kept: dict | None = None,
) -> dict[int | None, list[Clusterer]]:
    """Fits on resamples of the users, per k.

    Each resample is 80% of the users (at most 2,000) drawn without replacement, fitted at full strength.
    The draws and the fits' seeds come from :data:`RESAMPLE_SEED`, never from the run's seed, so the same
    data and k give the same fits under every seed. One tree per resample serves every k for algorithms that
    keep a tree.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    cls : Clusterer class
    settings : mapping
        Run settings (their ``seed`` is replaced by each resample's own).
    ks : sequence of int or None
        The ks to fit; ``None`` fits the settings as they are (the key is then ``None``).
    n_resamples : int
        Fits resamples ``start..n_resamples-1``.
    start : int
        The first resample to fit: more can be added later to those already fitted (resample i is the same
        whatever the range asked).
    kept : dict, optional
        Fits kept between calls (a space's ``runs``), keyed by the resample's users themselves: a fit found
        there is returned as it is, a new one is kept there. A sampled sweep and a fit on everyone draw the
        same resamples (:func:`_resamples`), so a re-cluster after a sampled sweep fits none again.

    Returns
    -------
    dict
        k (or None) → list of fitted clusterers, one per resample that holds more users than k.
    """
    keys: list[int | None] = list(ks) if ks is not None else [None]
    fits: dict[int | None, list[Clusterer]] = {key: [] for key in keys}
    kept = kept if kept is not None else {}
    others = tuple(settings.get(name) for name in cls.settings if name not in ("k", "seed"))
    for index, rows in _resamples(len(X), n_resamples, start):
        usable = [key for key in keys if key is None or key <= len(rows) - 1]
        run = {**settings, "seed": RESAMPLE_SEED + 1 + index}
        points = np.ascontiguousarray(X[rows], dtype=np.float64)
        users = hashlib.blake2b(points.tobytes(), digest_size=16).hexdigest()
        trees: dict = {}  # one tree per resample serves every k
        for key in usable:
            known = ("resample", cls.name, key if key is not None else settings.get("k"), index, users, *others)
            if known not in kept:
                kept[known] = fit_on(points, cls, run, k=key, trees=trees)
            fits[key].append(kept[known])
    return fits


def resample_placements(
    X: np.ndarray,
    cls: type[Clusterer],
    settings: dict,
    ks: Sequence[int] | None = None,
    n_resamples: int = N_RESAMPLES,
) -> dict[int | None, list[np.ndarray]]:
    """Every user's segment as placed by fits on resamples of the users (:func:`resample_fits`), per k.

    Returns
    -------
    dict
        k (or None) → list of ndarray of shape (n_samples,), one per resample: each fit places all users
        with ``predict``.
    """
    return {key: [fit.predict(X) for fit in fits] for key, fits in resample_fits(X, cls, settings, ks,
                                                                                  n_resamples).items()}


def _run_key(cls: type[Clusterer], settings: Mapping, k: int | None, n_resamples: int, n_users: int) -> tuple:
    """What a run's fit depends on besides the space: the algorithm, its settings, k, the resamples and the
    number of users (a sampled sweep's fits are kept beside the space's own, never in their place)."""
    k = None if cls.chooses_k else (k if k is not None else settings.get("k"))
    return (cls.name, k, n_resamples, n_users, *(settings.get(name) for name in cls.settings if name != "k"))


def fit_run(
    X: np.ndarray,
    cls: type[Clusterer],
    settings: Mapping,
    *,
    k: int | None = None,
    trees: dict | None = None,
    runs: dict | None = None,
    resampled: Sequence[Clusterer] | None = None,
    n_resamples: int = N_RESAMPLES,
) -> tuple[Clusterer, Placements]:
    """The fit a run delivers, and every user's segment under each of its resamples' fits.

    The resamples' fits (:func:`resample_fits`) give the stability figures; for a class that
    ``takes_starts`` their segment centres are also tried as starts of the run's own fit beside its seeded
    initialisations, the lowest inertia winning.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    cls : Clusterer class
        The run's algorithm, resolved once by the caller.
    settings : mapping
        Run settings (a resolved config's ``to_dict()``).
    k : int, optional
        Overrides ``settings["k"]``.
    trees : dict, optional
        Trees fitted on ``X`` (see :func:`~segmentation.cluster.base.fit_on`).
    runs : dict, optional
        Fits already made on ``X`` by this function, keyed by what they depend on: a fit found there is
        returned as it is, a new one is kept there.
    resampled : sequence of Clusterer, optional
        The resamples' fits at this k when the caller already has them.
    n_resamples : int

    Returns
    -------
    clusterer : Clusterer
        Fitted on ``X``.
    placements : Placements
        Users' segments by each resample's fit (each of shape ``(n_samples,)``), with the adjusted Rand index
        of every pair: ``n_resamples`` of them, and for a class that does not ``chooses_k`` more
        (``n_resamples`` at a time, up to :data:`MAX_RESAMPLES`) while the
        :func:`~segmentation.cluster.stability.stability_interval` straddles :data:`STABLE_ENOUGH`.
    """
    key = _run_key(cls, settings, k, n_resamples, len(X))
    if runs is not None and key in runs:
        return runs[key]
    if resampled is None:
        resampled = resample_fits(X, cls, settings, None if k is None else [k], n_resamples, kept=runs)[k]
    # The starts are the first resamples' only: more resamples sharpen the stability figure, and must not
    # move the run's segments with them.
    starts = [fit.centers_ for fit in resampled]
    clusterer = fit_on(X, cls, settings, k=k, trees=trees, starts=starts)
    placements = Placements([fit.predict(X) for fit in resampled])
    # Only where the figure decides a k (an algorithm that finds its own number is not chosen by it).
    tried = n_resamples if not cls.chooses_k else MAX_RESAMPLES
    while len(placements) >= 2 and tried < MAX_RESAMPLES:
        _, low, high = stability_interval(placements)
        if not low < STABLE_ENOUGH <= high:
            break
        stop = min(tried + n_resamples, MAX_RESAMPLES)
        placements = placements.extended(
            [fit.predict(X) for fit in resample_fits(X, cls, settings, [k], stop, start=tried, kept=runs)[k]])
        tried = stop
    fitted = clusterer, placements
    if runs is not None:
        runs[key] = fitted
    return fitted


def choose_k(table: pd.DataFrame, *, k_min: int = K_MIN, k_max: int = K_MAX) -> KChoice:
    """The k to use from a :func:`k_sweep` table, with the reason and any warnings.

    Rule: within ``k_min..k_max``, the ks whose stability is at least 0.8 and whose smallest segment holds at
    least 2% of the users are the candidates (where no k is that stable, those within 0.02 of the most stable;
    where every stable k leaves a smaller segment, the stable ones, with a warning). Among the candidates the
    best silhouette wins, but where a smaller k's silhouette is within 0.01 of it the two are too close for
    any seed to tell apart: the smallest such k is taken and the reason names the others. k=2 is taken
    instead only when the data splits in two clearly (stability ≥ 0.95 and silhouette ≥ 0.25, above every k
    in the range, neither half under 2% of the users). Without a stability column (no resamples) the best
    silhouette decides.

    Raises
    ------
    ConfigError
        If no row has a silhouette (too few users to compare segmentations).
    """
    scored = table.dropna(subset=["silhouette"])
    if scored.empty:
        raise ConfigError("no k could be scored: the data has too few users to compare segmentations")
    in_range = scored[(scored["k"] >= k_min) & (scored["k"] <= k_max)]
    if in_range.empty:
        in_range = scored
    warnings: list[str] = []
    has_stability = in_range["stability"].notna().any()
    if has_stability:
        span = f"k = {int(in_range['k'].min())}..{int(in_range['k'].max())}"
        stable = in_range[in_range["stability"] >= STABLE_ENOUGH]
        if stable.empty:
            top = in_range["stability"].max()
            stable = in_range[in_range["stability"] >= top - STABILITY_TOLERANCE]
            why = f"no k in {span} reproduces well when the users are resampled; this one does best"
        else:
            why = f"among the ks in {span} whose segments come back when the users are resampled"
        candidates = _large_enough(stable)
        if candidates.empty:
            candidates = stable
            warnings.append(
                f"Every reproducible k leaves a segment of under {MIN_SEGMENT_SHARE:.0%} of the users: read the "
                "smallest segments as outliers rather than a group to act on."
            )
        best, close = _best_separated(candidates)
        reason = f"k={int(best['k'])}: {why} (stability {best['stability']:.2f}), " + _separation_words(best, close)
        two = scored[scored["k"] == 2]
        if not _large_enough(two).empty and k_min > 2:
            two = two.iloc[0]
            if (
                two["stability"] >= CLEAR_SPLIT_STABILITY
                and two["silhouette"] >= CLEAR_SPLIT_SILHOUETTE
                and two["silhouette"] > in_range["silhouette"].max()
            ):
                best, close = two, pd.DataFrame(columns=table.columns)
                reason = (
                    f"k=2: the users split clearly in two (stability {two['stability']:.2f}, silhouette "
                    f"{two['silhouette']:.2f}, better than any larger k)"
                )
    else:
        best, close = _best_separated(in_range)
        reason = f"k={int(best['k'])}: over the ks tried, " + _separation_words(best, close)
    k = int(best["k"])
    return KChoice(k, reason, warnings + _disagreements(in_range, k), tuple(int(c) for c in close["k"]))


def _large_enough(table: pd.DataFrame) -> pd.DataFrame:
    """The rows whose smallest segment holds at least :data:`MIN_SEGMENT_SHARE` of the users (all rows where
    the table does not say)."""
    if "smallest_share" not in table:
        return table
    return table[~(table["smallest_share"] < MIN_SEGMENT_SHARE)]


def _best_separated(candidates: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
    """The smallest k whose silhouette is within :data:`CLOSE_SILHOUETTE` of the best, and the other ks that
    close to the best (larger ks only: a smaller one would have been taken)."""
    gap = (candidates["silhouette"].max() - candidates["silhouette"]).round(6)  # 0.06 - 0.05 is not under 0.01
    close = candidates[gap < CLOSE_SILHOUETTE].sort_values("k", kind="stable")
    return close.iloc[0], close.iloc[1:]


def _separation_words(best: pd.Series, close: pd.DataFrame) -> str:
    """Why this k among the candidates: it separates best, or it is the smallest of ks that separate alike."""
    if close.empty:
        return f"it separates the users best (silhouette {best['silhouette']:.2f})"
    rows = [best, *(row for _, row in close.iterrows())]
    ks = _listed([f"k={int(row['k'])}" for row in rows])
    scores = _listed([f"{row['silhouette']:.2f}" for row in rows])
    others = _listed([f"k={int(row['k'])}" for row in rows[1:]])
    return (
        f"{ks} are close (silhouette {scores}): too close for the seed not to decide between them, so the "
        f"smaller is taken; compare {others} on the k-sweep"
    )


def _listed(words: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _disagreements(table: pd.DataFrame, k: int) -> list[str]:
    """Plain warnings where the separation criteria point elsewhere than the chosen k."""
    others = {
        "silhouette": int(table.loc[table["silhouette"].idxmax(), "k"]),
        "Calinski–Harabasz": int(table.loc[table["calinski_harabasz"].idxmax(), "k"])
        if table["calinski_harabasz"].notna().any() else k,
        "Davies–Bouldin": int(table.loc[table["davies_bouldin"].idxmin(), "k"])
        if table["davies_bouldin"].notna().any() else k,
    }
    differ = {name: best for name, best in others.items() if best != k}
    if not differ:
        return []
    listed = ", ".join(f"{name} prefers k={best}" for name, best in differ.items())
    return [
        f"The criteria disagree ({listed}): no single number of segments stands out, so compare the "
        "k-sweep and choose the k whose segments you can name."
    ]


def min_cluster_size_sweep(
    X: np.ndarray,
    cls: type[Clusterer],
    sizes: Iterable[int],
    *,
    seed: int = 0,
    settings: dict | None = None,
    sample_size: int = 5000,
) -> pd.DataFrame:
    """HDBSCAN's counterpart of :func:`k_sweep`: segments, noise, validity and quality per min cluster size.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    cls : Clusterer class
        The run's algorithm, one that ``chooses_k``: its ``sweep_param`` takes each of ``sizes``.
    sizes : iterable of int
    seed : int
    settings : dict, optional
        Other run settings the class declares.
    sample_size : int

    Returns
    -------
    DataFrame
        Columns :data:`SIZE_SWEEP_COLUMNS`. ``noise_share`` is the share hdbscan called noise before the
        noise policy; ``largest_share`` the largest segment's share of all users; ``validity`` hdbscan's
        DBCV; the other scores are those of the labels the policy produced (noise excluded).
    """
    X = np.asarray(X, dtype=np.float64)
    settings = dict(settings or {})
    rows = []
    for size in sizes:
        clusterer = from_settings(cls, {**settings, cls.sweep_param: int(size)}).fit(X)
        labels = clusterer.labels_
        scores = quality(X, labels, sample_size=sample_size, seed=seed)
        kept = labels[labels >= 0]
        rows.append(
            {
                "min_cluster_size": int(size),
                "n_segments": scores["n_segments"],
                "noise_share": clusterer.n_noise_ / len(X) if len(X) else np.nan,
                "largest_share": float(np.bincount(kept).max() / len(X)) if len(kept) else np.nan,
                "validity": clusterer.validity_,
                "silhouette": scores["silhouette"],
                "calinski_harabasz": scores["calinski_harabasz"],
                "davies_bouldin": scores["davies_bouldin"],
            }
        )
    return pd.DataFrame(rows, columns=SIZE_SWEEP_COLUMNS)


def choose_min_cluster_size(table: pd.DataFrame) -> KChoice:
    """The min cluster size with the best density-based validity among settings giving ≥ 2 segments.

    Returns a :class:`KChoice` whose ``k`` is the chosen ``min_cluster_size``.
    """
    usable = table[(table["n_segments"] >= 2) & table["validity"].notna()]
    if usable.empty:
        raise ConfigError("no minimum cluster size gave two segments or more: try another clustering space")
    best = usable.sort_values(["validity", "min_cluster_size"], ascending=[False, True], kind="stable").iloc[0]
    size = int(best["min_cluster_size"])
    return KChoice(
        size,
        f"minimum cluster size {size}: the best density-based validity (DBCV {best['validity']:.2f}), giving "
        f"{int(best['n_segments'])} segments with {best['noise_share']:.0%} noise",
    )
