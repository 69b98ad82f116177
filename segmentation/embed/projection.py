"""User profiles → a small clustering space (UMAP or PCA) and a 2-d map.

One k-NN graph, computed once by :func:`knn_graph`, feeds both the clustering-space UMAP and the 2-d map
UMAP (``precomputed_knn``): that cut UMAP's first fit at 10k users from 75 s to 17 s. ``umap`` is imported
lazily because importing it costs seconds (and numba compiles on the first fit: :func:`warm_up`).
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from segmentation.core.errors import ConfigError
from segmentation.core.paths import point_numba_cache

N_NEIGHBORS = 15
# UMAP's own choice above 10,000 points; below it UMAP would run 500 epochs, 2-3x longer, and on the 10k-user
# demo 200 gave the same segments (HDBSCAN NMI 0.589 vs 0.587).
N_EPOCHS = 200
# Above 20,000 points half as many: at 50k users 100 epochs gave the same segments (HDBSCAN NMI 0.617 vs 0.616
# with 200) and a map that kept the groups as well (k-means on the 2-d map: NMI 0.613 vs 0.614) in half the
# time (9.7 s instead of 18.9 s for the map), as UMAP itself runs fewer epochs on more points.
LARGE_N_EPOCHS = 100
LARGE_LAYOUT_POINTS = 20_000
# Dimensions of the spectral initialisation shared by the map and a clustering space (:func:`spectral_init`).
SPECTRAL_DIMS = 5
# Similarities held at once by the exact k-NN search (float32): about 64 MB.
_KNN_BLOCK_CELLS = 16_000_000
METHODS = ("umap", "pca", "none")
# Exact brute-force neighbours up to here; above it, the approximate NN-descent UMAP itself would use. NN-descent
# compiles its numba kernels in every new process (the CLI's, the app's first map): 132 of its 144 s at 20,324
# demo users were compilation. In fresh processes at load ~12 (fast-encoder profiles; benchmarks/README.md,
# Neighbours) brute force took 25 s against NN-descent's 116 s on 16,745 real users of the four shared sets,
# 30 against 66-96 s at 20,324 demo users, and lost only from about 35,000 (104 vs 123 s at 33,490; 110 vs 96 s
# at 40,000).
BRUTE_FORCE_LIMIT = 35_000
# From here on, with 2+ cores, the 2-d map is laid out in a second process while this one lays out the
# clustering space (:func:`map_and_space`): a process costs ~2 s to start.
PARALLEL_MIN_POINTS = 5_000
# Below this UMAP has too few points to build a neighbourhood graph worth the name.
MIN_UMAP_POINTS = 4

Knn = tuple[np.ndarray, np.ndarray]


def knn_graph(X: np.ndarray, n_neighbors: int = N_NEIGHBORS, metric: str = "cosine", seed: int = 0) -> Knn:
    """Nearest neighbours of every row, in UMAP's ``precomputed_knn`` format.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    n_neighbors : int
        Neighbours per row, the row itself included; clamped to ``n_samples``.
    metric : str
        Any metric scikit-learn's ``NearestNeighbors`` (and pynndescent) accept.
    seed : int
        Seed of the approximate search used above ``BRUTE_FORCE_LIMIT`` rows; exact brute force below is
        deterministic.

    Returns
    -------
    indices : ndarray of shape (n_samples, n_neighbors), int64
        ``indices[i, 0] == i``: each row is its own first neighbour, even among duplicate rows.
    distances : ndarray of shape (n_samples, n_neighbors), float32, ascending per row
    """
    X = np.asarray(X, dtype=np.float32)
    n = len(X)
    k = max(1, min(int(n_neighbors), n))
    if n > BRUTE_FORCE_LIMIT:
        from pynndescent import NNDescent

        indices, distances = NNDescent(X, n_neighbors=k, metric=metric, random_state=seed).neighbor_graph
    elif metric == "cosine":
        indices, distances = _cosine_knn(X, k)
    else:
        from sklearn.neighbors import NearestNeighbors

        search = NearestNeighbors(n_neighbors=k, metric=metric, algorithm="brute").fit(X)
        distances, indices = search.kneighbors(X)
    return _self_first(np.asarray(indices, dtype=np.int64), np.maximum(distances, 0).astype(np.float32))


def _cosine_knn(X: np.ndarray, k: int) -> Knn:
    """Exact cosine neighbours by blocks of float32 dot products (scikit-learn computes full distance rows in
    float64: 3.6 s against 2.8 s for 10k × 256 here), each block's best ``k`` per row kept by :func:`_top_k`.

    A row with equally similar values among its best (duplicate profiles, a tie at the k-th) takes them as
    ``np.argpartition`` and a stable sort order them, as before that pass existed: the graph, and so the map,
    stay the same to the bit.
    """
    n = len(X)
    unit = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
    indices = np.empty((n, k), dtype=np.int64)
    similarities = np.empty((n, k), dtype=np.float32)
    tied = np.zeros(n, dtype=np.bool_)
    block = max(1, _KNN_BLOCK_CELLS // n)
    top_k = _top_k()
    for start in range(0, n, block):
        rows = slice(start, start + block)
        sims = unit[rows] @ unit.T
        top_k(sims, indices[rows], similarities[rows], tied[rows])
        for row in np.flatnonzero(tied[rows]):
            top = np.argpartition(-sims[row], k - 1)[:k] if k < n else np.arange(n)
            order = np.argsort(-sims[row, top], kind="stable")
            indices[start + row], similarities[start + row] = top[order], sims[row, top[order]]
    return indices, 1.0 - similarities


@functools.cache
def _top_k() -> Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], None]:
    """Each row's largest values, in descending order, compiled with numba on first use (cached on disk);
    a row is marked ``tied`` where a value equal to one kept was met (its order is then left to the caller).

    Why not ``np.argpartition`` for every row: it reorders the whole row to find the k largest, which took
    3.5 of the 5.9 CPU seconds of the neighbours of 20,324 demo users; one pass that keeps the k best so far
    rejects almost every value with one comparison.
    """
    point_numba_cache()
    import numba

    @numba.njit(cache=True)
    def top_k(values: np.ndarray, indices: np.ndarray, best: np.ndarray, tied: np.ndarray) -> None:  # pragma: no cover
        rows, n = values.shape
        k = indices.shape[1]
        for r in range(rows):
            kept = 0
            for j in range(n):
                value = values[r, j]
                if kept == k and value <= best[r, k - 1]:
                    tied[r] |= value == best[r, k - 1]
                    continue
                # Insertion into the sorted best-so-far: shift the smaller ones down by one.
                at = kept if kept < k else k - 1
                while at > 0 and best[r, at - 1] < value:
                    if at < k:
                        best[r, at] = best[r, at - 1]
                        indices[r, at] = indices[r, at - 1]
                    at -= 1
                tied[r] |= at > 0 and best[r, at - 1] == value
                best[r, at] = value
                indices[r, at] = j
                kept = min(kept + 1, k)

    return top_k


def _self_first(indices: np.ndarray, distances: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Put each row itself at position 0 (duplicates can tie with it at distance 0 and come first)."""
    rows = np.arange(len(indices))[:, None]
    is_self = indices == rows
    absent = ~is_self.any(axis=1)
    # A row crowded out by its duplicates drops its last neighbour to make room for itself.
    indices[absent, -1] = rows[absent, 0]
    distances[absent, -1] = 0.0
    is_self[absent, -1] = True
    order = np.argsort(~is_self, axis=1, kind="stable")
    indices = np.take_along_axis(indices, order, axis=1)
    distances = np.take_along_axis(distances, order, axis=1)
    distances[:, 0] = 0.0
    return indices, distances


