"""The Segment page's form, read without Streamlit: what it offers follows the registries, and the config it makes
is checked before anything runs."""

from __future__ import annotations

import pytest
from fixtures import labelled_comments, labelled_comments_zh

from segmentation.cluster.base import CLUSTERERS
from segmentation.core.errors import SegmentationError
from segmentation.embed.base import DEFAULT_ENCODER, ENCODERS
from segmentation.ingest.io import from_frame
from segmentation.present import form


def test_the_encoder_picker_lists_every_registered_encoder_and_warns_off_english_only_ones_for_chinese() -> None:
    zh = form.encoder_choices(from_frame(labelled_comments_zh()[["user_id", "text"]]))
    en = form.encoder_choices(from_frame(labelled_comments()[["user_id", "text"]]))
    assert list(zh.statuses) == list(ENCODERS)
    assert zh.suggested == "multilingual" and en.suggested == DEFAULT_ENCODER
    assert "mostly not English" in zh.language_warning(DEFAULT_ENCODER)
    assert zh.language_warning("multilingual") is None and en.language_warning(DEFAULT_ENCODER) is None
    unavailable = [name for name, status in zh.statuses.items() if not status.available]
    assert all(zh.label(name).endswith("unavailable") for name in unavailable)


def test_every_registered_algorithm_is_offered_with_its_own_parameters() -> None:
    assert sorted(form.algorithm_names()) == sorted(CLUSTERERS)
    for name in form.algorithm_names():
        assert form.clusterer(name).parameters == CLUSTERERS[name].parameters


def test_the_config_is_checked_before_anything_runs() -> None:
    config = form.segment_config("tfidf", "kmeans", {"k": 4}, half_life_days=0.0, attributes=[], seed=3)
    assert (config.k, config.seed, config.half_life_days) == (4, 3, None)
    with pytest.raises(SegmentationError, match="k=1 is not allowed"):
        form.segment_config("tfidf", "kmeans", {"k": 1}, half_life_days=0.0, attributes=[], seed=0)
    with pytest.raises(SegmentationError, match="not in a folder this app may read"):  # a server folder
        form.segment_config("sentence-transformers:/etc", "kmeans", {}, half_life_days=0.0, attributes=[], seed=0)


def test_the_fast_encoder_is_advised_only_when_minilm_would_take_minutes() -> None:
    choices = form.encoder_choices(from_frame(labelled_comments()[["user_id", "text"]]))
    if not choices.statuses["fast"].available:
        pytest.skip(f"the fast encoder cannot run here: {choices.statuses['fast'].reason}")
    assert form.suggests_fast("minilm", 600.0, choices)
    assert not form.suggests_fast("minilm", 30.0, choices)
    assert not form.suggests_fast("fast", 600.0, choices)
    assert "about 4 s" in form.fast_advice(10_000, 4.2) and "10,000 comments" in form.fast_advice(10_000, 4.2)
