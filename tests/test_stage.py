"""The cluster stage's one entry: a space, the algorithm's class and the run's settings in, scored segments out."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from segmentation.cluster.base import CLUSTERERS, distinct_profiles
from segmentation.cluster.selection import choose_k, fit_run, resample_fits, sweep_rows
from segmentation.cluster.stage import MIN_CLUSTER_SIZES, choose, cluster, sweep, sweep_sample_note
from segmentation.pipeline.config import SegmentConfig


@pytest.fixture(scope="module")
def blobs() -> tuple[np.ndarray, np.ndarray]:
    X, truth = make_blobs(n_samples=300, centers=5, n_features=8, cluster_std=0.6, random_state=3)
    return X, truth


@pytest.fixture(scope="module")
def swept(blobs) -> tuple[dict, object]:
    """The automatic k on the blobs, with the fits the stage kept (not changed by the tests)."""
    X, _ = blobs
    runs: dict = {}
    found = cluster(X, CLUSTERERS["kmeans"], SegmentConfig(k="auto").to_dict(), n_distinct=distinct_profiles(X),
                    runs=runs)
    return runs, found


def test_automatic_k_finds_the_groups_and_delivers_the_fit_it_chose(blobs, swept) -> None:
    X, truth = blobs
    _, found = swept
    assert found.settings["k"] == 5 and found.choice is not None and found.choice.k == 5
    assert adjusted_rand_score(truth, found.labels) > 0.99
    assert found.choice.reason in found.notes  # the page and the CLI say why this k
    assert list(found.sweep["k"]) == list(range(2, 13))
    # The delivered fit is the run the sweep made at that k, not another one.
    again, _ = fit_run(X, CLUSTERERS["kmeans"], found.settings)
    assert np.array_equal(again.labels_, found.labels)
    assert 0.9 < found.metrics["stability"] <= 1.0 and found.metrics["silhouette"] > 0.5
    assert set(found.segment_stability) == set(range(5))
    weights = found.membership["weight"]
    assert weights.shape == (300,) and np.all((weights > 0) & (weights <= 1))


def test_kept_fits_are_reused_when_the_same_space_is_clustered_again(blobs, swept) -> None:
    X, _ = blobs
    runs, first = swept
    kept = dict(runs)
    at_four = cluster(X, CLUSTERERS["kmeans"], {**first.settings, "k": 4}, n_distinct=distinct_profiles(X), runs=runs)
    assert runs == kept  # k=4 was fitted by the sweep already: nothing new was fitted
    assert at_four.sweep is None and at_four.choice is None
    assert at_four.clusterer is fit_run(X, CLUSTERERS["kmeans"], {**first.settings, "k": 4}, runs=kept)[0]
    assert first.clusterer is fit_run(X, CLUSTERERS["kmeans"], first.settings, runs=kept)[0]
    assert runs == kept


def test_a_density_algorithm_has_its_minimum_size_chosen_by_the_same_entry(blobs) -> None:
    X, _ = blobs
    settings = SegmentConfig(algorithm="hdbscan", min_cluster_size="auto").to_dict()
    notes: list[str] = []
    resolved, table, choice = choose(X, CLUSTERERS["hdbscan"], settings, n_distinct=distinct_profiles(X), notes=notes)
    assert resolved["min_cluster_size"] in MIN_CLUSTER_SIZES and resolved["min_cluster_size"] == choice.k
    assert list(table["min_cluster_size"]) == [s for s in MIN_CLUSTER_SIZES if s < len(X)]
    assert notes == [choice.reason]


def test_too_few_distinct_profiles_deliver_two_segments_and_say_why() -> None:
    X = np.repeat(np.eye(2), 10, axis=0)
    notes: list[str] = []
    resolved, table, choice = choose(X, CLUSTERERS["kmeans"], SegmentConfig(k="auto").to_dict(),
                                     n_distinct=distinct_profiles(X), notes=notes)
    assert (resolved["k"], table, choice) == (2, None, None)
    assert notes == ["only 2 distinct user profiles: no k to choose"]


def test_the_page_sweep_covers_the_slider_range_but_never_more_ks_than_distinct_users() -> None:
    X = np.vstack([np.repeat(np.eye(4), 5, axis=0)])
    table = sweep(X, CLUSTERERS["kmeans"], SegmentConfig().to_dict(), range(2, 16))
    assert list(table["k"]) == [2, 3]  # four distinct profiles: k = 4 would only split identical users


def test_a_sweep_over_more_users_than_its_sample_is_fitted_on_the_sample_and_says_so() -> None:
    X, _ = make_blobs(n_samples=600, centers=5, n_features=8, cluster_std=0.6, random_state=3)
    settings = SegmentConfig(k="auto").to_dict()
    runs: dict = {}
    table = sweep(X, CLUSTERERS["kmeans"], settings, runs=runs, sample_size=200)
    assert table.attrs["sample"] == (200, 600)
    assert "a sample of 200 of the 600 users" in sweep_sample_note(table)
    assert choose_k(table).k == 5
    # The figures are those of the sample's own fits, kept for a second sweep (the page's chart, then the
    # automatic k), which fits nothing again.
    sample = X[sweep_rows(600, 200)]
    assert table.set_index("k").loc[4, "smallest_share"] == pytest.approx(
        np.bincount(fit_run(sample, CLUSTERERS["kmeans"], settings, k=4, runs=runs)[0].labels_).min() / 200)
    kept = dict(runs)
    again = sweep(X, CLUSTERERS["kmeans"], settings, runs=runs, sample_size=200)
    assert runs == kept
    # The sample is the same under every seed, so the stability column is too.
    other = sweep(X, CLUSTERERS["kmeans"], {**settings, "seed": 4}, sample_size=200)
    np.testing.assert_array_equal(again["stability"], other["stability"])
    unsampled = sweep(X, CLUSTERERS["kmeans"], settings)
    assert "sample" not in unsampled.attrs and sweep_sample_note(unsampled) is None


@pytest.mark.slow
def test_automatic_k_above_the_sweep_sample_is_fitted_on_every_user_from_the_sweeps_resample_fits() -> None:
    X, truth = make_blobs(n_samples=10_200, centers=5, n_features=8, cluster_std=0.6, random_state=3)
    settings = {**SegmentConfig(k="auto").to_dict(), "k_max": 6}
    runs: dict = {}
    found = cluster(X, CLUSTERERS["kmeans"], settings, n_distinct=distinct_profiles(X), runs=runs)
    assert found.sweep.attrs["sample"] == (10_000, 10_200)
    assert found.settings["k"] == 5 and sweep_sample_note(found.sweep) in found.notes
    assert len(found.labels) == 10_200 and adjusted_rand_score(truth, found.labels) > 0.99
    # The delivered fit is one on every user, the same as with nothing kept.
    alone, _ = fit_run(X, CLUSTERERS["kmeans"], found.settings)
    np.testing.assert_array_equal(alone.labels_, found.labels)
    # The sampled sweep and the fits on everyone drew the same resamples: the re-cluster at a new k that the
    # sweep covered fits no resample again.
    sample = X[sweep_rows(len(X))]
    swept = resample_fits(sample, CLUSTERERS["kmeans"], settings, [6], kept=runs)[6]
    kept = dict(runs)
    cluster(X, CLUSTERERS["kmeans"], {**found.settings, "k": 6}, n_distinct=distinct_profiles(X), runs=runs)
    assert all(runs[key] is kept[key] for key in kept)
    assert all(fit is again for fit, again in zip(
        swept, resample_fits(X, CLUSTERERS["kmeans"], settings, [6], kept=runs)[6], strict=True))