def reduce(
    X: np.ndarray,
    method: str = "umap",
    n_components: int = 5,
    *,
    seed: int = 0,
    knn: Knn | None = None,
    init: np.ndarray | str | None = None,
) -> np.ndarray:
    """The clustering space: profiles reduced to ``n_components`` dimensions.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    method : {"umap", "pca", "none"}
        ``"umap"``: cosine UMAP with 15 neighbours and ``min_dist=0.0`` (BERTopic's settings: tight
        clumps suit density and centroid clustering). ``"pca"``: the fast linear alternative (see below).
        ``"none"``: ``X`` itself.
    n_components : int
    seed : int
        ``random_state`` (UMAP then runs single-threaded, which makes it reproducible).
    knn : (indices, distances) or None
        From :func:`knn_graph` on the same ``X``; reused instead of a fresh neighbour search.
    init : ndarray, str or None
        From :func:`spectral_init` on the same ``X``, ``knn`` and ``seed``; computed when None or when it has
        fewer than ``n_components`` columns.

    Returns
    -------
    ndarray of shape (n_samples, n_components), float32
        (``n_features`` columns for ``"none"``.) Fewer than 4 points are always reduced with PCA, padded
        with zero columns where there are fewer points than components.
    """
    if method not in METHODS:
        raise ConfigError(f"unknown reduction {method!r}; choose one of: {', '.join(METHODS)}")
    X = np.asarray(X, dtype=np.float32)
    if method == "none":
        return X.copy()
    if int(n_components) < 1:
        raise ConfigError(f"n_components={n_components} must be at least 1")
    if method == "pca":
        # Plain PCA, rows not put back on the unit sphere: that step lifted the generated demo (fast encoder
        # k-means NMI 0.549 → 0.641) but cost real data a third of its signal (three Amazon categories: 0.908
        # → 0.635; the rows' length after centring carries how far a user leans from the common direction).
        # benchmarks/quality.py compares both on the real labelled sets.
        return _pca(X, int(n_components))
    if len(X) < MIN_UMAP_POINTS:
        return _pca(X, int(n_components))
    return _umap(X, int(n_components), min_dist=0.0, seed=seed, knn=knn, init=init)


