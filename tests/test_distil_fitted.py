"""The fast encoder fitted to MiniLM on a sample of the user's own comments (``fast-fitted``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from segmentation.core.errors import EncoderError
from segmentation.embed.base import ENCODERS, get_encoder
from segmentation.embed.cache import encode_texts
from segmentation.embed.fast import FastEncoder
from segmentation.embed.fitted import FittedFastEncoder, map_onto
from segmentation.ingest.io import load_comments
from tests.conftest import SHARED_DATA

FORUM = SHARED_DATA / "se_closed_sites" / "comments.csv.gz"


@pytest.fixture(scope="module")
def fast_dir(request: pytest.FixtureRequest) -> Path:
    return request.getfixturevalue("fast_home") / FastEncoder.MODEL_SUBDIR


def test_the_spec_names_the_sample_size_and_rejects_a_bad_one() -> None:
    assert ENCODERS["fast-fitted"] is FittedFastEncoder
    assert get_encoder("fast-fitted").name == "fast-fitted"
    assert get_encoder("fast-fitted").sample_size == 1_000
    assert get_encoder("fast-fitted:2000").name == "fast-fitted:2000"
    for bad in ("fast-fitted:many", "fast-fitted:10"):
        with pytest.raises(EncoderError, match="fast-fitted"):
            get_encoder(bad)


def test_the_cache_identity_follows_the_corpus_not_its_order() -> None:
    encoder = get_encoder("fast-fitted")
    texts = ["the soup was salty", "great espresso", "my shoes gave me blisters"]

    assert encoder.corpus_dependent
    assert encoder.name_for(texts) == encoder.name_for(list(reversed(texts)))
    assert encoder.name_for(texts) != encoder.name_for(texts[:2])


def test_the_estimate_counts_the_minilm_sample() -> None:
    small, large = get_encoder("fast-fitted:500"), get_encoder("fast-fitted:5000")

    assert large.start_seconds() > small.start_seconds() > FastEncoder().start_seconds()


def test_the_map_recovers_a_linear_relation_between_two_spaces() -> None:
    rng = np.random.default_rng(0)
    source = rng.normal(size=(400, 16))
    weights = rng.normal(size=(16, 24))
    target = source @ weights

    mapped = map_onto(source, source[:300], target[:300], alpha=1e-6)

    expected = target / np.linalg.norm(target, axis=1, keepdims=True)
    np.testing.assert_allclose(mapped[300:], expected[300:], atol=1e-3)
    assert mapped.dtype == np.float32


@pytest.mark.slow
def test_a_corpus_within_the_sample_gets_minilm_vectors_themselves(fast_dir: Path) -> None:
    texts = ["the espresso was bitter", "this coffee tastes burnt", "my running shoes gave me blisters",
             "the espresso was bitter"]
    calls: list[tuple[int, int]] = []

    vectors = FittedFastEncoder("50", model_dir=fast_dir).encode(texts, progress=lambda d, t: calls.append((d, t)))

    np.testing.assert_allclose(vectors, get_encoder("minilm").encode(texts), atol=1e-5)
    assert calls[-1] == (4, 4)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


@pytest.mark.slow
def test_on_real_forum_posts_the_fitted_vectors_agree_with_minilm_better_than_the_fast_ones(
    fast_dir: Path,
) -> None:
    if not FORUM.is_file():
        pytest.skip(f"real forum posts not found at {FORUM} (the shared data folder is absent)")
    frame = load_comments(FORUM, max_bytes=None).frame
    # Short posts from across the five sites keep MiniLM's share of the test to a few hundred texts.
    short = frame[frame["text"].str.len() < 300].drop_duplicates("text")
    texts = short.groupby("label").head(40)["text"].tolist()
    encoder = FittedFastEncoder("100", model_dir=fast_dir)

    fitted = encode_texts(texts, encoder).embeddings
    teacher = get_encoder("minilm").encode(texts)
    fast = FastEncoder(model_dir=fast_dir).encode(texts)

    corpus = sorted(set(texts))
    sampled = {corpus[i] for i in np.random.default_rng(encoder.seed).choice(len(corpus), 100, replace=False)}
    held_out = np.array([t not in sampled for t in texts])
    assert held_out.sum() >= 90
    upper = np.triu_indices(int(held_out.sum()), 1)

    def agreement(vectors: np.ndarray) -> float:
        """Correlation of the held-out texts' pairwise similarities with MiniLM's."""
        mine, theirs = vectors[held_out] @ vectors[held_out].T, teacher[held_out] @ teacher[held_out].T
        return float(np.corrcoef(mine[upper], theirs[upper])[0, 1])

    assert agreement(fitted) > agreement(fast) + 0.1
