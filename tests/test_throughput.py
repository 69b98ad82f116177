"""Measured encoding rates kept in the workspace, and the time left during a run."""

from __future__ import annotations

import pytest

from segmentation.embed.cache import ENCODE_CHUNK
from segmentation.embed.throughput import MIN_TEXTS, ThroughputLog, remaining_seconds


def test_the_measured_rate_is_kept_across_objects_and_leans_towards_the_newest_run(tmp_path):
    log = ThroughputLog(tmp_path / "t.json")
    assert log.rate("minilm") is None and log.estimate("minilm", 1000) is None
    log.record("minilm", 1000, 20.0)  # 50 texts/s
    again = ThroughputLog(tmp_path / "t.json")
    assert again.rate("minilm") == pytest.approx(50.0)
    again.record("minilm", 1000, 10.0)  # 100 texts/s: the machine got quieter
    assert again.rate("minilm") == pytest.approx(75.0)
    assert again.estimate("minilm", 7500) == pytest.approx(100.0)
    assert again.rate("fast") is None


def test_tiny_or_broken_measurements_are_ignored(tmp_path):
    log = ThroughputLog(tmp_path / "t.json")
    log.record("fast", MIN_TEXTS - 1, 0.01)
    log.record("fast", 1000, 0.0)
    assert log.rate("fast") is None
    (tmp_path / "t.json").write_text("{not json")
    assert ThroughputLog(tmp_path / "t.json").rate("fast") is None


def test_remaining_time_follows_the_rate_seen_so_far_once_the_first_chunk_is_done():
    assert remaining_seconds(0, 100, 5.0) is None
    assert remaining_seconds(25, 100, 10.0) is None  # a file smaller than a chunk is one chunk
    assert remaining_seconds(100, 100, 40.0) == 0
    # Within the first chunk the texts come sorted by length: no estimate yet.
    assert remaining_seconds(ENCODE_CHUNK - 1, 10_000, 2.0) is None
    assert remaining_seconds(ENCODE_CHUNK, 10_000, 2.56) == pytest.approx((10_000 - ENCODE_CHUNK) / 100)
    assert remaining_seconds(4 * ENCODE_CHUNK, 10_000, 20.48) == pytest.approx((10_000 - 4 * ENCODE_CHUNK) / 50)