def map_2d(
    X: np.ndarray, *, seed: int = 0, knn: Knn | None = None, init: np.ndarray | str | None = None
) -> np.ndarray:
    """Coordinates for the map: 2-d cosine UMAP with ``min_dist=0.1`` (PCA below 4 points).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    seed : int
    knn : (indices, distances) or None
        From :func:`knn_graph` on the same ``X``.
    init : ndarray, str or None
        From :func:`spectral_init` on the same ``X``, ``knn`` and ``seed``; computed when None.

    Returns
    -------
    ndarray of shape (n_samples, 2), float32
    """
    X = np.asarray(X, dtype=np.float32)
    if len(X) < MIN_UMAP_POINTS:
        return _pca(X, 2)
    return _umap(X, 2, min_dist=0.1, seed=seed, knn=knn, init=init)


def spectral_init(X: np.ndarray, *, seed: int = 0, knn: Knn | None = None, n_components: int = SPECTRAL_DIMS) -> Any:
    """The starting layout of UMAP's optimisation, shared by the map and the clustering space.

    UMAP's spectral initialisation (eigenvectors of the k-NN graph's Laplacian, scaled, a little noise),
    computed once in ``max(n_components, 5)`` dimensions: the map takes the first two columns, a 5-d space
    all five. At 50k users the 2-d eigenproblem took 13 s and the 5-d one 6 s (eigsh converges faster with
    more vectors) for the same two leading columns, and UMAP computed it again for every layout. (A graph in
    several disconnected parts is laid out part by part; there the map starts from a projection of the 5-d
    arrangement of the parts rather than a 2-d one.)

    Returns
    -------
    ndarray of shape (n_samples, max(n_components, 5)), float32, or the string ``"random"``
        Fewer than 8 points have no spectral layout worth computing: UMAP then starts at random.
    """
    X = np.asarray(X, dtype=np.float32)
    dims = max(int(n_components), SPECTRAL_DIMS)
    if len(X) <= dims + 2:
        return "random"
    # No epochs: UMAP builds the fuzzy graph and returns its spectral initialisation, scaled to [0, 10].
    return _umap(X, dims, min_dist=0.0, seed=seed, knn=knn, init="spectral", n_epochs=0)


