"""Recommenders: unseen items only, scores with readable reasons, noise users on popularity."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from test_evaluate import taste_frame, tfidf_kmeans

from segmentation.core.errors import ConfigError
from segmentation.embed.base import get_encoder
from segmentation.embed.cache import encode_texts
from segmentation.embed.profiles import build_profiles
from segmentation.ingest.io import from_frame, load_comments
from segmentation.recommend.base import (
    RECOMMENDERS,
    Interactions,
    Recommendation,
    Validation,
    item_recommenders,
    make_recommender,
    pick_holdout,
    target_rank,
)
from segmentation.recommend.knn import ItemKNN, RP3beta
from segmentation.recommend.linear import EASE, SegmentEASE
from segmentation.recommend.peer_comments import SegmentComments

ITEM_METHODS = item_recommenders()


@pytest.fixture(scope="module")
def fitted_setup():
    comments = from_frame(taste_frame(True, users_per_group=30), source="tastes.csv")
    user_ids, vectors, labels, _ = tfidf_kmeans(4)(comments)
    labels = labels.copy()
    labels[:3] = -1  # three noise users, as HDBSCAN's "keep" policy leaves them
    return comments, Interactions.from_comments(comments, user_ids), vectors, labels


def test_interactions_are_binary_and_aligned_with_the_profiles_users(fitted_setup):
    comments, data, vectors, _ = fitted_setup
    assert data.matrix.shape == (len(vectors), comments.n_items)
    assert set(np.unique(data.matrix.data)) == {1.0}
    first = comments.frame.iloc[0]
    row = data.user_index(first["user_id"])
    assert first["item_id"] in set(data.item_ids[data.matrix[row].indices])
    assert data.has_ratings and data.weights().max() == 5.0


def test_repeat_comments_on_one_item_make_one_pair_with_mean_rating_and_latest_time():
    frame = pd.DataFrame({"user_id": ["a", "a", "a"], "text": ["x", "y", "z"], "item_id": ["i", "i", "j"],
                          "rating": [2.0, 4.0, None], "time": ["2024-01-01", "2024-03-01", "2024-02-01"]})
    data = Interactions.from_comments(from_frame(frame, source="t.csv"), ["a"])
    assert data.matrix.nnz == 2
    assert data.pair_rating[0] == 3.0 and np.isnan(data.pair_rating[1])
    assert data.pair_time[0] > data.pair_time[1]
    assert data.weights().toarray().tolist() == [[3.0, 3.0]]  # the unrated pair gets the mean rating


@pytest.mark.parametrize("name", ITEM_METHODS)
def test_recommendations_never_include_seen_items_and_come_with_reasons(fitted_setup, name):
    _, data, vectors, labels = fitted_setup
    model = RECOMMENDERS[name]().fit(data, vectors, labels)
    for user in data.user_ids[::7]:
        seen = set(data.item_ids[data.matrix[data.user_index(user)].indices])
        recommendations = model.recommend(user, n=10)
        assert len(recommendations) == 10
        assert not seen & {r.item_id for r in recommendations}
        assert all(isinstance(r, Recommendation) and r.reason for r in recommendations)
        scores = [r.score for r in recommendations]
        assert scores == sorted(scores, reverse=True)
    ranked = model.rank(np.arange(data.n_users), n=data.n_items)
    seen_pairs = data.matrix.toarray() > 0
    assert not any(seen_pairs[u, ranked[u][ranked[u] >= 0]].any() for u in range(data.n_users))


def test_capabilities_say_which_methods_use_segments_and_text():
    assert set(item_recommenders(segment_aware=True)) == {"segment_popularity", "segment_knn", "segment_ease",
                                                          "segment_policy"}
    assert {"global_popularity", "ease", "als", "interaction_knn", "rp3beta", "text_match"} <= set(
        item_recommenders(segment_aware=False))
    assert not RECOMMENDERS["interaction_knn"].uses_text and RECOMMENDERS["global_knn"].uses_text
    assert RECOMMENDERS["text_match"].uses_text and not RECOMMENDERS["rp3beta"].uses_text
    assert {name for name, cls in RECOMMENDERS.items() if getattr(cls, "grid", None)} == {
        "ease", "als", "item_knn", "rp3beta"}
    assert "segment_comments" not in ITEM_METHODS
    assert make_recommender("ease", seed=3, text_weight=0.5).seed == 3  # parameters it lacks are ignored
    with pytest.raises(ConfigError, match="unknown method"):
        make_recommender("nope")


def test_ease_matches_its_closed_form_and_chooses_l2_on_the_training_data_only(fitted_setup):
    _, data, vectors, labels = fitted_setup
    model = EASE(l2=50.0).fit(data, vectors, labels)
    x = data.matrix.toarray().astype(np.float64)
    p = np.linalg.inv(x.T @ x + 50.0 * np.eye(data.n_items))
    expected = np.eye(data.n_items) - p / np.diag(p)
    np.testing.assert_allclose(model.weights_, expected, atol=1e-4)
    chosen = EASE().fit(data, vectors, labels)
    assert chosen.validation_["l2"].tolist() == list(EASE.grid["l2"])
    # The validation split comes from the data given to fit: hiding each user's latest item first
    # (as the evaluation does) changes what EASE validates on.
    validation = Validation.split(data)
    assert validation.training.matrix.nnz == data.matrix.nnz - len(validation.rows)


def test_segment_ease_is_plain_ease_when_the_blend_is_zero(fitted_setup):
    _, data, vectors, labels = fitted_setup
    rows = np.flatnonzero(labels >= 0)[:30]
    plain = EASE(l2=50.0).fit(data, vectors, labels).rank(rows, 10)
    blended = SegmentEASE(l2=50.0, blend=0.0).fit(data, vectors, labels).rank(rows, 10)
    np.testing.assert_array_equal(plain, blended)
    chosen = SegmentEASE(l2=50.0).fit(data, vectors, labels)
    assert chosen.validation_["blend"].tolist() == list(chosen.blend_grid)
    best = chosen.validation_.loc[chosen.validation_["ndcg"].idxmax()]
    assert chosen.params_ == {"l2": 50.0, "blend": best["blend"]} and chosen.validation_ndcg_ == best["ndcg"]


TUNED = [name for name in ITEM_METHODS if RECOMMENDERS[name].grid]


@pytest.mark.parametrize("name", TUNED)
def test_a_tuned_peer_chooses_every_free_parameter_from_its_grid_on_the_validation_split(fitted_setup, name):
    _, data, vectors, labels = fitted_setup
    cls = RECOMMENDERS[name]
    model = cls().fit(data, vectors, labels)
    grid = cls.grid
    assert set(model.params_) == set(grid)
    assert all(model.params_[key] in values for key, values in grid.items())
    assert len(model.validation_) == int(np.prod([len(values) for values in grid.values()]))
    row = model.validation_.loc[(model.validation_[list(grid)] == pd.Series(model.params_)).all(axis=1)]
    assert len(row) == 1 and model.validation_ndcg_ == row["ndcg"].item()
    if name != "ease":  # EASE's own rule is tested below
        assert model.validation_ndcg_ == model.validation_["ndcg"].max()
    # The score is what the chosen settings reach on the validation split, refitted from scratch there.
    validation = Validation.split(data)
    refit = cls(**model.params_).fit(validation.training, vectors, labels)
    assert validation.gains(refit.scores, 10).mean() == pytest.approx(model.validation_ndcg_)
    # Given values are kept: nothing is tuned.
    fixed = cls(**model.params_).fit(data, vectors, labels)
    assert fixed.params_ == model.params_ and fixed.validation_.empty and np.isnan(fixed.validation_ndcg_)


def test_ease_takes_the_strongest_l2_within_one_standard_error_of_the_best_on_validation(fitted_setup):
    _, data, vectors, labels = fitted_setup
    validation = Validation.split(data)
    grid = EASE.grid["l2"]
    gains = np.array([validation.gains(EASE(l2=l2).fit(validation.training, vectors, labels).scores, 10)
                      for l2 in grid])
    best = gains.mean(axis=1).argmax()
    difference = gains - gains[best]
    within = difference.mean(axis=1) >= -difference.std(axis=1, ddof=1) / np.sqrt(gains.shape[1])
    chosen = EASE().fit(data, vectors, labels)
    assert chosen.params_["l2"] == max(np.array(grid)[within]) >= grid[best]
    assert chosen.validation_ndcg_ == pytest.approx(gains[list(grid).index(chosen.params_["l2"])].mean())


def test_item_knn_similarity_is_the_shrunk_cosine_of_item_columns(fitted_setup):
    _, data, vectors, labels = fitted_setup
    x = data.matrix.toarray().astype(np.float64)
    dot = x.T @ x
    norms = np.sqrt(np.diag(dot))
    for shrinkage in (0.0, 20.0):
        expected = dot / (np.outer(norms, norms) + shrinkage)
        np.fill_diagonal(expected, 0.0)
        model = ItemKNN(n_neighbors=data.n_items, shrinkage=shrinkage).fit(data, vectors, labels)
        np.testing.assert_allclose(model.similar_.toarray(), expected, atol=1e-9)
    kept = ItemKNN(n_neighbors=5, shrinkage=0.0).fit(data, vectors, labels).similar_
    assert (np.diff(kept.indptr) <= 5).all()


def test_rp3beta_is_the_three_step_walk_with_popular_items_discounted(fitted_setup):
    _, data, vectors, labels = fitted_setup
    x = data.matrix.toarray().astype(np.float64)
    alpha, beta = 0.8, 0.5
    user_step = (x / x.sum(axis=1, keepdims=True)) ** alpha
    item_step = (x.T / x.sum(axis=0)[:, None]) ** alpha
    expected = item_step @ user_step / x.sum(axis=0)[None, :] ** beta
    np.fill_diagonal(expected, 0.0)
    model = RP3beta(alpha=alpha, beta=beta, n_neighbors=data.n_items).fit(data, vectors, labels)
    np.testing.assert_allclose(model.walk_.toarray(), expected, rtol=1e-9, atol=1e-12)
    # A larger beta moves the lists away from the best sellers.
    rows = np.arange(data.n_users)
    users_per_item = x.sum(axis=0)
    plain = RP3beta(alpha=1.0, beta=0.0).fit(data, vectors, labels).rank(rows, 5)
    discounted = RP3beta(alpha=1.0, beta=1.0).fit(data, vectors, labels).rank(rows, 5)
    assert users_per_item[discounted].mean() < users_per_item[plain].mean()


def test_text_match_serves_a_user_with_no_items_from_what_they_wrote(fitted_setup):
    comments, _, _, _ = fitted_setup
    extra = pd.DataFrame([{"user_id": "quiet", "text": "The espresso tastes rich and bitter.", "item_id": None}])
    frame = pd.concat([comments.frame[["user_id", "text", "item_id", "rating", "time"]], extra], ignore_index=True)
    with_quiet = from_frame(frame, source="t.csv")
    user_ids, vectors, labels, _ = tfidf_kmeans(4)(with_quiet)
    data = Interactions.from_comments(with_quiet, user_ids)
    picks = RECOMMENDERS["text_match"](popularity_weight=0.0).fit(data, vectors, labels).recommend("quiet", 5)
    # The fixture's coffee drinkers mostly pick the 15 coffee items ("cof-..."); the text alone finds them.
    assert all(r.item_id.startswith("cof-") for r in picks)
    assert all("write like you" in r.reason for r in picks)
    popular = RECOMMENDERS["global_popularity"]().fit(data, vectors, labels).recommend("quiet", 5)
    mostly_popular = RECOMMENDERS["text_match"](popularity_weight=1000.0).fit(data, vectors, labels)
    counts = np.asarray(data.matrix.sum(axis=0)).ravel()
    index = {item: i for i, item in enumerate(data.item_ids)}
    assert [counts[index[r.item_id]] for r in mostly_popular.recommend("quiet", 5)] == \
        [counts[index[r.item_id]] for r in popular]
    with pytest.raises(ConfigError, match="text profiles"):
        RECOMMENDERS["text_match"]().fit(data, None, labels)


def test_als_from_implicit_ranks_the_users_own_taste_above_popularity(fitted_setup):
    _, data, vectors, labels = fitted_setup
    model = RECOMMENDERS["als"]().fit(data, vectors, labels)
    assert model.user_factors_.shape == (data.n_users, model.params_["factors"])
    validation = Validation.split(data)
    # Four groups of taste: four factors fit them (32 overfit the fixture's 120 users).
    als = validation.gains(RECOMMENDERS["als"](factors=4, regularization=0.1, alpha=1.0, iterations=15)
                           .fit(validation.training, vectors, labels).scores, 10).mean()
    popular = validation.gains(RECOMMENDERS["global_popularity"]().fit(validation.training, vectors, labels).scores,
                               10).mean()
    assert als > 1.5 * popular  # the fixture's users mostly pick their group's niche items


@pytest.mark.parametrize("name", ["segment_popularity", "segment_knn"])
def test_noise_user_falls_back_to_global_popularity_and_says_so(fitted_setup, name):
    _, data, vectors, labels = fitted_setup
    noise_user = data.user_ids[0]
    ours = RECOMMENDERS[name]().fit(data, vectors, labels).recommend(noise_user, 5)
    popular = RECOMMENDERS["global_popularity"]().fit(data, vectors, labels).recommend(noise_user, 5)
    assert [r.item_id for r in ours] == [r.item_id for r in popular]
    assert all("no segment" in r.reason and "global popularity" in r.reason for r in ours)


def test_segment_knn_reason_counts_segment_mates_and_their_ratings(fitted_setup):
    _, data, vectors, labels = fitted_setup
    user = data.user_ids[10]
    first = RECOMMENDERS["segment_knn"]().fit(data, vectors, labels).recommend(user, 3)[0]
    assert first.reason.startswith("liked by ")
    assert "nearest segment-mates, mean rating" in first.reason


def test_popularity_weight_moves_user_knn_from_the_neighbours_picks_to_the_best_sellers(fitted_setup):
    _, data, vectors, labels = fitted_setup
    rows = np.flatnonzero(labels >= 0)[:20]
    popular = RECOMMENDERS["global_popularity"]().fit(data, vectors, labels).rank(rows, 5)
    neighbours_only = RECOMMENDERS["segment_knn"](popularity_weight=0.0).fit(data, vectors, labels)
    mostly_popular = RECOMMENDERS["segment_knn"](popularity_weight=1000.0).fit(data, vectors, labels)

    # The same popularity at every rank (items chosen by as many users may swap places).
    users_per_item = np.asarray(data.matrix.sum(axis=0)).ravel()
    np.testing.assert_array_equal(users_per_item[mostly_popular.rank(rows, 5)], users_per_item[popular])
    first = neighbours_only.rank(rows, 1)[:, 0]
    idx, near = neighbours_only.neighbours(rows)
    for item, mates, sims in zip(first, idx, near, strict=True):
        assert data.matrix[mates[sims > 0]][:, item].sum() > 0  # a segment-mate chose the top item
    with pytest.raises(ConfigError, match="popularity_weight"):
        RECOMMENDERS["segment_knn"](popularity_weight=-1).fit(data, vectors, labels)


def test_segment_knn_neighbours_stay_inside_the_users_segment(fitted_setup):
    _, data, vectors, labels = fitted_setup
    model = RECOMMENDERS["segment_knn"](n_neighbors=10).fit(data, vectors, labels)
    rows = np.flatnonzero(labels >= 0)
    idx, near = model.neighbours(rows)
    inside = labels[idx] == labels[rows][:, None]
    assert (inside | (near == 0)).all()
    assert not (idx == rows[:, None])[near > 0].any()


def test_segment_policy_falls_back_to_the_global_winner_unless_a_segment_clearly_differs(fitted_setup):
    _, data, vectors, labels = fitted_setup
    policy = RECOMMENDERS["segment_policy"](min_validation_users=10).fit(data, vectors, labels)
    assert set(policy.choice_) == set(np.unique(labels[labels >= 0]).tolist())
    assert set(policy.choice_.values()) <= set(policy.candidates)
    for segment, decided in policy.decided_.items():
        assert decided == (policy.choice_[segment] != policy.global_choice_)
    reason = policy.recommend(data.user_ids[10], 1)[0].reason
    assert "clearly won for your segment" in reason or "no method clearly beat" in reason
    # With a segment too small to judge, nothing is chosen per segment.
    shrunk = RECOMMENDERS["segment_policy"](min_validation_users=10_000).fit(data, vectors, labels)
    assert set(shrunk.choice_.values()) == {shrunk.global_choice_}


def test_segment_policy_gives_noise_users_the_global_winner(fitted_setup):
    _, data, vectors, labels = fitted_setup
    policy = RECOMMENDERS["segment_policy"]().fit(data, vectors, labels)
    noise_user = data.user_ids[0]
    winner = make_recommender(policy.global_choice_).fit(data, vectors, labels)
    assert [r.item_id for r in policy.recommend(noise_user, 5)] == [r.item_id for r in winner.recommend(noise_user, 5)]
    assert all("no segment" in r.reason for r in policy.recommend(noise_user, 5))


def test_user_with_one_interaction_still_gets_recommendations(fitted_setup):
    comments, _, _, _ = fitted_setup
    extra = pd.DataFrame([{"user_id": "newcomer", "text": "The espresso tastes rich.", "item_id": "cof-00",
                           "rating": 5.0, "time": "2024-01-01T00:00:00Z"}])
    frame = pd.concat([comments.frame[["user_id", "text", "item_id", "rating", "time"]], extra])
    user_ids, vectors, labels, _ = tfidf_kmeans(4)(from_frame(frame, source="t.csv"))
    data = Interactions.from_comments(from_frame(frame, source="t.csv"), user_ids)
    for name in ITEM_METHODS:
        recommendations = RECOMMENDERS[name]().fit(data, vectors, labels).recommend("newcomer", 5)
        assert len(recommendations) == 5 and "cof-00" not in {r.item_id for r in recommendations}


def test_segment_comments_never_returns_the_users_own_comments(fitted_setup):
    comments, _, _, labels = fitted_setup
    frame = comments.frame[["user_id", "text"]]
    no_items = from_frame(frame, source="no-items.csv")
    embeddings = encode_texts(no_items.frame["text"].tolist(), get_encoder("tfidf"), None).embeddings
    profiles = build_profiles(no_items, embeddings)
    data = Interactions.from_comments(no_items, profiles.user_ids)
    assert data.n_items == 0
    model = SegmentComments().fit(data, profiles.vectors, labels, comment_vectors=embeddings)
    for user in (profiles.user_ids[0], profiles.user_ids[40]):
        row = data.user_index(user)
        recommendations = model.recommend(user, 8)
        assert len(recommendations) == 8
        rows = [int(r.item_id) for r in recommendations]
        assert all(no_items.frame.loc[r, "user_id"] != user for r in rows)
        assert [r.text for r in recommendations] == no_items.frame.loc[rows, "text"].tolist()
        if labels[row] >= 0:
            assert (labels[data.comment_user[rows]] == labels[row]).all()
            assert all("member of your segment" in r.reason for r in recommendations)
        else:
            assert all("no segment" in r.reason for r in recommendations)


def test_segment_comments_needs_the_comment_embeddings(fitted_setup):
    _, data, vectors, labels = fitted_setup
    with pytest.raises(ConfigError, match="comment embeddings"):
        SegmentComments().fit(data, vectors, labels)


def test_unknown_user_is_a_clear_error(fitted_setup):
    _, data, vectors, labels = fitted_setup
    model = RECOMMENDERS["global_popularity"]().fit(data, vectors, labels)
    with pytest.raises(ConfigError, match="not in the data"):
        model.recommend("nobody")


def test_pick_holdout_takes_the_latest_pair_of_users_with_two_or_more():
    users = np.array([0, 0, 0, 1, 2, 2])
    times = np.array([5.0, 9.0, 1.0, 3.0, 2.0, 2.0])
    assert pick_holdout(users, times).tolist() == [False, True, False, False, False, True]
    random_pick = pick_holdout(users, np.full(6, np.nan), seed=3)
    assert random_pick.sum() == 2 and not random_pick[3]


def test_target_rank_is_one_based_and_never_matches_padding_or_unknown_items():
    ranked = np.array([[4, 2, -1], [1, 0, 3], [-1, -1, -1]])
    assert target_rank(ranked, np.array([2, 7, -1])).tolist() == [2, 0, 0]


def test_scale_ten_thousand_users_by_a_thousand_items_ranks_everyone():
    rng = np.random.default_rng(0)
    n_users, n_items = 10_000, 1_000
    popularity = 1.0 / np.arange(1, n_items + 1) ** 0.9
    users = np.repeat(np.arange(n_users), rng.integers(2, 10, n_users))
    items = rng.choice(n_items, size=len(users), p=popularity / popularity.sum())
    frame = pd.DataFrame({"user_id": [f"u{u:05d}" for u in users], "text": "x",
                          "item_id": [f"i{i:04d}" for i in items]})
    comments = from_frame(frame, source="big.csv")
    user_ids = np.sort(frame["user_id"].unique())
    vectors = rng.normal(size=(n_users, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    labels = rng.integers(0, 8, n_users)
    data = Interactions.from_comments(comments, user_ids)
    # Fixed settings: the grids' search is tested above, here only the ranking at scale.
    for name in ("segment_knn", "item_knn", "ease", "segment_ease", "rp3beta"):
        model = make_recommender(name, l2=100.0, n_neighbors=50, shrinkage=10.0, alpha=1.0, beta=0.5)
        ranked = model.fit(data, vectors, labels).rank(np.arange(n_users), 10)
        assert ranked.shape == (n_users, 10) and (ranked >= 0).all()


@pytest.fixture(scope="module")
def recipe_segments(recipes_dir):
    """The real recipe reviews and their tfidf k-means segments (k=6), fitted once for the tests that read them;
    the arrays are read-only, so no test can change what the next one sees."""
    comments = load_comments(recipes_dir / "recipe_reviews_users_ge2.csv.gz")
    user_ids, vectors, labels, _ = tfidf_kmeans(6)(comments)
    for array in (user_ids, vectors, labels):
        array.flags.writeable = False
    return comments, user_ids, vectors, labels


def test_real_recipe_reviews_get_recommendations_with_reasons(recipe_segments):
    comments, user_ids, vectors, labels = recipe_segments
    data = Interactions.from_comments(comments, user_ids)
    assert data.n_items == 100
    user = comments.frame["user_id"].iloc[0]
    recommendations = RECOMMENDERS["segment_knn"]().fit(data, vectors, labels).recommend(user, 5)
    assert len(recommendations) == 5
    assert all(r.item_id in set(data.item_ids) for r in recommendations)
    assert any(r.reason.startswith("liked by") for r in recommendations)


def test_a_new_user_gets_the_top_items_of_the_segment_nearest_to_their_profile(fitted_setup):
    from segmentation.recommend.service import fit_run_recommenders, nearest_segment

    comments, data, vectors, labels = fitted_setup
    inside = np.flatnonzero(labels >= 0)
    nearest = np.array([nearest_segment(vectors[row], vectors, labels) for row in inside])
    assert (nearest == labels[inside]).mean() > 0.95  # k-means put them by the same centres
    fitted = fit_run_recommenders(comments, data.user_ids, vectors, labels, np.zeros((comments.n_comments, 1)),
                                  method="segment_popularity")
    segment, picks = fitted.for_new_user(vectors[inside[0]], 5)
    members = labels == segment
    counts = np.asarray(data.matrix[members].sum(axis=0)).ravel()
    assert [counts[list(data.item_ids).index(r.item_id)] for r in picks] == sorted(counts, reverse=True)[:5]
    assert all("users in your segment" in r.reason for r in picks)


def test_a_user_with_comments_but_no_items_is_answered_from_their_segment(fitted_setup):
    from segmentation.recommend.service import fit_run_recommenders

    comments, _, _, _ = fitted_setup
    extra = pd.DataFrame([{"user_id": "quiet", "text": "The espresso tastes rich and bitter.", "item_id": None}])
    frame = pd.concat([comments.frame[["user_id", "text", "item_id", "rating", "time"]], extra], ignore_index=True)
    with_quiet = from_frame(frame, source="t.csv")
    user_ids, vectors, labels, _ = tfidf_kmeans(4)(with_quiet)
    fitted = fit_run_recommenders(with_quiet, user_ids, vectors, labels, np.zeros((len(frame), 1)), method="ease")
    ours, popular, answered_by = fitted.for_user("quiet", 5)
    assert answered_by == RECOMMENDERS["segment_popularity"].label
    assert all("users in your segment" in r.reason for r in ours)


@pytest.mark.parametrize("named", [True, False], ids=["names", "no-names"])
def test_real_recipe_reasons_name_the_users_items_in_words_never_bare_ids(recipes_dir, recipe_segments, named):
    """Issue 20: reasons said "goes with items you have (e.g. 386, 2912)". They now cite the user's items by name,
    or where the file names none by id and the words of their reviews ("item 386 (shortcake, spongy, sponge)")."""
    from segmentation.describe.items import describe_items
    from segmentation.describe.keywords import term_counts
    from segmentation.recommend.service import fit_run_recommenders

    comments = load_comments(recipes_dir / "recipe_reviews_users_ge2.csv.gz", item_name_col=None if named else "")
    frame = comments.frame
    labels = describe_items(frame["item_id"].to_numpy(), term_counts(frame["text"].to_numpy()),
                            frame["item_name"].to_numpy() if named else None)
    # The segments read users and texts only, which the item names leave as they are: one fit serves both.
    segmented, user_ids, vectors, segments = recipe_segments
    assert frame[["user_id", "text"]].equals(segmented.frame[["user_id", "text"]])
    many = frame.groupby("user_id")["item_id"].nunique().sort_values(kind="stable").index[-5:]
    for method in ("ease", "item_knn", "segment_ease"):
        fitted = fit_run_recommenders(comments, user_ids, vectors, segments, np.zeros((len(frame), 1)),
                                      method=method, item_labels=labels)
        for user in many:
            mine = {labels.label(i) for i in frame.loc[frame["user_id"] == user, "item_id"]}
            cited = [r.reason for r in fitted.for_user(user, 5)[0] if "you have" in r.reason]
            assert cited, (method, user)
            for reason in cited:
                clause = next(part for part in reason.split("; ") if "you have" in part)
                assert any(label in clause for label in mine), reason
                for number in re.findall(r"\b\d+\b(?! items?\b)", clause):  # an id only as "item <id> (<words>)"
                    assert not named and re.search(rf"item {number} \([^)]+\)", clause), reason
