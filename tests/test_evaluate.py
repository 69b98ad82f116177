"""Leave-last-out evaluation: segments from training comments only, honest lifts over popularity."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from fixtures import GROUPS

from segmentation.cluster.base import make_clusterer
from segmentation.core.errors import ConfigError
from segmentation.embed.base import get_encoder
from segmentation.embed.cache import encode_texts
from segmentation.embed.profiles import build_profiles
from segmentation.ingest.io import from_frame, load_comments
from segmentation.recommend.base import RECOMMENDERS
from segmentation.recommend.evaluate import ALL, Evaluation, evaluate, evaluate_pipeline
from segmentation.recommend.splits import cold_split, holdout_split

METRIC_KEYS = {"hit_rate", "ndcg", "mrr", "coverage"}


def taste_frame(text_reveals_taste: bool, users_per_group: int = 60, seed: int = 0) -> pd.DataFrame:
    """Comments on items, one group per user (the fixtures' four topics).

    With ``text_reveals_taste`` a user writes about its group's topic and mostly picks its group's 15 niche
    items (else one of 10 shared ones). Without it, the topic is drawn at random and every item comes from
    one Zipf-like popularity over all items, so taste has nothing to do with text (nor with anything):
    global popularity is the best anyone can do.
    """
    rng = np.random.default_rng(seed)
    groups = list(GROUPS)
    niche = {g: [f"{g[:3]}-{i:02d}" for i in range(15)] for g in groups}
    shared = [f"all-{i:02d}" for i in range(10)]
    everything = shared + [item for g in groups for item in niche[g]]

    def zipf(n: int) -> np.ndarray:
        p = 1.0 / np.arange(1, n + 1) ** 0.8
        return p / p.sum()

    rows = []
    for g in groups:
        for u in range(users_per_group):
            user = f"{g[:3]}-user-{u:03d}"
            topic = g if text_reveals_taste else groups[rng.integers(len(groups))]
            n = int(rng.integers(2, 9))
            if text_reveals_taste:
                items: list[str] = []
                for _ in range(n):
                    pool = niche[g] if rng.random() < 0.75 else shared
                    free = [i for i in pool if i not in items]
                    weights = zipf(len(pool))[[pool.index(i) for i in free]]
                    items.append(str(rng.choice(free, p=weights / weights.sum())))
            else:
                items = [str(i) for i in rng.choice(everything, size=n, replace=False, p=zipf(len(everything)))]
            for day, item in enumerate(items):
                parts = GROUPS[topic]
                text = (f"{rng.choice(parts['subject']).capitalize()} {rng.choice(parts['verb'])} "
                        f"{rng.choice(parts['detail'])}.")
                rows.append({"user_id": user, "text": text, "item_id": item, "rating": float(rng.integers(3, 6)),
                             "time": f"2024-01-{1 + day:02d}T{u % 24:02d}:00:00Z"})
    return pd.DataFrame(rows)


def tfidf_kmeans(k: int):
    """A segment_fn from the real pieces: tfidf encoder, user profiles, k-means."""

    def segment_fn(train):
        embeddings = encode_texts(train.frame["text"].tolist(), get_encoder("tfidf"), None).embeddings
        profiles = build_profiles(train, embeddings)
        labels = make_clusterer("kmeans", k=k, seed=0).fit(profiles.vectors).labels_
        return profiles.user_ids, profiles.vectors, labels, {i: f"segment {i}" for i in range(k)}

    return segment_fn


@pytest.fixture(scope="module")
def revealing():
    return evaluate(from_frame(taste_frame(True), source="revealing.csv"), tfidf_kmeans(4))


@pytest.fixture(scope="module")
def unrelated():
    return evaluate(from_frame(taste_frame(False), source="unrelated.csv"), tfidf_kmeans(4))


def test_segment_knn_beats_popularity_when_text_reveals_the_segments_taste(revealing):
    methods = revealing.methods
    assert methods["segment_knn"]["ndcg"] > 1.25 * methods["global_popularity"]["ndcg"]


def test_answer_says_yes_when_segments_clearly_beat_the_only_rival():
    evaluation = evaluate(from_frame(taste_frame(True), source="t.csv"), tfidf_kmeans(4),
                          methods=["segment_popularity"], cold=False)
    answer = evaluation.answer()
    assert answer.rival == "global_popularity" and answer.verdict == "yes"
    assert answer.sentence.startswith("Yes: on your data, recommending within segments")
    assert "than recommending the most popular items" in answer.sentence and "240 users tested" in answer.sentence
    assert 0 < answer.low < answer.lift < answer.high


def test_answer_says_no_when_taste_ignores_the_segments():
    evaluation = evaluate(from_frame(taste_frame(False), source="t.csv"), tfidf_kmeans(4),
                          methods=["segment_popularity"], cold=False)
    assert evaluation.methods["segment_popularity"]["hit_rate"] <= evaluation.methods["global_popularity"]["hit_rate"]
    assert evaluation.answer().sentence.startswith("No:")


def test_answer_says_too_few_users_to_tell_below_two_hundred_users():
    evaluation = evaluate(from_frame(taste_frame(True, users_per_group=20), source="t.csv"), tfidf_kmeans(4),
                          methods=["segment_popularity"], cold=False)
    answer = evaluation.answer()
    assert evaluation.n_users_evaluated == 80 and answer.verdict == "unclear"
    assert answer.sentence.startswith("No: too few users to tell") and "80 users tested" in answer.sentence


def test_verdict_compares_the_best_segment_method_with_the_best_method_ignoring_segments(unrelated):
    table = unrelated.table()
    aware = [m for m in table.index if RECOMMENDERS[m].segment_aware]
    plain = [m for m in table.index if not RECOMMENDERS[m].segment_aware]
    assert unrelated.rival() == table.loc[plain, "ndcg"].idxmax()
    assert unrelated.best(segment_aware=True) == table.loc[aware, "ndcg"].idxmax()
    if table.loc[aware, "ndcg"].max() <= table.loc["ease", "ndcg"]:
        assert "Segments add nothing beyond EASE" in unrelated.verdict


def test_cold_users_keep_one_comment_without_its_item_and_are_scored_on_the_rest():
    frame = taste_frame(True, users_per_group=20)
    comments = from_frame(frame, source="t.csv")
    train, test = cold_split(comments, share=0.25, seed=1)
    cold = set(test["user_id"])
    assert len(cold) == 20
    kept = train.frame[train.frame["user_id"].isin(cold)]
    assert kept["user_id"].is_unique and kept["item_id"].isna().all()
    for user in list(cold)[:5]:
        theirs = frame[frame["user_id"] == user].sort_values("time", kind="stable")
        assert kept.loc[kept["user_id"] == user, "text"].item() == theirs["text"].iloc[0]
        expected = set(theirs["item_id"]) - {theirs["item_id"].iloc[0]}
        assert set(test.loc[test["user_id"] == user, "item_id"]) == expected


def test_cold_users_get_more_from_their_segment_than_from_popularity_when_text_reveals_taste(revealing):
    cold = revealing.cold
    assert cold["users"] == 48
    assert cold["recall"][cold["segment_method"]] >= 1.2 * cold["recall"]["global_popularity"]
    assert cold["low"] > 0


def test_cold_users_compare_the_text_match_with_popularity_and_the_segments_popularity(revealing):
    cold = revealing.cold
    assert cold["text_method"] in {"global_knn", "text_match"}
    pairs = {(c["method"], c["against"]): c for c in cold["compare"]}
    assert {("text_match", "global_popularity"), ("text_match", "segment_popularity"),
            ("segment_popularity", "global_popularity")} <= set(pairs)
    for (method, against), c in pairs.items():
        assert c["lift"] == pytest.approx(cold["recall"][method] / cold["recall"][against] - 1.0, abs=2e-3)
        assert c["low"] <= c["lift"] <= c["high"]
    # Here the text names each user's group of items: matching it beats popularity clearly.
    assert pairs[("text_match", "global_popularity")]["low"] > 0


def _cold_evaluation(low_vs_popularity: float, low_vs_segment: float) -> Evaluation:
    ranks = np.random.default_rng(0).integers(0, 11, 300)
    per_user = pd.concat([pd.DataFrame({"user_id": np.arange(300), "segment": 0, "train_items": 2, "method": m,
                                        "rank": ranks}) for m in ("global_popularity", "segment_popularity")],
                         ignore_index=True)
    metrics = {"hit_rate": float((ranks > 0).mean()), "ndcg": 0.2, "mrr": 0.1, "coverage": 0.5}
    cold = {"users": 250, "recall": {"global_popularity": 0.2, "segment_popularity": 0.21, "text_match": 0.3},
            "segment_method": "segment_popularity", "ratio": 1.05, "lift": 0.05, "low": -0.1, "high": 0.2,
            "text_method": "text_match",
            "compare": [{"method": "text_match", "against": "global_popularity", "lift": 0.5,
                         "low": low_vs_popularity, "high": 0.8},
                        {"method": "text_match", "against": "segment_popularity", "lift": 0.43,
                         "low": low_vs_segment, "high": 0.7}]}
    return Evaluation({"global_popularity": metrics, "segment_popularity": dict(metrics)}, [], 300, 10,
                      per_user=per_user, cold=cold)


def test_the_plain_answer_names_the_text_match_for_cold_users_only_when_it_clearly_wins():
    sentence = _cold_evaluation(0.2, 0.1).answer().sentence
    assert "For users with comments but no items, items whose choosers write like the user finds their items " \
           "50% more often than the most popular items (95% interval +20% to +80%) and 43% more often than " \
           "their segment's (+10% to +70%; 250 users)." in sentence
    assert "comments but no items" not in _cold_evaluation(0.2, -0.05).answer().sentence
    assert "comments but no items" not in _cold_evaluation(-0.01, 0.1).answer().sentence


def test_to_dict_has_every_method_metric_and_segment(revealing):
    record = json.loads(json.dumps(revealing.to_dict()))
    assert set(record) == {"methods", "per_segment", "n_users_evaluated", "top_n", "verdict", "answer",
                           "comparison", "where_segments_help", "cold", "tuning"}
    # Every peer with a grid records what its validation split chose, and the table shows it.
    tuned = {name for name in ALL if getattr(RECOMMENDERS[name], "grid", None)}
    assert tuned <= set(record["tuning"]) and "segment_ease" in record["tuning"]
    for name in tuned:
        assert set(record["tuning"][name]["params"]) == set(RECOMMENDERS[name].grid)
        assert 0 <= record["tuning"][name]["validation_ndcg"] <= 1
    table = revealing.table()
    assert table.loc["ease", "chosen"] == f"l2={record['tuning']['ease']['params']['l2']:g}"
    assert table.loc["global_popularity", "chosen"] == "" and np.isnan(table.loc["global_popularity",
                                                                                 "validation_ndcg"])
    assert set(record["methods"]) == set(ALL)
    assert all(set(m) == METRIC_KEYS | {"ndcg_lift", "ndcg_lift_ease"} for m in record["methods"].values())
    assert record["methods"]["ease"]["ndcg_lift_ease"] == 0.0
    assert record["methods"]["global_popularity"]["ndcg_lift"] == 0.0
    base = record["methods"]["global_popularity"]["ndcg"]
    knn = record["methods"]["segment_knn"]
    assert knn["ndcg_lift"] == pytest.approx(knn["ndcg"] / base - 1, abs=1e-4)
    assert record["n_users_evaluated"] == 240 and record["top_n"] == 10
    assert sum(s["users"] for s in record["per_segment"]) == 240
    for entry in record["per_segment"]:
        assert {"segment", "name", "users"} | set(ALL) == set(entry)
        assert all(0.0 <= entry[method][m] <= 1.0 for method in ALL for m in METRIC_KEYS)


def test_lift_by_segment_marks_segments_where_segmenting_hurts_and_where_it_is_unclear(revealing, unrelated):
    for evaluation in (revealing, unrelated):
        lifts = evaluation.lift_by_segment()
        assert list(lifts.columns) == ["segment", "name", "users", "best_method", "rival", "lift", "low", "high",
                                       "hurts", "clear"]
        assert (lifts["hurts"] == (lifts["lift"] < 0)).all()
        assert (lifts["low"] <= lifts["lift"]).all() and (lifts["lift"] <= lifts["high"]).all()
        assert (lifts["clear"] == ((lifts["low"] > 0) | (lifts["high"] < 0))).all()
    # Taste unrelated to anything: no segment can clearly beat the best method that ignores segments.
    assert not (unrelated.lift_by_segment()["low"] > 0).any()


def test_holdout_takes_each_users_latest_item_with_all_its_comments():
    frame = pd.DataFrame({
        "user_id": ["a", "a", "a", "a", "b", "b", "c"],
        "text": ["one", "two", "three", "again three", "x", "y", "only"],
        "item_id": ["i1", "i2", "i3", "i3", "i1", "i2", "i1"],
        "time": ["2024-01-01", "2024-01-05", "2024-01-02", "2024-01-09", "2024-02-01", "2024-01-01",
                 "2024-01-01"],
    })
    train, test = holdout_split(from_frame(frame, source="t.csv"))
    assert sorted(map(tuple, test.to_numpy())) == [("a", "i3"), ("b", "i1")]
    assert set(train.frame["text"]) == {"one", "two", "y", "only"}


def test_holdout_without_times_is_random_but_seeded():
    frame = taste_frame(True, users_per_group=5).drop(columns="time")
    comments = from_frame(frame, source="t.csv")
    first = holdout_split(comments, seed=1)[1]
    assert first.equals(holdout_split(comments, seed=1)[1])
    assert not first.equals(holdout_split(comments, seed=2)[1])
    assert first["user_id"].is_unique and len(first) == 20


def test_user_with_one_item_is_skipped_in_evaluation():
    frame = taste_frame(True, users_per_group=20)
    frame = pd.concat([frame, pd.DataFrame([{"user_id": "single", "text": "The espresso tastes rich.",
                                             "item_id": "cof-00", "rating": 5.0,
                                             "time": "2024-01-01T00:00:00Z"}])])
    evaluation = evaluate(from_frame(frame, source="t.csv"), tfidf_kmeans(4), methods=["segment_knn"])
    assert "single" not in set(evaluation.per_user["user_id"])
    assert evaluation.n_users_evaluated == 80


def test_held_out_comment_naming_its_item_does_not_change_that_items_rank():
    frame = taste_frame(True, users_per_group=20)
    user = "run-user-003"
    latest = frame[frame["user_id"] == user].index[-1]
    item = frame.loc[latest, "item_id"]
    naming, neutral = frame.copy(), frame.copy()
    naming.loc[latest, "text"] = f"{item} {item} {item} is the item {item} I bought: {item}"
    neutral.loc[latest, "text"] = "Fine."
    ranks = []
    for variant in (naming, neutral):
        evaluation = evaluate(from_frame(variant, source="t.csv"), tfidf_kmeans(4))
        per_user = evaluation.per_user
        ranks.append(per_user[per_user["user_id"] == user].set_index("method")["rank"])
    pd.testing.assert_series_equal(ranks[0], ranks[1])


def test_evaluation_needs_items_and_repeat_users():
    no_items = from_frame(pd.DataFrame({"user_id": ["a", "b"], "text": ["x", "y"]}), source="t.csv")
    with pytest.raises(ConfigError, match="item column"):
        evaluate(no_items, tfidf_kmeans(2))
    singles = from_frame(pd.DataFrame({"user_id": ["a", "b"], "text": ["x", "y"], "item_id": ["1", "2"]}),
                         source="t.csv")
    with pytest.raises(ConfigError, match="2 or more items"):
        evaluate(singles, tfidf_kmeans(2))


def test_real_recipe_reviews_evaluate_with_an_honest_verdict(recipes_dir):
    comments = load_comments(recipes_dir / "recipe_reviews_users_ge2.csv.gz")
    evaluation = evaluate(comments, tfidf_kmeans(8))
    assert evaluation.n_users_evaluated > 1500
    table = evaluation.table()
    assert set(table.index) == set(ALL)
    assert table["ndcg"].between(0, 1).all() and table["coverage"].between(0, 1).all()
    # The answer follows from the table: the rival is the best method ignoring segments, and the first word
    # says whether the best segment-aware method finds the held-out item more often than it does.
    aware = [m for m in table.index if RECOMMENDERS[m].segment_aware]
    plain = [m for m in table.index if not RECOMMENDERS[m].segment_aware]
    answer = evaluation.answer()
    assert answer.rival == table.loc[plain, "ndcg"].idxmax()
    assert answer.segment_method == table.loc[aware, "ndcg"].idxmax()
    if table.loc[answer.segment_method, "hit_rate"] <= table.loc[answer.rival, "hit_rate"]:
        assert answer.sentence.startswith("No:")
    if table.loc[aware, "ndcg"].max() <= table.loc["ease", "ndcg"]:
        assert "Segments add nothing beyond EASE" in evaluation.verdict
    assert evaluation.cold["users"] > 200
    assert {"ease", "als", "item_knn", "rp3beta"} <= set(evaluation.tuning)
    assert evaluation.tuning["ease"]["params"]["l2"] in RECOMMENDERS["ease"].grid["l2"]
    assert any(c["method"] == "text_match" for c in evaluation.cold["compare"])


@pytest.mark.slow
def test_evaluate_pipeline_runs_the_real_pipeline_on_training_comments_only():
    from segmentation.pipeline.config import SegmentConfig

    frame = taste_frame(True, users_per_group=30)
    config = SegmentConfig(encoder="tfidf", k=4)
    evaluation = evaluate_pipeline(from_frame(frame, source="t.csv"), config, top_n=5)
    assert evaluation.top_n == 5 and evaluation.n_users_evaluated == 120
    assert evaluation.methods["segment_knn"]["ndcg"] > evaluation.methods["global_popularity"]["ndcg"]


def test_answer_says_no_when_the_segment_method_fell_back_to_its_rival_on_every_user():
    ranks = np.random.default_rng(0).integers(0, 11, 300)
    per_user = pd.concat([pd.DataFrame({"user_id": np.arange(300), "segment": 0, "train_items": 2, "method": m,
                                        "rank": ranks if m != "global_popularity" else np.zeros(300, int)})
                          for m in ("global_popularity", "ease", "segment_ease")], ignore_index=True)
    metrics = {"hit_rate": float((ranks > 0).mean()), "ndcg": 0.2, "mrr": 0.1, "coverage": 0.5}
    methods = {"global_popularity": {**metrics, "ndcg": 0.0, "hit_rate": 0.0}, "ease": metrics,
               "segment_ease": dict(metrics)}
    answer = Evaluation(methods, [], 300, 10, per_user=per_user).answer()
    assert answer.rival == "ease" and answer.verdict == "no"
    assert answer.sentence.startswith("No: on your data") and "exactly as often as" in answer.sentence
