"""Encoding-time estimates: work in the texts, cached texts free, the load allowed for, measured rates kept
in the workspace, and the time left during a run (a resumed one included)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from segmentation.core.errors import EncoderError
from segmentation.embed.base import get_encoder
from segmentation.embed.cache import ENCODE_CHUNK, EmbeddingCache
from segmentation.embed.estimate import cpu_share, estimate_encoding, text_work
from segmentation.embed.minilm import MiniLMEncoder
from segmentation.embed.throughput import (
    MIN_WORK,
    EncodeClock,
    ThroughputLog,
    estimate,
    estimate_pending,
    texts_to_encode,
)


def test_a_text_past_the_encoders_cut_costs_no_more_than_the_cut():
    short, long, longer = "a" * 100, "a" * 5_000, "a" * 50_000
    cut, fixed = MiniLMEncoder.max_chars, MiniLMEncoder.per_text_chars
    assert text_work([short], cut, fixed) == fixed + 100
    assert text_work([long], cut, fixed) == text_work([longer], cut, fixed) == fixed + cut
    assert text_work([longer], None, fixed) == fixed + 50_000  # an encoder that reads everything


def test_long_comments_are_estimated_slower_than_as_many_short_ones():
    short = estimate_encoding("minilm", ["fine"] * 1_000, rate=20_000.0)
    long = estimate_encoding("minilm", ["word " * 200] * 1_000, rate=20_000.0)
    assert long.seconds > 3 * short.seconds and long.n_texts == short.n_texts == 1_000


def test_a_busy_machine_lengthens_the_estimate():
    assert cpu_share(None) == cpu_share(0.0) == 1.0
    quiet = estimate_encoding("tfidf", ["some words"] * 5_000, rate=50_000.0, load=0.0)
    busy = estimate_encoding("tfidf", ["some words"] * 5_000, rate=50_000.0, load=8.0)
    assert busy.seconds > quiet.seconds > 0


def test_an_encoder_of_unknown_speed_has_work_but_no_seconds_until_timed():
    unknown = estimate_encoding("openai:text-embedding-3-small", ["a comment"] * 10)
    assert unknown.seconds is None and unknown.work > 0
    timed = estimate_encoding("openai:text-embedding-3-small", ["a comment"] * 10, rate=1_000.0)
    assert timed.seconds > 0 and timed.measured
    assert estimate_encoding("no-such-encoder", ["x"]) is None


def test_comments_already_in_the_cache_cost_nothing(tmp_path):
    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    texts = [f"comment number {i} about the coffee" for i in range(400)]
    encoder = get_encoder("minilm")
    cache.put_many(encoder.name, texts[:300], np.ones((300, 4), dtype=np.float32))
    log = ThroughputLog(tmp_path / "t.json")
    partly = estimate("minilm", texts + texts[:50], cache, log)  # duplicates are encoded once
    assert partly.n_texts == 100
    assert partly.work == pytest.approx(text_work(texts[300:], MiniLMEncoder.max_chars, MiniLMEncoder.per_text_chars))
    cache.put_many(encoder.name, texts[300:], np.ones((100, 4), dtype=np.float32))
    assert estimate("minilm", texts, cache, log).n_texts == 0


def test_the_texts_left_to_encode_kept_give_the_estimate_at_the_load_of_the_moment(tmp_path, monkeypatch):
    # A page keeps the slow lookup (the texts the cache lacks) and asks for seconds at each run of the page.
    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    texts = [f"comment number {i} about the coffee" for i in range(200)]
    cache.put_many(get_encoder("minilm").name, texts[:150], np.ones((150, 4), dtype=np.float32))
    log = ThroughputLog(tmp_path / "t.json")
    log.record("minilm", 100_000, 10.0, load=0.0)
    monkeypatch.setattr("segmentation.embed.throughput.current_load", lambda: 0.5)
    todo = texts_to_encode("minilm", texts + texts[:10], cache)
    assert todo == texts[150:]
    quiet = estimate_pending("minilm", todo, log)
    assert quiet == estimate("minilm", texts, cache, log)
    monkeypatch.setattr("segmentation.embed.throughput.current_load", lambda: 8.0)
    assert estimate_pending("minilm", todo, log).seconds > quiet.seconds  # same texts, a busier machine
    assert texts_to_encode("no-such-encoder", texts, cache) is None


def test_the_measured_rate_is_kept_normalised_to_an_idle_machine_and_leans_towards_the_newest(tmp_path):
    log = ThroughputLog(tmp_path / "t.json")
    assert log.rate("minilm") is None
    log.record("minilm", 100_000, 10.0)  # 10k a second, load unknown
    again = ThroughputLog(tmp_path / "t.json")
    assert again.rate("minilm") == pytest.approx(10_000.0)
    again.record("minilm", 100_000, 5.0, load=0.0)
    assert again.rate("minilm") == pytest.approx(15_000.0)
    busy = ThroughputLog(tmp_path / "busy.json")
    busy.record("minilm", 100_000, 10.0, load=50.0)  # as slow, but with the machine full of other work
    assert busy.rate("minilm") > 5 * log.rate("minilm")
    assert again.rate("fast") is None


def test_tiny_broken_or_old_measurements_are_ignored(tmp_path):
    log = ThroughputLog(tmp_path / "t.json")
    log.record("fast", MIN_WORK - 1, 0.01)
    log.record("fast", 10 * MIN_WORK, 0.0)
    assert log.rate("fast") is None
    (tmp_path / "t.json").write_text("{not json")
    assert ThroughputLog(tmp_path / "t.json").rate("fast") is None
    (tmp_path / "t.json").write_text('{"fast": 8000.0}')  # comments per second, before rates were work
    assert ThroughputLog(tmp_path / "t.json").rate("fast") is None


def test_time_left_follows_the_texts_encoded_in_this_run_once_a_chunk_is_done():
    clock = EncodeClock()
    assert clock.left(0, 10_000, 0.0) is None
    assert clock.left(ENCODE_CHUNK - 1, 10_000, 2.0) is None  # within the first chunk: sorted by length
    assert clock.left(ENCODE_CHUNK, 10_000, 2.56) == pytest.approx((10_000 - ENCODE_CHUNK) / 100)
    assert clock.left(10_000, 10_000, 99.0) == 0


def test_a_resumed_run_takes_its_speed_from_the_texts_it_encodes_not_the_cached_ones():
    clock = EncodeClock()
    clock.left(0, 12_000, 0.0)  # the pipeline's first report counts comments
    assert clock.left(9_000, 10_000, 0.1) is None  # 9,000 found in the cache at once
    assert clock.left(9_000 + ENCODE_CHUNK, 10_000, 10.0) == pytest.approx((1_000 - ENCODE_CHUNK) * 10 / ENCODE_CHUNK)


def test_before_the_first_chunk_the_clock_counts_down_the_estimate_made_before_the_run():
    clock = EncodeClock(expected_s=60.0)
    assert clock.left(0, 10_000, 5.0) == pytest.approx(55.0)
    assert clock.left(10, 10_000, 70.0) is None  # slower than expected: no made-up figure


def test_a_hub_model_that_cannot_be_fetched_fails_within_seconds(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    encoder = get_encoder("sentence-transformers:segment-studio-tests/no-such-model")
    started = time.monotonic()
    with pytest.raises(EncoderError, match="could not load sentence-transformers model"):
        encoder.encode(["a comment"])
    assert time.monotonic() - started < 60  # the hub client alone retried for about two minutes
