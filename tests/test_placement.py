"""Placing users by the nearest segment centre: labels, the confidence margin and the far flag."""

from __future__ import annotations

import numpy as np
import pytest

from segmentation.cluster.placement import Placement
from segmentation.core.errors import ConfigError
from segmentation.core.labels import NOISE


def two_segments() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    left = rng.normal([0.0, 0.0], 0.1, size=(50, 2))
    right = rng.normal([4.0, 0.0], 0.1, size=(50, 2))
    noise = np.array([[2.0, 9.0]])
    return np.vstack([left, right, noise]).astype(np.float32), np.array([3] * 50 + [7] * 50 + [NOISE])


def test_centres_ignore_noise_and_the_far_distance_covers_95_percent_of_members():
    vectors, labels = two_segments()
    placement = Placement.fit(vectors, labels)
    assert placement.segment_ids.tolist() == [3, 7]
    np.testing.assert_allclose(placement.centres, [[0, 0], [4, 0]], atol=0.05)
    within = np.linalg.norm(vectors[:50] - placement.centres[0], axis=1) <= placement.far[0]
    assert within.mean() == pytest.approx(0.95, abs=0.02)


def test_confidence_is_one_on_a_centre_and_zero_halfway_and_far_users_are_flagged():
    vectors, labels = two_segments()
    placement = Placement.fit(vectors, labels)
    points = np.vstack([placement.centres[1], (placement.centres[0] + placement.centres[1]) / 2, [0.0, 6.0]])
    placed, confidence, distance = placement.predict(points.astype(np.float32))
    assert placed[0] == 7 and confidence[0] == pytest.approx(1.0, abs=1e-3)
    assert confidence[1] == pytest.approx(0.0, abs=1e-3)
    assert placement.is_far(placed, distance).tolist() == [False, True, True]


def test_arrays_round_trip_and_other_dimensions_are_refused():
    vectors, labels = two_segments()
    placement = Placement.from_arrays(Placement.fit(vectors, labels).to_arrays())
    assert placement.predict(vectors[:3])[0].tolist() == [3, 3, 3]
    with pytest.raises(ConfigError, match="different encoders"):
        placement.predict(np.zeros((1, 5), dtype=np.float32))
    with pytest.raises(ConfigError, match="every user is noise"):
        Placement.fit(vectors[:2], np.array([NOISE, NOISE]))
