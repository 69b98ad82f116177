"""User profiles: mean of comment embeddings, recency weighting, attribute mixing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segmentation.core.errors import ConfigError
from segmentation.embed.base import get_encoder
from segmentation.embed.profiles import build_profiles
from segmentation.ingest.io import Comments
from tests.fixtures import labelled_comments

ROLES = {"user": "user_id", "text": "text", "item": None, "rating": None, "time": None}


def make_comments(users: list[str], **extra: list) -> Comments:
    frame = pd.DataFrame({"user_id": users, "text": [f"comment {i}" for i in range(len(users))], **extra})
    roles = dict(ROLES, time="time" if "time" in extra else None)
    return Comments(frame=frame, roles=roles)


def test_profile_is_the_normalised_mean_of_the_users_comments_and_users_are_sorted() -> None:
    comments = make_comments(["b", "a", "b", "a", "a"])
    embeddings = np.array([[1, 0], [0, 1], [1, 0], [0, 1], [1, 0]], dtype=np.float32)

    profiles = build_profiles(comments, embeddings)

    assert list(profiles.user_ids) == ["a", "b"]
    assert list(profiles.n_comments) == [3, 2]
    assert list(profiles.comment_user) == [1, 0, 1, 0, 0]
    # a: mean of (0,1), (0,1), (1,0) = (1/3, 2/3) → normalised (1, 2)/√5
    np.testing.assert_allclose(profiles.vectors[0], np.array([1, 2]) / np.sqrt(5), rtol=1e-6)
    np.testing.assert_allclose(profiles.vectors[1], [1, 0])
    assert profiles.vectors.dtype == np.float32


def test_user_whose_comments_embed_to_zero_keeps_a_zero_vector() -> None:
    comments = make_comments(["a", "b"])
    profiles = build_profiles(comments, np.array([[0.0, 0.0], [3.0, 4.0]]))
    np.testing.assert_allclose(profiles.vectors, [[0, 0], [0.6, 0.8]])


def test_half_life_weights_comments_by_age_relative_to_the_users_latest_comment() -> None:
    times = pd.to_datetime(
        ["2024-01-01", "2024-01-11", "2023-01-01", "2023-01-21"], utc=True
    )
    comments = make_comments(["a", "a", "b", "b"], time=list(times))
    embeddings = np.array([[1, 0], [0, 1], [1, 0], [0, 1]], dtype=np.float64)

    profiles = build_profiles(comments, embeddings, half_life_days=10)

    # a: the older comment is one half-life old → weights 0.5 and 1; b: two half-lives → 0.25 and 1.
    # b's latest comment is a year before a's, yet it still weighs 1: ages are per user.
    np.testing.assert_allclose(profiles.vectors[0], np.array([0.5, 1]) / np.hypot(0.5, 1), rtol=1e-6)
    np.testing.assert_allclose(profiles.vectors[1], np.array([0.25, 1]) / np.hypot(0.25, 1), rtol=1e-6)


def test_comment_without_a_time_counts_as_the_users_latest() -> None:
    times = pd.to_datetime(["2024-01-01", "2024-01-11", None], utc=True)
    comments = make_comments(["a", "a", "a"], time=list(times))
    embeddings = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=np.float64)

    profiles = build_profiles(comments, embeddings, half_life_days=10)

    np.testing.assert_allclose(profiles.vectors[0], np.array([0.5, 1, 1]) / 1.5, rtol=1e-6)


def test_half_life_without_a_time_column_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="time column"):
        build_profiles(make_comments(["a"]), np.ones((1, 2)), half_life_days=30)


def test_attributes_standardise_numbers_one_hot_categories_and_scale_the_block_to_the_weight() -> None:
    comments = make_comments(
        ["a", "a", "b", "c"],
        age=["20", "20", "40", "60"],
        country=["fr", "fr", "de", None],
    )
    embeddings = np.array([[1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=np.float64)

    profiles = build_profiles(comments, embeddings, attributes=["age", "country"], attribute_weight=0.5)

    text, block = profiles.vectors[:, :3], profiles.vectors[:, 3:]
    np.testing.assert_allclose(np.linalg.norm(text, axis=1), 1, rtol=1e-6)
    assert block.shape == (3, 3)  # age z-score, country=de, country=fr
    raw = np.array([[-np.sqrt(1.5), 0, 1], [0, 1, 0], [np.sqrt(1.5), 0, 0]])
    expected = raw * 0.5 / np.sqrt((raw**2).sum(axis=1).mean())
    np.testing.assert_allclose(block, expected, rtol=1e-5)
    np.testing.assert_allclose(np.sqrt((block**2).sum(axis=1).mean()), 0.5, rtol=1e-5)


def test_attribute_weight_zero_leaves_distances_to_the_text() -> None:
    comments = make_comments(["a", "b"], age=[1, 2])
    profiles = build_profiles(comments, np.eye(2), attributes=["age"], attribute_weight=0.0)
    np.testing.assert_allclose(profiles.vectors[:, 2], 0)


def test_attribute_that_varies_within_a_user_is_a_config_error_naming_it() -> None:
    comments = make_comments(["a", "a", "b"], plan=["free", "pro", "pro"])
    with pytest.raises(ConfigError, match="'plan'"):
        build_profiles(comments, np.eye(3), attributes=["plan"])


def test_unknown_attribute_column_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="'age'"):
        build_profiles(make_comments(["a"]), np.ones((1, 2)), attributes=["age"])


def test_tfidf_profiles_put_users_of_the_same_group_closer_than_users_of_other_groups() -> None:
    frame = labelled_comments(users_per_group=6, comments_per_user=3)
    comments = Comments(frame=frame[["user_id", "text"]], roles=ROLES)
    embeddings = get_encoder("tfidf").encode(frame["text"].tolist())

    profiles = build_profiles(comments, embeddings)

    groups = frame.groupby("user_id")["true_group"].first().loc[profiles.user_ids].to_numpy()
    similarity = profiles.vectors @ profiles.vectors.T
    same = groups[:, None] == groups[None, :]
    np.fill_diagonal(same, False)
    different = groups[:, None] != groups[None, :]
    assert similarity[same].mean() > similarity[different].mean() + 0.2


def test_hundred_thousand_comments_aggregate_without_a_loop_over_users() -> None:
    rng = np.random.default_rng(0)
    users = [f"u{i}" for i in rng.integers(0, 20_000, 100_000)]
    comments = make_comments(users)
    embeddings = rng.normal(size=(100_000, 16)).astype(np.float32)

    profiles = build_profiles(comments, embeddings)

    assert profiles.n_comments.sum() == 100_000
    user = profiles.comment_user[0]
    mine = embeddings[profiles.comment_user == user].mean(axis=0)
    np.testing.assert_allclose(profiles.vectors[user], mine / np.linalg.norm(mine), rtol=1e-4, atol=1e-5)