def map_and_space(
    X: np.ndarray,
    n_components: int = 5,
    *,
    seed: int = 0,
    knn: Knn | None = None,
    init: np.ndarray | str | None = None,
    parallel_min_points: int = PARALLEL_MIN_POINTS,
) -> tuple[np.ndarray, np.ndarray]:
    """The 2-d map and the ``n_components``-d UMAP clustering space, each as :func:`map_2d` and
    :func:`reduce` compute them (same seed, same result), laid out side by side on two cores when there
    are at least ``parallel_min_points`` rows.

    The map is then laid out by a second Python process (numba holds the GIL, so a thread would not overlap),
    started with :mod:`subprocess` rather than :mod:`multiprocessing`: a spawned child re-runs the caller's
    ``__main__``, which under Streamlit is the app script itself. If that process fails, the map is laid out
    here instead. ``init`` (from :func:`spectral_init`) is computed when None and serves both layouts.

    Returns
    -------
    coords : ndarray of shape (n_samples, 2)
    space : ndarray of shape (n_samples, n_components)
    """
    X = np.asarray(X, dtype=np.float32)
    if len(X) < MIN_UMAP_POINTS:
        return map_2d(X, seed=seed), reduce(X, "umap", n_components, seed=seed)
    if knn is None:
        knn = knn_graph(X, seed=seed)
    if init is None:
        init = spectral_init(X, seed=seed, knn=knn)
    coords = None
    if len(X) >= parallel_min_points and (os.cpu_count() or 1) >= 2 and not isinstance(init, str):
        with tempfile.TemporaryDirectory(prefix="segment-studio-map-") as folder:
            child = _start_map_process(Path(folder), X, knn, init, seed)
            try:
                space = reduce(X, "umap", n_components, seed=seed, knn=knn, init=init)
                coords = _map_from_process(child, Path(folder))
            finally:
                if child is not None and child.poll() is None:
                    child.kill()
                    child.wait()
    else:
        space = reduce(X, "umap", n_components, seed=seed, knn=knn, init=init)
    if coords is None:
        coords = map_2d(X, seed=seed, knn=knn, init=init)
    return coords, space


_MAP_PROCESS = (
    "import sys; from segmentation.embed.projection import _map_process; _map_process(sys.argv[1], int(sys.argv[2]))"
)


