"""Projection: the shared k-NN graph, UMAP / PCA clustering spaces, the 2-d map, tiny inputs."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from segmentation.core.errors import ConfigError
from segmentation.embed.projection import knn_graph, map_2d, reduce, warm_up


def profiles(n: int, d: int = 20, centers: int = 3, seed: int = 0) -> np.ndarray:
    X, _ = make_blobs(n_samples=n, n_features=d, centers=centers, random_state=seed)
    return (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)


def test_knn_graph_is_in_umaps_format_with_each_row_first_in_its_own_list() -> None:
    X = profiles(50)

    indices, distances = knn_graph(X, n_neighbors=15)

    assert indices.shape == distances.shape == (50, 15)
    assert indices.dtype == np.int64 and distances.dtype == np.float32
    np.testing.assert_array_equal(indices[:, 0], np.arange(50))
    assert (distances[:, 0] == 0).all() and (np.diff(distances, axis=1) >= -1e-6).all()
    cosine = 1 - X @ X.T
    expected = np.sort(cosine, axis=1)[:, :15]
    np.testing.assert_allclose(distances, np.maximum(expected, 0), atol=1e-5)


def test_knn_graph_puts_a_row_first_even_among_many_duplicates() -> None:
    X = np.vstack([np.tile([1.0, 0.0], (20, 1)), np.tile([0.0, 1.0], (5, 1))]).astype(np.float32)

    indices, distances = knn_graph(X, n_neighbors=4)

    np.testing.assert_array_equal(indices[:, 0], np.arange(25))
    assert (distances[:, 0] == 0).all()
    assert all(len(set(row)) == 4 for row in indices)


def test_knn_graph_among_equally_near_rows_is_the_one_a_full_sort_of_each_row_gives() -> None:
    # Three groups of eight identical rows, shuffled, and a few distinct rows: most rows have seven
    # neighbours at distance 0 and the fourth place is a tie; a reference made by partitioning and sorting
    # every whole row decides which of the tied rows are kept, and in which order.
    rng = np.random.default_rng(4)
    groups = rng.permutation(np.repeat(np.arange(3), 8))
    X = np.vstack([np.eye(3)[groups], rng.normal(size=(6, 3))]).astype(np.float32)
    unit = X / np.linalg.norm(X, axis=1, keepdims=True)
    sims = unit @ unit.T
    top = np.argpartition(-sims, 3, axis=1)[:, :4]
    expected = np.take_along_axis(top, np.argsort(-np.take_along_axis(sims, top, axis=1), axis=1, kind="stable"), 1)

    indices, distances = knn_graph(X, n_neighbors=4)

    rows = np.arange(len(X))
    self_first = [[row, *[i for i in expected[row] if i != row]][:4] for row in rows]
    np.testing.assert_array_equal(indices, self_first)
    np.testing.assert_allclose(distances[:24], 0, atol=1e-6)


def test_knn_graph_clamps_neighbours_to_the_number_of_rows() -> None:
    indices, _ = knn_graph(profiles(5), n_neighbors=15)
    assert indices.shape == (5, 5)


def test_pca_reduction_is_seeded_and_has_the_asked_dimensions() -> None:
    X = profiles(200)
    first = reduce(X, "pca", 5, seed=1)
    assert first.shape == (200, 5) and first.dtype == np.float32
    np.testing.assert_array_equal(first, reduce(X, "pca", 5, seed=1))


def test_no_reduction_returns_the_profiles_themselves_as_a_copy() -> None:
    X = profiles(10)
    space = reduce(X, "none")
    np.testing.assert_array_equal(space, X)
    assert space is not X


def test_unknown_reduction_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="umap, pca, none"):
        reduce(profiles(10), "tsne")


@pytest.mark.parametrize("n", [1, 2, 3])
def test_three_users_or_fewer_never_crash_and_get_padded_coordinates(n: int) -> None:
    X = profiles(40)[:n]
    space = reduce(X, "umap", 5)
    coords = map_2d(X)
    assert space.shape == (n, 5) and coords.shape == (n, 2)
    assert np.isfinite(space).all() and np.isfinite(coords).all()


@pytest.mark.slow
def test_umap_space_and_map_share_one_knn_graph_are_seeded_and_keep_the_groups() -> None:
    X = profiles(300, centers=3)
    _, y = make_blobs(n_samples=300, n_features=20, centers=3, random_state=0)
    knn = knn_graph(X)
    before = (knn[0].copy(), knn[1].copy())

    space = reduce(X, "umap", 5, seed=0, knn=knn)
    again = reduce(X, "umap", 5, seed=0, knn=knn)
    coords = map_2d(X, seed=0, knn=knn)

    assert space.shape == (300, 5) and coords.shape == (300, 2)
    np.testing.assert_array_equal(space, again)
    np.testing.assert_array_equal(knn[0], before[0])  # UMAP got copies; the graph can be reused
    from sklearn.cluster import KMeans

    labels = KMeans(3, n_init=10, random_state=0).fit_predict(space)
    assert adjusted_rand_score(y, labels) > 0.95


@pytest.mark.slow
@pytest.mark.parametrize("n", [4, 7, 16])
def test_umap_on_a_handful_of_users_clamps_its_neighbours_instead_of_crashing(n: int) -> None:
    X = profiles(n)
    knn = knn_graph(X)
    space = reduce(X, "umap", 5, knn=knn)
    coords = map_2d(X, knn=knn)
    assert space.shape == (n, 5) and coords.shape == (n, 2)
    assert np.isfinite(space).all() and np.isfinite(coords).all()


@pytest.mark.slow
def test_warm_up_runs_a_tiny_umap_without_error() -> None:
    warm_up()


def test_cosine_knn_equals_scikit_learns_brute_force():
    from sklearn.neighbors import NearestNeighbors

    from segmentation.embed.projection import knn_graph

    X = np.random.default_rng(3).normal(size=(700, 24)).astype(np.float32)
    indices, distances = knn_graph(X, n_neighbors=15)
    expected_d, expected_i = NearestNeighbors(n_neighbors=15, metric="cosine", algorithm="brute").fit(X).kneighbors(X)
    np.testing.assert_array_equal(indices, expected_i)
    np.testing.assert_allclose(distances, expected_d, atol=1e-5)


@pytest.mark.slow
def test_map_and_space_side_by_side_equal_the_serial_layouts():
    from segmentation.embed.projection import knn_graph, map_2d, map_and_space, reduce

    X = np.random.default_rng(5).normal(size=(300, 16)).astype(np.float32)
    knn = knn_graph(X)
    coords, space = map_and_space(X, 5, seed=2, knn=knn, parallel_min_points=100)  # in a second process
    np.testing.assert_array_equal(coords, map_2d(X, seed=2, knn=knn))
    np.testing.assert_array_equal(space, reduce(X, "umap", 5, seed=2, knn=knn))


@pytest.mark.slow
def test_spectral_init_is_umaps_spectral_layout_shared_by_the_map_and_the_space() -> None:
    from umap.spectral import spectral_layout
    from umap.umap_ import fuzzy_simplicial_set

    from segmentation.embed.projection import spectral_init

    X = profiles(600, centers=1)  # one connected graph (disconnected parts are laid out per part)
    knn = knn_graph(X)
    init = spectral_init(X, seed=1, knn=knn)
    graph = fuzzy_simplicial_set(X, 15, np.random.RandomState(1), "cosine", knn_indices=knn[0], knn_dists=knn[1])[0]
    own_2d = spectral_layout(X, graph, 2, np.random.RandomState(1))

    assert init.shape == (600, 5) and init.dtype == np.float32
    # The map's two columns are the eigenvectors UMAP computes for a 2-d start (up to sign and scale).
    for column in range(2):
        assert abs(np.corrcoef(init[:, column], own_2d[:, column])[0, 1]) > 0.999
    assert spectral_init(X[:7], knn=knn_graph(X[:7])) == "random"


@pytest.mark.slow
def test_map_and_space_from_a_script_without_main_guard_as_streamlit_runs_app_py(tmp_path) -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    # Streamlit runs app.py as __main__ with no guard: a multiprocessing child would re-run the whole script.
    script = tmp_path / "unguarded.py"
    script.write_text(
        "import numpy as np\n"
        "from segmentation.embed.projection import knn_graph, map_2d, map_and_space, reduce\n"
        "X = np.random.default_rng(5).normal(size=(300, 16)).astype(np.float32)\n"
        "knn = knn_graph(X)\n"
        "coords, space = map_and_space(X, 5, seed=2, knn=knn, parallel_min_points=100)\n"
        "assert (coords == map_2d(X, seed=2, knn=knn)).all()\n"
        "assert (space == reduce(X, 'umap', 5, seed=2, knn=knn)).all()\n"
        "print('laid out')\n"
    )
    root = Path(__file__).resolve().parents[1]
    run = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(root)},
    )

    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.count("laid out") == 1
    assert "Traceback" not in run.stderr
