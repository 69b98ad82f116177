"""Display shaping for the dashboard: escaping, map rows, knife plot, sweeps, lifts, recommendations."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from segmentation.describe.items import ItemLabels
from segmentation.describe.segments import SegmentDescription
from segmentation.ingest.io import from_frame
from segmentation.present.views import (
    KNIFE_GAP,
    UserRecommendations,
    comments_per_user,
    dendrogram_lines,
    escape_html,
    escape_markdown,
    knife_frame,
    lift_frame,
    map_frame,
    quality_cards,
    quality_reading,
    segment_labels,
    segment_of,
    selected_users_table,
    size_frame,
    snippet,
    sweep_long,
    text_length_summary,
    user_comments,
    user_snippets,
)
from segmentation.recommend.service import fit_run_recommenders

HOSTILE = '<script>alert(1)</script> & <img src=x onerror=alert(2)> ![p](http://evil.example/p.png)'


def description(id: int, name: str, size: int = 1, share: float = 0.5) -> SegmentDescription:
    return SegmentDescription(id=id, name=name, size=size, share=share, keywords=[],
                              representative_comments=[])


@pytest.fixture
def comments():
    frame = pd.DataFrame({
        "user_id": ["u1", "u1", "u2", "u3", "u3"],
        "text": ["short", "a much longer comment by u1", "only one", "first <b>bold</b>", "x"],
        "item_id": ["i1", "i2", "i1", "i3", "i2"],
        "time": ["2024-01-03", "2024-01-01", "2024-01-02", "2024-01-05", "2024-01-04"],
    })
    return from_frame(frame, source="t.csv")


def test_escape_html_shows_tags_and_entities_literally():
    escaped = escape_html(HOSTILE + " &lt;")
    assert "<" not in escaped and ">" not in escaped
    assert escaped.startswith("&lt;script&gt;") and escaped.endswith("&amp;lt;")


def test_escape_markdown_leaves_no_unescaped_punctuation():
    escaped = escape_markdown(HOSTILE + " :red[x] $x$ **b** `c`")
    unescaped = re.sub(r"\\[!-/:-@\[-`{-~]", "", escaped)
    assert not re.search(r"[!-/:-@\[-`{-~]", unescaped)


def test_snippet_collapses_whitespace_and_cuts_with_an_ellipsis():
    assert snippet("a\n\n  b") == "a b"
    cut = snippet("word " * 50, width=20)
    assert len(cut) <= 20 and cut.endswith("…")


def test_segment_labels_disambiguate_repeated_names_with_the_id():
    labels = segment_labels([description(0, "Coffee"), description(1, "Coffee"), description(2, "Tea")])
    assert labels == {0: "Coffee (#0)", 1: "Coffee (#1)", 2: "Tea"}


def test_user_snippets_pick_each_users_longest_comment_in_the_given_order(comments):
    longest_u3 = comments.frame["text"].iloc[3]  # the loader may strip the <b> tags
    assert user_snippets(comments, ["u3", "u1", "nobody"]).tolist() == [
        longest_u3, "a much longer comment by u1", ""]


def test_map_frame_escapes_hover_text_and_marks_the_highlighted_user():
    assignments = pd.DataFrame({"user_id": ["<u>", "b"], "segment": [0, 1], "x": [0.0, 1.0], "y": [1.0, 0.0]})
    frame = map_frame(assignments, {0: "<b>Fans</b>", 1: "Tea"}, [HOSTILE, "ok"], highlight="b")
    assert frame["user_html"].tolist() == ["&lt;u&gt;", "b"]
    assert frame["label_html"].iloc[0] == "&lt;b&gt;Fans&lt;/b&gt;"
    assert frame["label"].iloc[0] == "<b>Fans</b>"
    assert "<" not in frame["snippet_html"].iloc[0]
    assert frame["highlight"].tolist() == [False, True]
    assert frame["row"].tolist() == [0, 1]


def test_selected_users_table_lists_each_users_comments(comments):
    assignments = pd.DataFrame({"user_id": ["u1", "u2", "u3"], "segment": [0, 0, 1]})
    table = selected_users_table(assignments, [2, 0], comments, {0: "A", 1: "B"})
    assert table["user_id"].tolist() == ["u3", "u1"]
    assert table["segment"].tolist() == ["B", "A"]
    assert "a much longer comment by u1" in table["comments"].iloc[1]


def test_knife_frame_sorts_within_segments_leaves_gaps_and_drops_noise():
    labels = np.array([1, 0, 1, -1, 0, 1])
    silhouette = np.array([0.1, 0.2, 0.5, 0.9, 0.4, np.nan])
    knife = knife_frame(labels, silhouette, {0: "A", 1: "B"})
    assert knife["label"].tolist() == ["A", "A", "B", "B"]
    assert knife["silhouette"].tolist() == [0.4, 0.2, 0.5, 0.1]
    assert knife["position"].tolist() == [0, 1, 2 + KNIFE_GAP, 3 + KNIFE_GAP]


def test_size_frame_is_largest_first():
    sizes = size_frame([description(0, "A", 2, 0.2), description(1, "B", 8, 0.8)], {0: "A", 1: "B"})
    assert sizes["label"].tolist() == ["B", "A"] and sizes["share"].tolist() == [0.8, 0.2]


def test_dendrogram_lines_show_the_top_merges_and_count_every_user():
    from scipy.cluster.hierarchy import linkage

    points = np.random.default_rng(0).normal(size=(40, 3))
    lines = dendrogram_lines(linkage(points, "ward"), top=8)
    assert len(lines["x"]) == 7 and all(len(xs) == 4 for xs in lines["x"])
    assert len(lines["leaf_x"]) == 8
    assert sum(int(label) for label in lines["leaf_labels"]) == 40


def test_dendrogram_cut_line_splits_the_tree_into_k_branches_coloured_by_their_segment():
    from scipy.cluster.hierarchy import cut_tree, linkage

    rng = np.random.default_rng(1)
    points = np.vstack([rng.normal(c, 0.3, size=(15, 2)) for c in ((0, 0), (6, 0), (0, 6))])
    tree = linkage(points, "ward")
    labels = cut_tree(tree, 3).ravel()
    lines = dendrogram_lines(tree, top=10, labels=labels, k=3)
    assert tree[-3, 2] < lines["cut"] < tree[-2, 2]  # exactly two merges lie above the cut
    above = [segment is None for segment in lines["link_segment"]]
    assert sum(above) == 2
    for ys, segment in zip(lines["y"], lines["link_segment"], strict=True):
        assert (max(ys) > lines["cut"]) == (segment is None)
    assert sorted(set(lines["leaf_segment"])) == [0, 1, 2]
    sizes = {s: sum(int(n) for n, t in zip(lines["leaf_labels"], lines["leaf_segment"], strict=True) if t == s)
             for s in range(3)}
    assert sizes == {s: int((labels == s).sum()) for s in range(3)}


def test_comment_counts_lengths_and_a_users_comments_in_time_order(comments):
    assert comments_per_user(comments).to_dict() == {"u1": 2, "u2": 1, "u3": 2}
    assert text_length_summary(comments)["max"] == len("a much longer comment by u1")
    mine = user_comments(comments, "u1")
    assert mine["text"].tolist() == ["a much longer comment by u1", "short"]
    assert list(mine.columns) == ["time", "item_id", "text"]


def test_segment_of_finds_the_users_segment():
    assert segment_of(pd.DataFrame({"user_id": ["a", "b"], "segment": [3, -1]}), "b") == -1


def test_sweep_long_has_one_row_per_k_and_metric_without_missing_values():
    table = pd.DataFrame({"k": [2, 3], "silhouette": [0.1, 0.2], "inertia": [np.nan, 5.0]})
    long = sweep_long(table)
    assert len(long) == 3 and set(long["metric"]) == {"silhouette", "inertia"}


def test_lift_frame_greys_segments_whose_interval_spans_zero_and_uses_saved_names():
    lift = pd.DataFrame({
        "segment": [0, 1, 2, 3], "name": ["a", "b", "c", "d"], "users": [5, 6, 7, 8],
        "best_method": ["segment_ease"] * 4, "rival": ["ease"] * 4, "lift": [0.25, -0.1, np.nan, 0.05],
        "low": [0.1, -0.2, np.nan, -0.02], "high": [0.4, -0.01, np.nan, 0.12],
        "hurts": [False, True, False, False], "clear": [True, True, False, False],
    })
    frame = lift_frame(lift, {0: "Coffee fans"})
    assert frame["label"].tolist() == ["Coffee fans", "d", "b"]
    assert frame["lift_pct"].round(1).tolist() == [25.0, 5.0, -10.0]
    assert frame["low_pct"].round(1).tolist() == [10.0, -2.0, -20.0]
    assert frame["verdict"].tolist() == ["helps", "unclear", "hurts"]


def test_lift_frame_leaves_out_segments_where_both_methods_made_the_same_hits():
    """Issue 20: the per-segment chart was empty bars at 0."""
    lift = pd.DataFrame({
        "segment": [0, 1], "name": ["a", "b"], "users": [5, 6], "best_method": ["segment_ease"] * 2,
        "rival": ["ease"] * 2, "lift": [0.0, 0.0], "low": [0.0, -0.1], "high": [0.0, 0.1],
        "hurts": [False, False], "clear": [False, False],
    })
    # Segment 0's methods hit the same users; segment 1's differ user by user though the mean lift is 0.
    assert lift_frame(lift, {})["label"].tolist() == ["b"]
    assert lift_frame(lift.iloc[:1], {}).empty


def _unit(rows: int, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(rows, 4)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_user_recommendations_put_picks_beside_popularity_and_show_item_names(comments):
    user_ids = np.array(["u1", "u2", "u3"], dtype=object)
    fitted = fit_run_recommenders(comments, user_ids, _unit(3), np.array([0, 0, 1]), _unit(5, 1),
                                  method="segment_popularity")
    recs = UserRecommendations(fitted, ItemLabels(names={"i2": "Lemon cake"}))
    ours, popular, answered_by = recs.for_user("u2", 5)
    assert recs.has_items and list(ours.columns) == ["rank", "item", "score", "reason"]
    assert "i1" not in set(ours["item"]) and "i1" not in set(popular["item"])  # u2 has it already
    assert popular["item"].iloc[0] == "Lemon cake"  # i2, chosen by two users, shown by its name
    assert answered_by == "the most popular items of the user's segment"


def test_user_recommendations_without_items_suggest_peer_comments(comments):
    frame = comments.frame.drop(columns=["item_id"])
    plain = from_frame(frame, source="t.csv", item_col="")
    user_ids = np.array(["u1", "u2", "u3"], dtype=object)
    recs = UserRecommendations(fit_run_recommenders(plain, user_ids, _unit(3), np.array([0, 0, 1]), _unit(5, 1)))
    ours, popular, _ = recs.for_user("u2", 5)
    assert popular is None and recs.method == "segment_comments"
    assert set(ours["item"]) == {"short", "a much longer comment by u1"}  # u1 is u2's only peer


def test_quality_cards_name_the_users_each_score_covers_where_some_are_noise() -> None:
    from sklearn.datasets import make_blobs

    from segmentation.cluster.metrics import quality

    X, y = make_blobs(n_samples=200, centers=3, random_state=0)
    y[:50] = -1
    cards = {c.label: c for c in quality_cards({**quality(X, y), "stability": 0.9}, 200)}
    assert cards["Users in a segment"].value == "75%"
    for score in ("Silhouette", "Calinski–Harabasz", "Davies–Bouldin"):
        assert "50 noise users (25%) are left out" in cards[f"{score} (75% of users)"].help
    everyone = {c.label: c for c in quality_cards({**quality(X[50:], y[50:]), "stability": 0.9}, 150)}
    assert everyone["Users in a segment"].value == "100%" and "Computed on every user" in everyone["Silhouette"].help
    # A run saved before coverage was recorded reads it from its noise count.
    old = {k: v for k, v in quality(X, y).items() if k != "coverage"} | {"stability": float("nan")}
    cards = {c.label: c for c in quality_cards(old, 200)}
    assert cards["Users in a segment"].value == "75%" and cards["Stability"].value == "–"


def test_the_quality_row_reads_in_plain_words_from_the_scores_themselves() -> None:
    from sklearn.datasets import make_blobs

    from segmentation.cluster.metrics import quality

    X, y = make_blobs(n_samples=300, centers=3, cluster_std=0.3, random_state=0)
    apart = quality_reading({**quality(X, y), "stability": 0.95}, 300)
    assert "clearly apart" in apart and "not an accident" in apart and "fit no segment" not in apart
    rng = np.random.default_rng(0)
    blur = rng.normal(size=(300, 5))
    mixed = quality_reading({**quality(blur, rng.integers(0, 3, 300)), "stability": 0.4}, 300)
    assert "overlap a lot" in mixed and "change when the users are resampled" in mixed
    noisy = y.copy()
    noisy[:60] = -1
    assert "20% of users fit no segment" in quality_reading({**quality(X, noisy), "stability": 0.9}, 300)


def test_stability_words_read_unstable_below_06() -> None:
    from segmentation.present.views import stability_words

    assert stability_words(0.55).startswith("0.55: unstable")
    assert stability_words(0.6).startswith("0.60: stable")
    assert stability_words(float("nan")) == "not measured"


def test_a_users_membership_reads_as_their_segments_weights_and_says_when_they_sit_between() -> None:
    from segmentation.cluster.membership import membership_columns
    from segmentation.present.views import membership_words

    space = np.array([[-1.0, 0.0], [-1.0, -0.1], [1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [0.1, 0.0], [-1.0, 0.1]])
    labels = np.array([0, 0, 1, 1, 2, 0, 0])
    table = pd.DataFrame({"user_id": [f"u{i}" for i in range(7)], "segment": labels,
                          **membership_columns(space, labels)})
    names = {0: "Bakers", 1: "Grillers", 2: "Vegans"}
    clear = membership_words(table, "u6", names)
    assert clear.startswith(f"{table['weight'][6]:.0%} in Bakers; also near ") and "Between" not in clear
    assert "Between segments" in membership_words(table, "u5", names)
    assert membership_words(table.drop(columns=["weight"]), "u5", names) is None
