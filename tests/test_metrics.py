"""Quality metrics of one segmentation (the sweeps that choose k are in test_selection.py)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_samples, silhouette_score

from segmentation.cluster.base import CLUSTERERS
from segmentation.cluster.metrics import quality, silhouette_values, structure_warnings


def blobs(n: int, centers: int, seed: int = 0, std: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    return make_blobs(n_samples=n, n_features=5, centers=centers, cluster_std=std, random_state=seed)


def test_quality_on_well_separated_blobs_scores_high_and_matches_scikit_learn() -> None:
    X, y = blobs(600, centers=4)

    scores = quality(X, y)

    assert scores["silhouette"] > 0.7
    assert scores["silhouette"] == pytest.approx(silhouette_score(X, y))
    assert scores["calinski_harabasz"] == pytest.approx(calinski_harabasz_score(X, y))
    assert scores["davies_bouldin"] == pytest.approx(davies_bouldin_score(X, y))
    centroids = np.array([X[y == c].mean(axis=0) for c in range(4)])
    assert scores["inertia"] == pytest.approx(((X - centroids[y]) ** 2).sum())
    assert (scores["n_segments"], scores["n_noise"], scores["coverage"]) == (4, 0, 1.0)


def test_sampled_silhouette_is_close_to_the_full_one() -> None:
    X, y = blobs(4000, centers=5, std=1.5)
    full = quality(X, y, sample_size=10_000)["silhouette"]
    sampled = quality(X, y, sample_size=1000, seed=1)["silhouette"]
    assert sampled == pytest.approx(full, abs=0.03)
    assert sampled != full


def test_quality_leaves_noise_out_of_every_score() -> None:
    X, y = blobs(300, centers=3)
    noisy_X = np.vstack([X, np.full((5, 5), 100.0)])
    noisy_y = np.concatenate([y, np.full(5, -1)])

    with_noise = quality(noisy_X, noisy_y)

    assert with_noise["n_noise"] == 5
    for key in ("silhouette", "calinski_harabasz", "davies_bouldin", "inertia"):
        assert with_noise[key] == pytest.approx(quality(X, y)[key])


@pytest.mark.parametrize("labels", [[0, 0, 0, 0], [-1, -1, -1, -1], [0, 0, -1, -1]])
def test_quality_is_nan_where_fewer_than_two_segments(labels: list[int]) -> None:
    X = np.arange(8, dtype=float).reshape(4, 2)
    scores = quality(X, np.array(labels))
    assert np.isnan(scores["silhouette"]) and np.isnan(scores["calinski_harabasz"])
    assert np.isnan(scores["davies_bouldin"])
    assert scores["n_segments"] == len(set(labels) - {-1})


def test_silhouette_values_match_scikit_learn_and_are_nan_for_noise() -> None:
    X, y = blobs(500, centers=4, std=2.0)
    y = y.copy()
    y[:10] = -1
    y[10] = 7  # a segment of one: silhouette 0 by convention

    values = silhouette_values(X, y)

    kept = y >= 0
    assert np.isnan(values[~kept]).all()
    np.testing.assert_allclose(values[kept], silhouette_samples(X[kept], y[kept]), atol=1e-9)
    assert values[10] == 0


def test_silhouette_values_above_max_points_cover_a_sample_measured_against_everyone() -> None:
    X, y = blobs(3000, centers=4, std=2.0)

    values = silhouette_values(X, y, max_points=500, seed=3)

    measured = ~np.isnan(values)
    assert measured.sum() == 500
    np.testing.assert_allclose(values[measured], silhouette_samples(X, y)[measured], atol=1e-9)
    np.testing.assert_array_equal(measured, ~np.isnan(silhouette_values(X, y, max_points=500, seed=3)))


def test_quality_says_which_share_of_users_its_scores_cover() -> None:
    X, y = blobs(400, centers=2)
    y = y.copy()
    y[:100] = -1  # a quarter left as noise, as a density method does

    scores = quality(X, y)

    assert scores["coverage"] == pytest.approx(0.75) and scores["n_noise"] == 100
    # The scores are those of the assigned users alone: what the coverage says they speak for.
    assert scores["silhouette"] == pytest.approx(silhouette_score(X[100:], y[100:]))


def test_structure_warnings_speak_of_soft_segments_a_giant_segment_and_noise() -> None:
    labels = np.array([0] * 90 + [1] * 4 + [-1] * 6)
    warnings = structure_warnings({"silhouette": 0.05}, labels, stability=0.5)
    assert any("soft" in w and "either way" in w for w in warnings)
    assert any("90%" in w for w in warnings)
    assert any("do not reproduce" in w for w in warnings)
    mostly_noise = structure_warnings({"silhouette": 0.4}, np.array([0] * 4 + [-1] * 6))
    assert any("60% of users are noise" in w for w in mostly_noise)
    assert structure_warnings({"silhouette": 0.4}, np.array([0] * 5 + [1] * 5), stability=0.95) == []


@pytest.mark.parametrize("algorithm", sorted(CLUSTERERS))
def test_warnings_advise_only_settings_the_algorithm_offers_by_their_page_labels(algorithm: str) -> None:
    """Issue 20: HDBSCAN's warning named min_samples; k-means' giant-segment warning named HDBSCAN's settings."""
    parameters = CLUSTERERS[algorithm].parameters
    offered = {p.label for p in parameters} | {p.auto_label for p in parameters} \
        | {label for p in parameters for label in p.option_labels.values()}
    every = {p.label for c in CLUSTERERS.values() for p in c.parameters} \
        | {p.auto_label for c in CLUSTERERS.values() for p in c.parameters} \
        | {label for c in CLUSTERERS.values() for p in c.parameters for label in p.option_labels.values()}
    labels = np.array([0] * 85 + [1] * 5 + [-1] * 10)
    mostly_noise = np.array([0] * 30 + [1] * 10 + [-1] * 60)
    text = " ".join(structure_warnings({"silhouette": 0.3}, labels, 0.4, parameters)
                    + structure_warnings({"silhouette": 0.3}, mostly_noise, 0.4, parameters))
    named = {label for label in every - {""} if f"“{label}”" in text}
    assert named <= offered
    assert "min_samples" not in text and "leaf cluster selection" not in text
    if any(p.name == "k" for p in parameters):
        assert "“Number of segments (k)”" in text
    if any(p.name == "min_samples" for p in parameters):
        assert "“Density smoothing (min samples)”" in text


def test_structure_warnings_say_how_many_users_a_resample_moves_from_one_in_twenty() -> None:
    labels = np.array([0] * 5 + [1] * 5)
    moved = structure_warnings({"silhouette": 0.4, "moved_share": 0.12}, labels, stability=0.7)
    assert moved == [
        "About 12% of users land in another segment when the segments are fitted on a resample of the users: "
        "read the users at a segment's edge as belonging to either side."
    ]
    assert structure_warnings({"silhouette": 0.4, "moved_share": 0.03}, labels, stability=0.9) == []
    # Below the stability line the one warning carries the figure instead of a second sentence.
    unstable = structure_warnings({"silhouette": 0.4, "moved_share": 0.3}, labels, stability=0.5)
    assert len(unstable) == 1 and "about 30% of users land in another segment" in unstable[0]