def _start_map_process(
    folder: Path, X: np.ndarray, knn: Knn, init: np.ndarray, seed: int
) -> subprocess.Popen[bytes] | None:
    """Write the inputs of :func:`map_2d` to ``folder`` and start a process laying out the map from them."""
    for name, array in (("X", X), ("knn_indices", knn[0]), ("knn_distances", knn[1]), ("init", init)):
        np.save(folder / f"{name}.npy", array, allow_pickle=False)
    package_root = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])))
    try:
        # Quiet: a process that fails only costs the map being laid out here instead.
        return subprocess.Popen(
            [sys.executable, "-c", _MAP_PROCESS, str(folder), str(seed)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
        )
    except OSError:
        return None


def _map_from_process(child: subprocess.Popen[bytes] | None, folder: Path) -> np.ndarray | None:
    """The map the process wrote, or None if it could not start or failed."""
    if child is None or child.wait() != 0:
        return None
    try:
        return np.load(folder / "coords.npy", allow_pickle=False)
    except (OSError, ValueError):
        return None


def _map_process(folder: str, seed: int) -> None:
    """Entry point of the map's process: read what :func:`_start_map_process` wrote, write the coordinates."""
    inputs = Path(folder)

    def load(name: str) -> np.ndarray:
        return np.load(inputs / f"{name}.npy", allow_pickle=False)

    coords = map_2d(load("X"), seed=seed, knn=(load("knn_indices"), load("knn_distances")), init=load("init"))
    # Written under another name, then renamed: the parent never reads half a file.
    np.save(inputs / "coords.partial.npy", coords, allow_pickle=False)
    os.replace(inputs / "coords.partial.npy", inputs / "coords.npy")


def warm_up() -> None:
    """Fit a tiny UMAP so numba compiles (and caches) its functions before the first real run.

    The app calls this in a background thread at start. With the numba cache persisted (see
    :func:`_import_umap`) later processes load the compiled code instead of compiling again.
    """
    X = np.random.default_rng(0).normal(size=(64, 8)).astype(np.float32)
    knn = knn_graph(X)
    reduce(X, "umap", 5, knn=knn)
    map_2d(X, knn=knn)


def _pca(X: np.ndarray, n_components: int) -> np.ndarray:
    """Exact PCA (the covariance's eigenvectors), the same under every seed.

    scikit-learn's default for fewer than ten users per dimension is a randomized solver whose later
    components move with its seed: on 724 newsgroup users the coordinates moved by up to 0.15 between seeds
    0 and 1, enough to move the automatic k's stability figures by ±0.05 (issue 21). The covariance is
    ``n_features`` square, so this costs one pass over the rows and a small eigendecomposition.
    """
    from sklearn.decomposition import PCA

    n, d = X.shape
    out = np.zeros((n, n_components), dtype=np.float32)
    fitted = min(n_components, n, d)
    if n >= 2 and fitted >= 1:
        with warnings.catch_warnings():  # identical rows: explained variance 0/0, said by the clusterer instead
            warnings.simplefilter("ignore", category=RuntimeWarning)
            out[:, :fitted] = PCA(n_components=fitted, svd_solver="covariance_eigh").fit_transform(X)
    return out


def _umap(
    X: np.ndarray,
    n_components: int,
    *,
    min_dist: float,
    seed: int,
    knn: Knn | None,
    init: Any = None,
    n_epochs: int | None = None,
) -> np.ndarray:
    umap = _import_umap()
    n = len(X)
    if knn is None:
        knn = knn_graph(X, seed=seed)
    if init is None or (not isinstance(init, str) and init.shape[1] < n_components):
        init = spectral_init(X, seed=seed, knn=knn, n_components=n_components)
    if not isinstance(init, str):
        init = np.ascontiguousarray(init[:, :n_components])
    # UMAP needs fewer neighbours than points; its own fallback for that case ignores a precomputed graph.
    n_neighbors = min(N_NEIGHBORS, n - 1)
    precomputed: tuple[Any, ...] = (None, None, None)
    if knn is not None and len(knn[0]) == n and knn[0].shape[1] >= n_neighbors:
        # UMAP mutates the graph it is given (disconnected edges → -1): hand it copies, trimmed to size,
        # because below 4,096 rows it would not trim a wider graph itself.
        precomputed = (knn[0][:, :n_neighbors].copy(), knn[1][:, :n_neighbors].copy())
    model = umap.UMAP(
        n_neighbors=n_neighbors,
        n_components=n_components,
        min_dist=min_dist,
        metric="cosine",
        random_state=seed,
        n_epochs=n_epochs if n_epochs is not None else (N_EPOCHS if n <= LARGE_LAYOUT_POINTS else LARGE_N_EPOCHS),
        precomputed_knn=precomputed,
        init=init,
    )
    with warnings.catch_warnings():
        # Both are expected here: a seed makes UMAP single-threaded, and the graph carries no search index
        # because nothing new is ever transformed.
        warnings.filterwarnings("ignore", message="n_jobs value", category=UserWarning)
        warnings.filterwarnings("ignore", message=r"precomputed_knn\[2\]", category=UserWarning)
        return np.asarray(model.fit_transform(X), dtype=np.float32)


def _import_umap() -> Any:
    """Import umap, first pointing numba's cache at the workspace if site-packages is read-only
    (:func:`~segmentation.core.paths.point_numba_cache`)."""
    if "umap" not in sys.modules and importlib.util.find_spec("umap") is None:
        raise ConfigError("the UMAP reduction needs umap-learn: pip install umap-learn, or choose PCA")
    point_numba_cache()
    if "umap" not in sys.modules:
        import numba
        import pynndescent  # noqa: F401  (imported unpatched: it marks what it can cache itself)

        with _numba_cache_by_default(numba):
            import umap
    import umap

    return umap


@contextlib.contextmanager
def _numba_cache_by_default(numba: Any) -> Iterator[None]:
    """While umap is imported, make ``numba.njit`` cache its compiled code on disk unless told otherwise.

    pynndescent is imported before, unpatched: some of its functions cannot be cached (numba would warn).

    umap-learn 0.5 marks only one of its jitted functions ``cache=True``, so every new process compiled the
    rest again (17–65 s before the first map). Functions jitted while its modules load (the layout
    optimiser, the fuzzy simplicial set, the spectral helpers) are then loaded from the cache instead.
    """
    original = numba.njit

    @functools.wraps(original)
    def njit(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("cache", True)
        return original(*args, **kwargs)

    numba.njit = njit
    try:
        yield
    finally:
        numba.njit = original
