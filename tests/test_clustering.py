"""Clusterers: one contract for every registered algorithm, then each algorithm's own behaviour."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.cluster import hierarchy
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from segmentation.cluster.agglomerative import AgglomerativeClusterer, cut_tree, weighted_linkage
from segmentation.cluster.base import CLUSTERERS, from_settings, make_clusterer, relabel_by_size
from segmentation.cluster.density import HDBSCANClusterer
from segmentation.core.errors import ConfigError


def blobs(n: int, centers: int = 4, seed: int = 0, std: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    X, y = make_blobs(n_samples=n, n_features=5, centers=centers, cluster_std=std, random_state=seed)
    return X.astype(np.float32), y


SETTINGS = {"k": 3, "min_cluster_size": 5, "seed": 0, "linkage": "ward", "noise": "keep"}


@pytest.mark.parametrize("algorithm", sorted(CLUSTERERS))
@pytest.mark.parametrize("n", [4, 9, 60, 400])
def test_every_clusterer_keeps_the_label_contract_on_any_data_size(algorithm: str, n: int) -> None:
    X, _ = blobs(n, centers=3)

    first = from_settings(CLUSTERERS[algorithm], SETTINGS).fit(X)
    again = from_settings(CLUSTERERS[algorithm], SETTINGS).fit(X)

    labels = first.labels_
    assert labels.shape == (n,)
    assert np.issubdtype(labels.dtype, np.integer)
    assert labels.min() >= -1
    segments = np.unique(labels[labels >= 0])
    np.testing.assert_array_equal(segments, np.arange(len(segments)))  # 0..k-1, no gaps
    sizes = np.bincount(labels[labels >= 0]) if len(segments) else np.array([])
    assert np.all(np.diff(sizes) <= 0)  # numbered by descending size
    np.testing.assert_array_equal(labels, again.labels_)
    assert first.notes_ and all(isinstance(note, str) for note in first.notes_)
    assert first.centers_.shape == (len(segments), X.shape[1])
    if not CLUSTERERS[algorithm].chooses_k:
        assert len(segments) == 3
    predicted = first.predict(X)
    assert predicted.shape == (n,) and np.issubdtype(predicted.dtype, np.integer)
    assert set(np.unique(predicted)) <= set(np.unique(labels)) | {-1}


@pytest.mark.parametrize("algorithm", sorted(CLUSTERERS))
def test_every_clusterer_declares_its_capabilities(algorithm: str) -> None:
    cls = CLUSTERERS[algorithm]
    assert cls.name == algorithm and cls.label
    assert cls.sweep_param == ("min_cluster_size" if cls.chooses_k else "k")
    assert cls.default_space in ("umap", "pca", "none")
    known = {"k", "linkage", "seed", "min_cluster_size", "min_samples", "noise", "cluster_selection"}
    assert set(cls.settings) <= known
    assert ("k" in cls.settings) != cls.chooses_k
    assert cls.keeps_tree == hasattr(cls, "at")


@pytest.mark.parametrize("algorithm", sorted(CLUSTERERS))
def test_predict_places_new_points_of_well_separated_blobs_in_their_own_segment(algorithm: str) -> None:
    X, y = blobs(400, centers=3, seed=5, std=0.4)
    new, new_y = blobs(60, centers=3, seed=5, std=0.4)  # same centres, fresh points
    new = new + np.random.default_rng(1).normal(scale=0.05, size=new.shape).astype(np.float32)
    clusterer = from_settings(CLUSTERERS[algorithm], SETTINGS).fit(X)
    # Each true blob maps to one fitted segment; new points of a blob must land in that segment.
    blob_segment = {blob: np.bincount(clusterer.labels_[y == blob][clusterer.labels_[y == blob] >= 0]).argmax()
                    for blob in range(3)}
    predicted = clusterer.predict(new)
    expected = np.array([blob_segment[b] for b in new_y])
    assert (predicted == expected).mean() > 0.95


@pytest.mark.parametrize("linkage", ["ward", "average", "complete"])
@pytest.mark.parametrize("exact_limit", [5000, 100])
def test_agglomerative_predict_puts_each_training_point_back_in_its_segment(linkage: str, exact_limit: int) -> None:
    X, _ = blobs(600, centers=4, seed=0, std=1.0)
    clusterer = AgglomerativeClusterer(k=4, linkage=linkage, exact_limit=exact_limit, n_micro=60).fit(X)
    for k in (4, 2):
        cut = clusterer.at(k)
        assert (cut.predict(X) == cut.labels_).mean() > 0.97
        np.testing.assert_array_equal(cut.labels_, clusterer.cut(k))


def test_make_clusterer_refuses_parameters_the_algorithm_does_not_take() -> None:
    with pytest.raises(ConfigError, match="kmeans does not take linkage"):
        make_clusterer("kmeans", k=4, seed=3, linkage="average")


def test_from_settings_takes_only_the_settings_the_class_declares() -> None:
    clusterer = from_settings(CLUSTERERS["kmeans"], {"k": 4, "seed": 3, "linkage": "average", "min_cluster_size": 9})
    assert (clusterer.k, clusterer.seed, clusterer.n_init) == (4, 3, 10)


@pytest.mark.parametrize("algorithm", ["kmeans", "agglomerative", "bisecting"])
def test_fewer_distinct_profiles_than_k_deliver_the_segments_that_exist_and_say_why(algorithm: str) -> None:
    X = np.repeat(np.array([[0.0, 0.0], [5.0, 5.0]]), 10, axis=0)
    clusterer = make_clusterer(algorithm, k=5).fit(X)
    assert len(np.unique(clusterer.labels_)) == 2
    assert "only 2 distinct user profiles among 20 users, so 2 segments instead of the k=5" in clusterer.notes_[0]


def test_hdbscan_predict_leaves_far_away_points_as_noise_unless_told_otherwise() -> None:
    X, _ = blobs(300, centers=3, seed=2, std=0.3)
    far = np.full((3, 5), 500.0, dtype=np.float32)
    assert (HDBSCANClusterer(min_cluster_size=10).fit(X).predict(far) == -1).all()
    assert (HDBSCANClusterer(min_cluster_size=10, noise="nearest").fit(X).predict(far) >= 0).all()


def test_hdbscan_leaf_selection_finds_finer_segments_and_validity_is_reported() -> None:
    rng = np.random.default_rng(0)
    # One broad region made of twelve small dense knots, and a diffuse region beside it.
    knots = rng.normal(scale=3.0, size=(12, 2))
    X = np.vstack([knot + rng.normal(scale=0.15, size=(30, 2)) for knot in knots]
                  + [rng.normal(scale=3.0, size=(200, 2)) + [40, 0]])
    eom = HDBSCANClusterer(min_cluster_size=20).fit(X)
    leaf = HDBSCANClusterer(min_cluster_size=20, cluster_selection="leaf").fit(X)
    assert leaf.labels_.max() + 1 == 12 > eom.labels_.max() + 1
    assert -1 <= eom.validity_ <= 1


def test_unknown_algorithm_is_a_config_error_listing_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="agglomerative, bisecting, hdbscan, kmeans"):
        make_clusterer("spectral")


@pytest.mark.parametrize("algorithm", ["kmeans", "agglomerative", "bisecting"])
def test_k_larger_than_the_number_of_users_is_a_config_error_that_says_which_k_fits(algorithm: str) -> None:
    X, _ = blobs(8)
    with pytest.raises(ConfigError, match="k=12 is larger than the 8 users in the data; choose k ≤ 8"):
        make_clusterer(algorithm, k=12).fit(X)


@pytest.mark.parametrize("k", [1, 0, "auto"])
def test_k_below_two_or_not_a_number_is_a_config_error(k: object) -> None:
    X, _ = blobs(8)
    with pytest.raises(ConfigError, match="k"):
        make_clusterer("kmeans", k=k).fit(X)


@pytest.mark.parametrize("algorithm", ["kmeans", "agglomerative", "bisecting"])
def test_k_based_clusterers_recover_well_separated_blobs(algorithm: str) -> None:
    X, y = blobs(300, centers=4)
    labels = make_clusterer(algorithm, k=4).fit(X).labels_
    assert adjusted_rand_score(y, labels) > 0.95


def test_relabel_numbers_segments_by_descending_size_and_keeps_noise() -> None:
    labels = relabel_by_size(np.array([7, 7, -1, 3, 3, 3, 5]))
    np.testing.assert_array_equal(labels, [1, 1, -1, 0, 0, 0, 2])


@pytest.mark.parametrize("linkage", ["ward", "average", "complete"])
def test_exact_agglomerative_matches_scipy_and_cut_needs_no_refit(linkage: str) -> None:
    X, _ = blobs(200, centers=5, std=1.5)
    clusterer = AgglomerativeClusterer(k=5, linkage=linkage).fit(X)

    reference = hierarchy.linkage(X.astype(np.float64), method=linkage)
    np.testing.assert_allclose(clusterer.tree_[:, 2], reference[:, 2], rtol=1e-6)
    for k in (2, 5, 9):
        expected = hierarchy.fcluster(reference, k, criterion="maxclust")
        assert adjusted_rand_score(expected, clusterer.cut(k)) == 1.0
    assert "over all 200 users" in clusterer.notes_[0]


def test_cut_gives_exactly_k_groups_even_when_merge_heights_tie() -> None:
    X = np.repeat(np.array([[0.0], [1.0], [2.0], [3.0]]), 3, axis=0)  # duplicates: many zero-height merges
    tree = hierarchy.linkage(X, method="ward")
    for k in range(1, len(X) + 1):
        assert len(np.unique(cut_tree(tree, k))) == k


@pytest.mark.parametrize("linkage", ["ward", "average"])
def test_weighted_linkage_equals_linkage_over_repeated_points(linkage: str) -> None:
    rng = np.random.default_rng(0)
    centroids = rng.normal(size=(12, 3))
    sizes = rng.integers(1, 4, size=12)
    repeated = np.repeat(centroids, sizes, axis=0)

    weighted = weighted_linkage(centroids, sizes, linkage)
    full = hierarchy.linkage(repeated, method=linkage)

    # The full tree first merges the repeated copies at height 0; the rest must be the weighted tree.
    np.testing.assert_allclose(full[-(len(centroids) - 1) :, 2], weighted[:, 2], rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(full[-(len(centroids) - 1) :, 3], weighted[:, 3])


def test_agglomerative_above_the_exact_limit_links_micro_clusters_and_agrees_with_kmeans() -> None:
    X, y = blobs(8000, centers=6, seed=1, std=0.8)

    clusterer = AgglomerativeClusterer(k=6, linkage="ward").fit(X)
    kmeans = make_clusterer("kmeans", k=6).fit(X)

    assert clusterer.tree_.shape[0] + 1 <= 1000
    assert clusterer.micro_labels_.shape == (8000,)
    assert "micro-clusters" in clusterer.notes_[0] and "8,000 users exceed" in clusterer.notes_[0]
    assert adjusted_rand_score(kmeans.labels_, clusterer.labels_) > 0.9
    assert adjusted_rand_score(y, clusterer.cut(6)) > 0.9
    assert len(np.unique(clusterer.cut(3))) == 3


def test_unknown_linkage_is_a_config_error() -> None:
    X, _ = blobs(20)
    with pytest.raises(ConfigError, match="linkage"):
        AgglomerativeClusterer(k=2, linkage="single-ish").fit(X)


def blobs_with_outliers() -> tuple[np.ndarray, np.ndarray]:
    X, y = blobs(300, centers=3, seed=2, std=0.3)
    outliers = np.random.default_rng(0).uniform(-30, 30, size=(15, 5)).astype(np.float32)
    return np.vstack([X, outliers]), np.concatenate([y, np.full(15, -1)])


def test_hdbscan_keep_policy_leaves_outliers_as_noise() -> None:
    X, y = blobs_with_outliers()
    clusterer = HDBSCANClusterer(min_cluster_size=10, noise="keep").fit(X)

    labels = clusterer.labels_
    assert labels.max() + 1 == 3
    assert (labels[-15:] == -1).mean() > 0.8
    assert clusterer.n_noise_ == (labels == -1).sum()
    assert "noise" in clusterer.notes_[0]
    assert adjusted_rand_score(y[:300], labels[:300]) > 0.95


def test_hdbscan_nearest_policy_gives_every_noise_user_the_segment_of_the_closest_centroid() -> None:
    X, _ = blobs_with_outliers()
    kept = HDBSCANClusterer(min_cluster_size=10, noise="keep").fit(X)
    nearest = HDBSCANClusterer(min_cluster_size=10, noise="nearest").fit(X)

    assert (nearest.labels_ >= 0).all()
    noisy = kept.labels_ == -1
    np.testing.assert_array_equal(nearest.labels_[~noisy], kept.labels_[~noisy])
    distances = np.linalg.norm(X[noisy, None, :] - kept.centers_[None], axis=2)
    np.testing.assert_array_equal(nearest.labels_[noisy], distances.argmin(axis=1))
    assert nearest.n_noise_ == noisy.sum()
    assert any("nearest centroid" in note for note in nearest.notes_)


@pytest.mark.parametrize("noise", ["keep", "nearest"])
def test_hdbscan_finding_no_segment_labels_everyone_noise_and_says_so(noise: str) -> None:
    X = np.random.default_rng(0).uniform(size=(30, 5))
    clusterer = HDBSCANClusterer(min_cluster_size=40, noise=noise).fit(X)
    assert (clusterer.labels_ == -1).all()
    assert "no segment" in clusterer.notes_[0]


def test_hdbscan_rejects_an_unknown_noise_policy() -> None:
    with pytest.raises(ConfigError, match="noise='drop' is not allowed: noise must be one of 'keep', 'nearest'"):
        HDBSCANClusterer(noise="drop").fit(np.zeros((5, 2)))


def test_hdbscan_cosine_metric_ignores_vector_length() -> None:
    X, y = blobs(200, centers=3, seed=4, std=0.2)
    directions = X / np.linalg.norm(X, axis=1, keepdims=True)
    scaled = directions * np.random.default_rng(0).uniform(1, 5, size=(200, 1))
    labels = HDBSCANClusterer(min_cluster_size=10, metric="cosine").fit(scaled).labels_
    reference = HDBSCANClusterer(min_cluster_size=10).fit(directions).labels_
    np.testing.assert_array_equal(labels, reference)
