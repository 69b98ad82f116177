"""The generated demo data: reproducible to the byte, the promised shape, and readable by the loader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from segmentation.core.errors import ConfigError
from segmentation.demo import (
    COLUMNS,
    DEMO_PATH,
    DEMO_USERS,
    DEMO_ZH_PATH,
    DEMO_ZH_USERS,
    generate_demo,
    write_demo,
)
from segmentation.ingest.io import load_comments


@pytest.mark.parametrize(
    ("committed", "n_users", "language"),
    [(DEMO_PATH, DEMO_USERS, "en"), (DEMO_ZH_PATH, DEMO_ZH_USERS, "zh")],
)
def test_fresh_generation_equals_the_committed_file_byte_for_byte(
    tmp_path: Path, committed: Path, n_users: int, language: str
) -> None:
    fresh = write_demo(tmp_path / committed.name, 0, n_users=n_users, language=language)
    assert fresh.read_bytes() == committed.read_bytes(), "run `python -m segmentation.demo` and commit"


def test_english_demo_has_six_tastes_plus_noise_and_about_five_comments_per_user() -> None:
    frame = generate_demo()
    assert tuple(frame.columns) == COLUMNS
    assert frame["user_id"].nunique() == 500
    assert 2_000 <= len(frame) <= 3_000
    assert frame["item_id"].nunique() == 120
    tastes = frame.drop_duplicates("user_id")["true_taste"].value_counts()
    assert set(tastes.index) == {"coffee", "running", "cooking", "audio", "games", "skincare", "noise"}
    assert 0.02 <= tastes["noise"] / 500 <= 0.09
    assert frame["rating"].between(1, 5).all()
    span = frame["timestamp"].max() - frame["timestamp"].min()
    assert 300 * 86400 < span <= 365 * 86400
    assert not frame.duplicated(["user_id", "item_id"]).any()


def test_comment_lengths_vary_from_one_word_to_several_sentences() -> None:
    lengths = generate_demo()["text"].str.len()
    assert lengths.min() <= 10
    assert lengths.max() >= 300
    assert lengths.std() > 50


def test_users_rate_their_own_taste_higher_than_other_categories() -> None:
    frame = generate_demo()
    codes = {
        "COF": "coffee", "RUN": "running", "KNF": "cooking",
        "AUD": "audio", "GAM": "games", "SKN": "skincare",
    }
    category = frame["item_id"].str[:3].map(codes)
    own = frame["true_taste"] == category
    other = ~own & (frame["true_taste"] != "noise")
    assert frame.loc[own, "rating"].mean() > frame.loc[other, "rating"].mean() + 0.8


def test_each_user_has_one_age_gender_income_and_taste() -> None:
    frame = generate_demo()
    per_user = frame.groupby("user_id")[["age", "gender", "income_band", "true_taste"]].nunique()
    assert (per_user == 1).all().all()
    assert frame["age"].between(18, 75).all()


def test_same_seed_same_table_and_other_seed_other_table() -> None:
    first, again = generate_demo(3, n_users=80), generate_demo(3, n_users=80)
    other = generate_demo(4, n_users=80)
    assert first.equals(again)
    assert not first.equals(other)


def test_generator_scales_to_ten_thousand_users() -> None:
    frame = generate_demo(1, n_users=10_000)
    assert frame["user_id"].nunique() == 10_000
    assert 4.0 < len(frame) / 10_000 < 6.0
    counts = frame.groupby("user_id").size()
    assert counts.min() == 1 and counts.max() >= 15


def test_chinese_demo_is_written_in_chinese_with_four_tastes() -> None:
    frame = generate_demo(n_users=DEMO_ZH_USERS, language="zh")
    assert frame["user_id"].nunique() == DEMO_ZH_USERS
    assert 450 <= len(frame) <= 800
    assert set(frame["true_taste"]) == {"coffee", "running", "skincare", "audio", "noise"}
    has_cjk = frame["text"].str.contains(r"[\u4e00-\u9fff]")
    assert has_cjk.all()


def test_demo_texts_carry_html_entities_emoji_and_shouting_for_the_cleaner() -> None:
    text = generate_demo()["text"]
    assert text.str.contains("&amp;").any()
    assert text.str.contains("<br>|<p>").any()
    assert text.str.contains("☕|👟|🎧").any()
    assert (text.str.upper() == text).sum() > 10


def test_loader_detects_every_role_of_the_committed_demo() -> None:
    comments = load_comments(DEMO_PATH)
    assert dict(comments.roles) == {
        "user": "user_id", "text": "text", "item": "item_id", "rating": "rating", "time": "timestamp",
        "item_name": "item_name",
    }
    assert comments.n_users == 500
    assert comments.n_items == 120
    assert comments.frame["time"].min().year == 2024
    assert not comments.frame["text"].str.contains("&amp;|<br>|<p>").any()
    assert {"age", "gender", "income_band", "true_taste"} <= set(comments.attribute_columns())
    assert comments.n_empty_dropped == 0


def test_loader_reads_the_chinese_demo_text_unchanged_apart_from_cleaning() -> None:
    comments = load_comments(DEMO_ZH_PATH)
    assert comments.n_users == DEMO_ZH_USERS
    assert comments.frame["text"].str.contains(r"[\u4e00-\u9fff]").all()


def test_unknown_language_or_no_users_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="language"):
        generate_demo(language="fr")
    with pytest.raises(ConfigError, match="at least one user"):
        generate_demo(n_users=0)


def test_ratings_and_timestamps_are_integers() -> None:
    frame = generate_demo(n_users=50)
    assert frame["rating"].dtype == np.int64
    assert frame["timestamp"].dtype == np.int64


@pytest.mark.slow
def test_bundled_demo_vectors_are_minilms_own():
    from segmentation.demo import DEMO_EMBEDDINGS_PATH, demo_texts
    from segmentation.embed.base import get_encoder

    texts = demo_texts()
    vectors = np.load(DEMO_EMBEDDINGS_PATH, allow_pickle=False).astype(np.float32)
    assert vectors.shape == (len(texts), 384)
    sample = np.random.default_rng(0).choice(len(texts), 24, replace=False)
    fresh = get_encoder("minilm").encode([texts[i] for i in sample])
    bundled = vectors[sample] / np.linalg.norm(vectors[sample], axis=1, keepdims=True)
    assert (np.sum(fresh * bundled, axis=1) > 0.999).all()
