"""The agreement of resampled fits: every pair's adjusted Rand index computed once and read by every figure."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from segmentation.cluster.base import CLUSTERERS
from segmentation.cluster.selection import fit_run, resample_placements
from segmentation.cluster.stability import Placements, adjusted_rand, mean_pairwise_ari, stability_interval


def _placements(k: int, n_resamples: int) -> list[np.ndarray]:
    X, _ = make_blobs(n_samples=400, n_features=5, centers=4, cluster_std=3.0, random_state=3)
    return resample_placements(X, CLUSTERERS["kmeans"], {"seed": 0}, ks=[k], n_resamples=n_resamples)[k]


def test_placements_hold_every_pairs_adjusted_rand_index_and_extending_adds_only_new_pairs() -> None:
    labelings = _placements(6, 8)
    first = Placements(labelings[:5])
    assert len(first) == 5 and all(a is b or np.array_equal(a, b) for a, b in zip(first, labelings[:5], strict=True))
    for i in range(5):
        assert np.isnan(first.pairs[i, i])
        for j in range(i + 1, 5):
            assert first.pairs[i, j] == first.pairs[j, i] == adjusted_rand_score(labelings[i], labelings[j])
    more = first.extended(labelings[5:])
    np.testing.assert_array_equal(more.pairs, Placements(labelings).pairs)
    assert len(first) == 5 and first.pairs.shape == (5, 5)  # extending leaves the first untouched
    # The figures read from the kept pairs are those of the labelings themselves.
    assert stability_interval(more) == stability_interval(list(labelings))
    assert mean_pairwise_ari(more) == pytest.approx(np.mean([
        adjusted_rand_score(labelings[i], labelings[j]) for i in range(8) for j in range(i + 1, 8)]))


def test_a_run_carries_its_placements_pairs_so_the_stage_reads_the_same_figure() -> None:
    X, _ = make_blobs(n_samples=300, n_features=5, centers=4, cluster_std=3.0, random_state=3)
    runs: dict = {}
    _, placements = fit_run(X, CLUSTERERS["kmeans"], {"seed": 0}, k=5, runs=runs)
    assert isinstance(placements, Placements) and placements.pairs.shape == (len(placements),) * 2
    # The kept fit is the same object, pairs and all: a re-cluster at this k computes no pair again.
    assert fit_run(X, CLUSTERERS["kmeans"], {"seed": 0}, k=5, runs=runs)[1] is placements
    assert mean_pairwise_ari(placements) == pytest.approx(mean_pairwise_ari(list(placements)))


def test_adjusted_rand_is_scikit_learns_to_the_last_digit() -> None:
    labelings = _placements(7, 6)
    for a in labelings:
        for b in labelings:
            assert adjusted_rand(a, b) == adjusted_rand_score(a, b)
    a = labelings[0]
    noisy = np.where(np.arange(len(a)) % 9 == 0, -1, labelings[1])  # noise counts as one more segment
    assert adjusted_rand(a, noisy) == adjusted_rand_score(a, noisy)
    spread = a * 1000 + 7  # labels far apart are numbered, not shifted
    assert adjusted_rand(spread, labelings[2]) == adjusted_rand_score(spread, labelings[2])
    assert adjusted_rand(a, a) == 1.0 and adjusted_rand(np.zeros(5, int), np.arange(5)) == 0.0
