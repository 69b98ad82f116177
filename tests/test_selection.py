"""Sweeps over k and min_cluster_size, stability under resampling, and the choice of k."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score, pairwise_distances, silhouette_score

from segmentation.cluster.base import CLUSTERERS, fit_on
from segmentation.cluster.metrics import mean_silhouette, quality, sample_rows
from segmentation.cluster.selection import (
    MAX_RESAMPLES,
    N_RESAMPLES,
    RESAMPLE_SEED,
    SIZE_SWEEP_COLUMNS,
    STABLE_ENOUGH,
    SWEEP_COLUMNS,
    choose_k,
    choose_min_cluster_size,
    fit_run,
    k_sweep,
    min_cluster_size_sweep,
    resample_fits,
    resample_placements,
)
from segmentation.cluster.stability import mean_pairwise_ari, moved_share, segment_stability, stability_interval
from segmentation.core.errors import ConfigError


def blobs(n: int, centers: int, seed: int = 0, std: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    return make_blobs(n_samples=n, n_features=5, centers=centers, cluster_std=std, random_state=seed)


@pytest.mark.parametrize("algorithm", ["kmeans", "agglomerative", "bisecting"])
def test_k_sweep_and_choice_find_the_true_number_of_blobs(algorithm: str) -> None:
    X, _ = blobs(600, centers=5, seed=7)

    table = k_sweep(X, CLUSTERERS[algorithm], range(2, 10))

    assert list(table.columns) == SWEEP_COLUMNS
    assert list(table["k"]) == list(range(2, 10))
    choice = choose_k(table)
    assert choice.k == 5
    assert "k=5" in choice.reason and "resampled" in choice.reason
    assert table.set_index("k").loc[5, "stability"] > 0.95
    assert table["davies_bouldin"].idxmin() == table["k"].tolist().index(5)


def test_a_k_that_splits_a_blob_arbitrarily_is_less_stable_than_the_true_k() -> None:
    X, _ = blobs(600, centers=4, seed=3, std=0.6)
    table = k_sweep(X, CLUSTERERS["kmeans"], [4, 7]).set_index("k")
    assert table.loc[4, "stability"] > 0.95
    assert table.loc[7, "stability"] < table.loc[4, "stability"] - 0.05


def test_k_sweep_silhouette_equals_quality_of_the_same_labels_and_cuts_a_given_tree() -> None:
    X, _ = blobs(900, centers=4, std=1.5)
    trees: dict = {}
    fit_on(X, CLUSTERERS["agglomerative"], {"k": 2, "seed": 2}, trees=trees)
    (tree,) = trees.values()
    table = k_sweep(X, CLUSTERERS["agglomerative"], [3], sample_size=400, seed=2, trees=trees, n_resamples=0)
    assert list(trees.values()) == [tree]  # cut, not rebuilt
    labels = tree.at(3).labels_
    # The silhouette's sample is drawn the same under every run seed (another sample moves close ks' scores).
    expected = quality(X, labels, sample_size=400, seed=RESAMPLE_SEED)["silhouette"]
    assert table["silhouette"].iloc[0] == pytest.approx(expected)
    assert np.isnan(table["stability"].iloc[0])


def test_k_sweep_skips_ks_the_data_cannot_score_and_is_empty_when_none_fit() -> None:
    X, _ = blobs(6, centers=2)
    assert list(k_sweep(X, CLUSTERERS["kmeans"], range(2, 16))["k"]) == [2, 3, 4, 5]
    assert k_sweep(X[:2], CLUSTERERS["kmeans"], range(2, 16)).empty


def test_k_sweep_refuses_an_algorithm_that_finds_its_own_number() -> None:
    with pytest.raises(ConfigError, match="min_cluster_size"):
        k_sweep(np.zeros((10, 2)), CLUSTERERS["hdbscan"], [2, 3])


def test_choose_k_takes_the_best_separated_k_among_those_reproducible_enough() -> None:
    table = pd.DataFrame({
        "k": [2, 3, 4, 5, 6],
        "stability": [0.99, 0.79, 0.93, 0.85, 0.70],
        "silhouette": [0.20, 0.50, 0.31, 0.30, 0.60],
        "calinski_harabasz": [10.0, 12.0, 11.0, 10.5, 9.0],
        "davies_bouldin": [1.0, 0.9, 1.1, 1.2, 1.3],
    })
    choice = choose_k(table)
    # 4 and 5 reach 0.8 stability; 4 separates better. k=2 is outside 3..12 and no clear split.
    assert choice.k == 4
    assert "come back when the users are resampled" in choice.reason
    assert any("disagree" in warning for warning in choice.warnings)


def test_choose_k_where_no_k_is_reproducible_enough_takes_the_most_stable_and_says_so() -> None:
    table = pd.DataFrame({
        "k": [3, 4, 5], "stability": [0.70, 0.55, 0.69], "silhouette": [0.05, 0.09, 0.06],
        "calinski_harabasz": [3.0, 2.0, 1.0], "davies_bouldin": [1.0, 1.0, 1.0],
    })
    choice = choose_k(table)
    assert choice.k == 5  # 3 and 5 are within 0.02 of the most stable; 5 separates better
    assert "no k in k = 3..5 reproduces well" in choice.reason


def test_choose_k_takes_two_only_for_a_clear_two_group_split() -> None:
    X, _ = blobs(400, centers=2, seed=1, std=0.4)
    assert choose_k(k_sweep(X, CLUSTERERS["kmeans"], range(2, 8))).k == 2
    table = pd.DataFrame({
        "k": [2, 3], "stability": [0.99, 0.97], "silhouette": [0.2, 0.15],
        "calinski_harabasz": [1.0, 1.0], "davies_bouldin": [1.0, 1.0],
    })
    assert choose_k(table).k == 3


def test_choose_k_without_any_scored_k_is_a_config_error() -> None:
    empty = pd.DataFrame({"k": [2], "stability": [np.nan], "silhouette": [np.nan]})
    with pytest.raises(ConfigError):
        choose_k(empty)


def test_segment_stability_marks_the_segment_that_resampling_breaks_up() -> None:
    # Two tight blobs and one diffuse cloud split in two by the labels: the split halves are unstable.
    X, y = blobs(450, centers=3, seed=4, std=0.3)
    labels = y.copy()
    cloud = np.flatnonzero(y == 2)
    labels[cloud[: len(cloud) // 2]] = 3
    placements = resample_placements(X, CLUSTERERS["kmeans"], {"k": 3, "seed": 0})[None]
    stability = segment_stability(labels, placements)
    assert stability[0] > 0.95 and stability[1] > 0.95
    assert stability[2] < 0.6 and stability[3] < 0.6
    assert mean_pairwise_ari(placements) > 0.95


def test_min_cluster_size_sweep_reports_segments_noise_validity_and_scores() -> None:
    X, _ = blobs(400, centers=4, std=0.4, seed=5)
    X = np.vstack([X, np.random.default_rng(0).uniform(-40, 40, size=(20, 5))])

    table = min_cluster_size_sweep(X, CLUSTERERS["hdbscan"], [5, 20, 500])

    assert list(table.columns) == SIZE_SWEEP_COLUMNS
    row = table.set_index("min_cluster_size").loc[20]
    assert row["n_segments"] == 4
    assert 0 < row["noise_share"] < 0.1
    assert 0.2 < row["largest_share"] < 0.3
    assert row["silhouette"] > 0.7 and row["validity"] > 0.5
    too_big = table.set_index("min_cluster_size").loc[500]
    assert too_big["n_segments"] == 0 and too_big["noise_share"] == 1 and np.isnan(too_big["validity"])
    assert choose_min_cluster_size(table).k in (5, 20)


def test_min_cluster_size_sweep_with_nearest_policy_reports_noise_before_assignment() -> None:
    X, _ = blobs(400, centers=4, std=0.4, seed=5)
    X = np.vstack([X, np.random.default_rng(0).uniform(-40, 40, size=(20, 5))])
    kept = min_cluster_size_sweep(X, CLUSTERERS["hdbscan"], [20])
    nearest = min_cluster_size_sweep(X, CLUSTERERS["hdbscan"], [20], settings={"noise": "nearest"})
    assert nearest["noise_share"].iloc[0] == kept["noise_share"].iloc[0] > 0


def test_resample_placements_are_the_same_under_every_run_seed() -> None:
    # The stability figure is a property of the data and k: the run's seed must not move it (issue 21).
    X, _ = blobs(300, centers=4, seed=2, std=2.5)
    first = resample_placements(X, CLUSTERERS["kmeans"], {"seed": 0}, ks=[3, 6])
    other = resample_placements(X, CLUSTERERS["kmeans"], {"seed": 7}, ks=[3, 6])
    for k in (3, 6):
        assert len(first[k]) == 5
        for a, b in zip(first[k], other[k], strict=True):
            np.testing.assert_array_equal(a, b)


def test_k_sweep_under_different_seeds_gives_the_same_stability_and_its_fits_are_the_runs() -> None:
    X, _ = blobs(400, centers=5, seed=11, std=2.0)
    tables = [k_sweep(X, CLUSTERERS["kmeans"], range(2, 9), seed=seed).set_index("k") for seed in (0, 3)]
    pd.testing.assert_series_equal(tables[0]["stability"], tables[1]["stability"])
    # Each k's silhouette is that of the fit the run itself makes at that k (same seed, full strength).
    run, _ = fit_run(X, CLUSTERERS["kmeans"], {"seed": 3}, k=6)
    assert tables[1].loc[6, "silhouette"] == pytest.approx(quality(X, run.labels_)["silhouette"])
    assert tables[1].loc[6, "smallest_share"] == pytest.approx(np.bincount(run.labels_).min() / len(X))


def test_automatic_k_takes_no_k_that_gives_a_handful_of_outliers_their_own_segment() -> None:
    # Four groups of 75 users and three odd ones out together: k=5 gives the three (1% of users) a segment of
    # their own, reproducibly and better separated than k=4; a marketer cannot act on it (issue 20).
    X, y = blobs(300, centers=4, seed=5)
    odd = np.tile(X[y == 0].mean(axis=0), (3, 1)) + np.random.default_rng(0).normal(scale=0.3, size=(3, 5))
    odd[:, 0] += 30
    table = k_sweep(np.vstack([X, odd]), CLUSTERERS["kmeans"], range(2, 8)).set_index("k")
    assert table.loc[5, "smallest_share"] == pytest.approx(3 / 303)
    assert table.loc[5, "stability"] >= 0.8 and table.loc[5, "silhouette"] > table.loc[4, "silhouette"] + 0.01
    assert choose_k(table.reset_index()).k == 4


def test_choose_k_warns_when_every_reproducible_k_leaves_a_tiny_segment() -> None:
    table = pd.DataFrame({
        "k": [3, 4], "stability": [0.95, 0.9], "silhouette": [0.30, 0.20], "smallest_share": [0.005, 0.01],
        "calinski_harabasz": [2.0, 1.0], "davies_bouldin": [1.0, 1.1],
    })
    choice = choose_k(table)
    assert choice.k == 3
    assert any("under 2% of the users" in warning for warning in choice.warnings)


def test_choose_k_takes_the_smaller_of_two_ks_that_separate_alike_and_names_both() -> None:
    table = pd.DataFrame({
        "k": [3, 4, 5, 6], "stability": [0.97, 0.95, 0.90, 0.60], "silhouette": [0.300, 0.305, 0.25, 0.40],
        "smallest_share": [0.2, 0.15, 0.1, 0.05],
        "calinski_harabasz": [3.0, 2.0, 1.0, 1.0], "davies_bouldin": [1.0, 1.0, 1.0, 1.0],
    })
    choice = choose_k(table)
    # 4 separates a little better, but 0.005 is within what a seed moves; 6 is not reproducible.
    assert choice.k == 3 and choice.close == (4,)
    assert choice.reason.startswith("k=3:") and "k=3 and k=4 are close (silhouette 0.30 and 0.30)" in choice.reason
    assert "compare k=4 on the k-sweep" in choice.reason
    apart = table.assign(silhouette=[0.28, 0.305, 0.25, 0.40])
    clear = choose_k(apart)
    assert clear.k == 4 and clear.close == () and "close" not in clear.reason


def test_moved_share_counts_users_outside_the_matched_segment_whatever_the_numbering() -> None:
    run = np.array([0, 0, 0, 0, 1, 1, 1, 1, 2, 2])
    # Numbered otherwise, and two users elsewhere: the 0s became 2, the 1s 0, the 2s 1; user 3 went to the
    # 1s' segment, user 9 is noise in the placement.
    placement = np.array([2, 2, 2, 0, 0, 0, 0, 0, 1, -1])
    assert moved_share(run, [placement]) == pytest.approx(0.2)
    assert moved_share(run, [placement, run]) == pytest.approx(0.1)
    assert np.isnan(moved_share(run, []))


def test_kmeans_keeps_the_seeded_fit_unless_a_start_lowers_the_inertia() -> None:
    X, truth = blobs(300, centers=4, seed=5, std=1.0)
    alone = fit_on(X, CLUSTERERS["kmeans"], {"seed": 1}, k=4)
    # A start at the four blob means (the optimum) and one with every centre in one corner.
    means = np.vstack([X[truth == g].mean(axis=0) for g in range(4)])
    good = fit_on(X, CLUSTERERS["kmeans"], {"seed": 1}, k=4, starts=[np.full((4, 5), 50.0), means])
    assert good.inertia_ <= alone.inertia_ + 1e-9
    assert good.start_ in (None, 1)
    assert adjusted_rand_score(good.labels_, truth) == pytest.approx(1.0)
    # Starts of another shape (a resample that found fewer segments) are skipped.
    skipped = fit_on(X, CLUSTERERS["kmeans"], {"seed": 1}, k=4, starts=[means[:3]])
    np.testing.assert_array_equal(skipped.labels_, alone.labels_)
    assert skipped.start_ is None


def test_stability_interval_is_the_mean_pairwise_ari_with_a_jackknife_spread_over_resamples() -> None:
    X, _ = blobs(300, centers=4, seed=3, std=3.0)
    placements = resample_placements(X, CLUSTERERS["kmeans"], {"seed": 0}, ks=[6])[6]
    stability, low, high = stability_interval(placements)
    assert stability == pytest.approx(mean_pairwise_ari(placements))
    # The jackknife written out: each resample left out in turn.
    m = len(placements)
    left_out = np.array([mean_pairwise_ari(placements[:i] + placements[i + 1:]) for i in range(m)])
    error = np.sqrt((m - 1) / m * ((left_out - left_out.mean()) ** 2).sum())
    assert (low, high) == pytest.approx((stability - 2 * error, min(1.0, stability + 2 * error)))
    assert low < stability < high
    # Resamples that all agree leave no doubt.
    assert stability_interval([placements[0]] * 4) == pytest.approx((1.0, 1.0, 1.0))


def test_k_sweep_adds_resamples_only_where_the_interval_straddles_the_line_and_never_moves_the_segments() -> None:
    X, _ = blobs(300, centers=4, seed=3, std=3.0)
    runs: dict = {}
    table = k_sweep(X, CLUSTERERS["kmeans"], range(2, 9), runs=runs).set_index("k")
    assert (table["resamples"] > N_RESAMPLES).any()  # these users put some k near the line
    for k, row in table.iterrows():
        first = resample_placements(X, CLUSTERERS["kmeans"], {"seed": 0}, ks=[k])[k]
        _, low, high = stability_interval(first)
        straddles = low < STABLE_ENOUGH <= high
        assert (row["resamples"] > N_RESAMPLES) == straddles, k
        if straddles and row["resamples"] < MAX_RESAMPLES:  # it stopped because the line was left
            assert not row["stability_low"] < STABLE_ENOUGH <= row["stability_high"]
        assert row["stability_low"] <= row["stability"] <= row["stability_high"]
    # The run's segments come from the first resamples' starts only, however many the figure took.
    k = int(table["resamples"].idxmax())
    run, placements = fit_run(X, CLUSTERERS["kmeans"], {"seed": 0}, k=k, runs=runs)
    assert len(placements) == table.loc[k, "resamples"]
    starts = [fit.centers_ for fit in resample_fits(X, CLUSTERERS["kmeans"], {"seed": 0}, [k])[k]]
    alone = fit_on(X, CLUSTERERS["kmeans"], {"seed": 0}, k=k, starts=starts)
    np.testing.assert_array_equal(run.labels_, alone.labels_)


def test_mean_silhouette_from_precomputed_distances_equals_scikit_learns() -> None:
    X, _ = blobs(600, centers=5, seed=4, std=2.0)
    sample = sample_rows(len(X), 400, 0)
    distances = pairwise_distances(X[sample])
    for k in (2, 5, 9):
        labels = fit_on(X, CLUSTERERS["kmeans"], {"seed": 0}, k=k).labels_[sample]
        assert mean_silhouette(distances, labels) == pytest.approx(
            silhouette_score(distances, labels, metric="precomputed"), abs=1e-12)
