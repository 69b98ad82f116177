"""k-means: Hartigan's single-user moves after Lloyd's iterations, and what they change across seeds."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from segmentation.cluster.base import CLUSTERERS
from segmentation.cluster.kmeans import hartigan
from segmentation.cluster.metrics import inertia
from segmentation.cluster.selection import fit_run
from segmentation.demo import DEMO_PATH
from segmentation.ingest.io import load_comments
from segmentation.pipeline.config import SegmentConfig
from segmentation.pipeline.segment import prepare


def test_hartigan_moves_a_user_that_lloyd_leaves_in_place_and_reaches_the_best_split() -> None:
    points = np.array([[2.0], [3.0], [5.0], [6.0], [8.0], [9.0]])
    # {2, 3} and {5, 6, 8, 9}: means 2.5 and 7, and 5 is nearer 7 (2) than 2.5 (2.5), so Lloyd stops here,
    # at inertia 0.5 + 10 = 10.5. Moving 5 out saves 4/3 * 2^2 = 5.33 and costs 2/3 * 2.5^2 = 4.17 where it joins.
    stuck = np.array([0, 0, 1, 1, 1, 1])
    assert inertia(points, stuck) == pytest.approx(10.5)
    refined = hartigan(points, stuck, 2)
    np.testing.assert_array_equal(refined, [0, 0, 0, 1, 1, 1])
    # {2, 3, 5} and {6, 8, 9}: 14/3 + 14/3, the best of the 31 two-segment splits of these points.
    assert inertia(points, refined) == pytest.approx(28 / 3)


def test_hartigan_never_raises_the_inertia_nor_empties_a_segment() -> None:
    rng = np.random.default_rng(3)
    points = rng.normal(size=(200, 4))
    for k in (2, 5, 9):
        labels = rng.integers(0, k, len(points))
        refined = hartigan(points, labels, k)
        assert inertia(points, refined) <= inertia(points, labels) + 1e-9
        assert set(refined) == set(range(k))


def test_kmeans_on_the_demo_gives_the_same_segments_under_seeds_0_to_4(
    fast_home, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEGMENT_STUDIO_HOME", str(fast_home))
    # k=7: the k the automatic choice took on the demo under every seed before the moves (it takes k=8 with them,
    # where the seeds agreed already). There seed 4's fit landed in another optimum of near-equal inertia
    # (adjusted Rand index 0.91 among seeds 0-4, 0.89 among 0-9; benchmarks/README.md, Seeds).
    config = SegmentConfig(encoder="fast", k=7)
    space = prepare(load_comments(DEMO_PATH), config, with_map=False).space(*config.space)
    runs = [fit_run(space, CLUSTERERS["kmeans"], {**config.to_dict(), "seed": seed})[0] for seed in range(5)]
    agreement = [adjusted_rand_score(a.labels_, b.labels_) for a, b in combinations(runs, 2)]
    assert min(agreement) >= 0.95, f"the seeds' segments differ (adjusted Rand index down to {min(agreement):.3f})"
