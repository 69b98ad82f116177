"""The map names its places without overlap, samples large maps, and its searches find the right users."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from segmentation.core.errors import ConfigError
from segmentation.ingest.io import from_frame
from segmentation.pipeline.config import SegmentConfig
from segmentation.pipeline.segment import prepare
from segmentation.present.maps import (
    MIN_SAMPLE_PER_SEGMENT,
    MeaningSearch,
    WordSearch,
    label_positions,
    rows_in_selection,
    sample_rows,
    selected_rows,
)
from segmentation.present.views import map_frame, with_match
from tests.fixtures import labelled_comments
from tests.pages_helpers import array
from ui import charts

WIDTH, HEIGHT, FONT = 900.0, 520.0, 12.0


def overlaps(boxes, x, y) -> list[tuple[int, int]]:
    """Pairs of labels whose text boxes (0.6 em per character, one line high) cross on a WIDTH×HEIGHT plot."""
    sx, sy = WIDTH / np.ptp(x), HEIGHT / np.ptp(y)
    found = []
    for a, b in itertools.combinations(boxes, 2):
        half_widths = 0.6 * FONT * (len(a.text) + len(b.text)) / 2
        if abs(a.x - b.x) * sx < half_widths and abs(a.y - b.y) * sy < 1.2 * FONT:
            found.append((a.segment, b.segment))
    return found


def test_labels_of_crowded_segments_never_overlap_and_smaller_segments_give_way():
    rng = np.random.default_rng(0)
    # Nineteen segments whose centres nearly coincide, as UMAP folds them together (issue 20: 19 labels
    # overlapped); segment s has 20 + s users, so the largest have the highest ids.
    segments = np.concatenate([np.full(20 + s, s) for s in range(19)])
    x = rng.normal(0, 1, len(segments)) + segments * 0.05
    y = rng.normal(0, 1, len(segments))
    labels = {s: f"Segment number {s} talks about things" for s in range(19)}
    boxes = label_positions(x, y, segments, labels, width_px=WIDTH, height_px=HEIGHT, font_px=FONT)
    assert overlaps(boxes, x, y) == []
    kept = [b.segment for b in boxes]
    assert kept == sorted(kept) and 0 < len(kept) < 19
    # Placed largest first: the largest segment is named at its centre, labels left off are of smaller ones.
    largest = boxes[-1]
    assert largest.segment == 18 and (largest.x, largest.y) == (largest.anchor_x, largest.anchor_y)
    for box in boxes:  # the anchor stays at the segment's median, the label near it
        assert box.anchor_x == pytest.approx(np.median(x[segments == box.segment]))
        assert abs(box.y - box.anchor_y) * HEIGHT / np.ptp(y) <= 4 * 1.5 * FONT


def test_a_segment_left_off_the_map_labels_keeps_its_name_in_the_legend_and_hover():
    rng = np.random.default_rng(1)
    # Twenty segments on one spot; the smallest, named with markup, cannot get a label.
    segments = np.concatenate([np.full(40 - s, s) for s in range(20)])
    x, y = rng.normal(size=len(segments)), rng.normal(size=len(segments))
    labels = {s: f"A long name for segment {s}" for s in range(19)} | {19: "Tiny <i>group</i> of a few users"}
    boxes = label_positions(x * 0.01, y * 0.01, segments, labels, width_px=WIDTH, height_px=HEIGHT, font_px=FONT)
    assert 19 not in {b.segment for b in boxes}
    frame = map_frame(pd.DataFrame({"user_id": [f"u{i}" for i in range(len(segments))], "segment": segments,
                                    "x": x, "y": y}), labels, ["c"] * len(segments))
    fig = charts.segment_map(frame, charts.segment_colours(labels), names=boxes)
    assert "Tiny &lt;i&gt;group&lt;/i&gt; of a few users" in {t.name for t in fig.data}
    assert "Tiny &lt;i&gt;group&lt;/i&gt; of a few users" not in {a.text for a in fig.layout.annotations}


def test_labels_of_separate_segments_sit_at_their_centres_and_noise_gets_none():
    segments = np.array([0] * 5 + [1] * 5 + [-1] * 3)
    x = np.array([0, 0.1, 0.2, 0.1, 0.1, 10, 10.1, 10.2, 10.1, 10.1, 5, 5, 5])
    y = np.array([0, 0.1, 0.2, 0.1, 0.1, 10, 10.1, 10.2, 10.1, 10.1, 5, 5, 5])
    boxes = label_positions(x, y, segments, {0: "Coffee", 1: "Running", -1: "Noise"})
    assert [(b.segment, b.text) for b in boxes] == [(0, "Coffee"), (1, "Running")]
    assert (boxes[0].x, boxes[0].y) == (pytest.approx(0.1), pytest.approx(0.1))
    assert (boxes[1].x, boxes[1].y) == (boxes[1].anchor_x, boxes[1].anchor_y)


def test_a_large_map_draws_a_stratified_sample_that_keeps_small_segments_and_highlighted_users():
    segments = np.array([0] * 45_000 + [1] * 4_970 + [2] * 30)
    rows = sample_rows(segments, limit=10_000, keep=[7, 8], seed=1)
    assert 9_900 <= len(rows) <= 10_100
    assert np.all(np.diff(rows) > 0)
    assert {7, 8} <= set(rows.tolist())
    drawn = np.bincount(segments[rows])
    assert drawn[2] == 30  # a tiny segment is drawn whole
    assert drawn[1] >= MIN_SAMPLE_PER_SEGMENT and abs(drawn[1] / len(rows) - 0.0994) < 0.01
    assert len(sample_rows(segments[:500], limit=10_000)) == 500


def test_word_search_finds_exactly_the_users_who_wrote_the_words():
    frame = labelled_comments(users_per_group=6, comments_per_user=3, seed=2)
    comments = from_frame(frame)
    users = frame["user_id"].drop_duplicates().to_numpy()
    found = WordSearch(comments, users).users_with("ESPRESSO")
    wrote = set(frame.loc[frame["text"].str.lower().str.contains("espresso"), "user_id"])
    assert set(users[found]) == wrote and wrote
    both = WordSearch(comments, users).users_with("espresso crema")
    assert set(users[both]) <= wrote
    assert not WordSearch(comments, users).users_with("   ").any()


def test_meaning_search_with_the_runs_encoder_finds_comments_of_the_right_group():
    frame = labelled_comments(users_per_group=8, comments_per_user=3, seed=4)
    comments = from_frame(frame)
    prepared = prepare(comments, SegmentConfig(encoder="tfidf"), with_map=False)
    found = MeaningSearch(prepared).nearest("trail shoes for a long run", n=10)
    group = frame.drop_duplicates("user_id").set_index("user_id")["true_group"]
    assert list(found.columns) == ["user_id", "text", "similarity"]
    assert (group.loc[found["user_id"]] == "running").mean() >= 0.8
    assert found["similarity"].is_monotonic_decreasing


def test_one_meaning_search_kept_per_run_answers_every_query_with_the_closest_comments(fast_home, monkeypatch):
    # The fast encoder compares the query with the run's own embeddings (no refit), which the search keeps
    # normalised between queries; the answer must be the plain cosine ranking of those embeddings.
    monkeypatch.setenv("SEGMENT_STUDIO_HOME", str(fast_home))
    from segmentation.embed.fast import FastEncoder

    frame = labelled_comments(users_per_group=8, comments_per_user=3, seed=4)
    prepared = prepare(from_frame(frame), SegmentConfig(encoder="fast"), with_map=False)
    search = MeaningSearch(prepared)
    group = frame.drop_duplicates("user_id").set_index("user_id")["true_group"]
    texts = prepared.comments.frame["text"].to_numpy()
    for query, wanted in (("trail shoes for a long run", "running"), ("espresso with a thick crema", "coffee")):
        found = search.nearest(query, n=10)
        query_vector = FastEncoder().encode([query])[0]
        cosine = prepared.embeddings @ query_vector / (np.linalg.norm(prepared.embeddings, axis=1)
                                                       * np.linalg.norm(query_vector))
        assert list(found["text"]) == list(texts[np.argsort(-cosine, kind="stable")[:10]])
        assert np.allclose(found["similarity"], np.sort(cosine)[::-1][:10], atol=1e-3)
        assert (group.loc[found["user_id"]] == wanted).mean() > 0.5  # most of them: the static encoder is coarse
    with pytest.raises(ConfigError):
        search.nearest("   ")


def test_the_map_figure_carries_one_label_per_segment_and_isolates_a_segment_on_legend_click():
    rng = np.random.default_rng(0)
    n = 60
    assignments = pd.DataFrame({"user_id": [f"u{i}" for i in range(n)], "segment": np.repeat([0, 1, 2], 20),
                                "x": rng.normal(size=n) + np.repeat([0, 5, 10], 20), "y": rng.normal(size=n)})
    labels = {0: "Coffee <b>lovers</b>", 1: "Runners", 2: "Gardeners"}
    frame = map_frame(assignments, labels, ["c"] * n, match=np.arange(n) < 4)
    boxes = label_positions(frame["x"], frame["y"], frame["segment"], labels)
    fig = charts.segment_map(frame, charts.segment_colours(labels), names=boxes, contours=True)
    texts = [a.text for a in fig.layout.annotations]
    assert sorted(texts) == sorted(["Coffee &lt;b&gt;lovers&lt;/b&gt;", "Runners", "Gardeners"])
    assert fig.layout.legend.itemclick == "toggleothers"
    assert any(t.type == "histogram2dcontour" for t in fig.data)
    assert sum(len(t.x) for t in fig.data if t.name and t.name.startswith("Search matches")) == 4


def test_twenty_segments_get_twenty_distinct_colour_and_shape_pairs():
    labels = {s: f"s{s}" for s in range(20)} | {-1: "noise"}
    colours = charts.segment_colours(labels)
    symbols = charts.segment_symbols_for(colours)
    pairs = {(colours[f"s{s}"], symbols[f"s{s}"]) for s in range(20)}
    assert len(pairs) == 20
    assert colours["noise"] == charts.NOISE_COLOUR
    assert charts.NOISE_COLOUR not in {colours[f"s{s}"] for s in range(20)}


def test_users_between_segments_get_a_legend_entry_of_their_own_off_until_clicked():
    from segmentation.cluster.membership import membership_columns

    rng = np.random.default_rng(1)
    n = 90
    xy = np.column_stack([rng.normal(size=n) + np.repeat([0, 2, 4], 30), rng.normal(size=n)])
    labels = np.repeat([0, 1, 2], 30)
    assignments = pd.DataFrame({"user_id": [f"u{i}" for i in range(n)], "segment": labels, "x": xy[:, 0],
                                "y": xy[:, 1], **membership_columns(xy, labels)})
    assert 0 < assignments["between"].sum() < n
    frame = map_frame(assignments, {0: "a", 1: "b", 2: "c"}, ["c"] * n)
    fig = charts.segment_map(frame, charts.segment_colours({0: "a", 1: "b", 2: "c"}))
    between = [t for t in fig.data if t.name and t.name.startswith("Between segments")]
    assert len(between) == 1 and between[0].visible == "legendonly"
    assert len(between[0].x) == assignments["between"].sum()
    without = charts.segment_map(map_frame(assignments.drop(columns="between"), {}, ["c"] * n), {})
    assert not [t for t in without.data if t.name and t.name.startswith("Between")]


def test_a_lasso_or_box_selects_every_user_inside_its_shape_drawn_on_the_map_or_not():
    rng = np.random.default_rng(3)
    x, y = rng.uniform(0, 10, 20_000), rng.uniform(0, 10, 20_000)
    # An L-shaped lasso (concave), given as the browser reports it: its outline in data units, not closed.
    l_shape = {"x": [1, 6, 6, 3, 3, 1], "y": [1, 1, 3, 3, 8, 8]}
    in_l = ((x > 1) & (x < 6) & (y > 1) & (y < 3)) | ((x > 1) & (x < 3) & (y >= 3) & (y < 8))
    assert np.array_equal(rows_in_selection(x, y, {"lasso": [l_shape], "box": []}), in_l)
    # A triangle, checked with barycentric coordinates; a box with its corners in either order; both at once.
    triangle = {"x": [5, 9, 5], "y": [5, 5, 9]}
    in_triangle = (x > 5) & (y > 5) & (x - 5 + y - 5 < 4)
    box = {"x": [9.5, 7], "y": [2, 0.5]}
    in_box = (x >= 7) & (x <= 9.5) & (y >= 0.5) & (y <= 2)
    both = rows_in_selection(x, y, {"lasso": [triangle], "box": [box]})
    assert np.array_equal(both, in_triangle | in_box)
    assert not rows_in_selection(x, y, {"lasso": [], "box": []}).any()


def test_a_selection_on_a_sampled_map_takes_the_undrawn_users_inside_and_leaves_out_hidden_segments():
    rng = np.random.default_rng(4)
    n = 12_000
    segments = rng.integers(0, 3, n)
    x, y = rng.uniform(0, 10, n), rng.uniform(0, 10, n)
    drawn = sample_rows(segments, limit=3_000, seed=0)
    lasso = {"x": [0, 5, 5, 0], "y": [0, 0, 10, 10]}
    inside = x < 5
    # Every segment on the map: the browser reports the drawn points inside, the page takes every user inside.
    shown = drawn[inside[drawn]]
    selection = {"points": [{"customdata": int(row)} for row in shown], "lasso": [lasso], "box": []}
    rows = selected_rows(x, y, segments, selection, drawn)
    assert np.array_equal(rows, np.flatnonzero(inside))
    assert len(rows) > 3 * len(shown)
    # Segment 1 shown alone (a legend click): the browser selects only its points, and only its users come back.
    alone = shown[segments[shown] == 1]
    selection = {"points": [{"customdata": int(row)} for row in alone], "lasso": [lasso], "box": []}
    assert np.array_equal(selected_rows(x, y, segments, selection, drawn), np.flatnonzero(inside & (segments == 1)))


def test_the_map_sends_each_point_once_with_its_row_and_writes_the_segment_name_per_trace():
    import json

    import plotly.io

    rng = np.random.default_rng(5)
    n = 3_000
    assignments = pd.DataFrame({"user_id": [f"user-{i}" for i in range(n)], "segment": np.repeat([0, 1, 2], n // 3),
                                "x": rng.normal(size=n), "y": rng.normal(size=n), "between": np.arange(n) % 5 == 0})
    labels = {0: "Coffee <b>lovers</b>", 1: "Runners", 2: "Gardeners"}
    snippets = [f"comment {i} about <things> & more" for i in range(n)]
    frame = map_frame(assignments, labels, snippets, match=np.arange(n) < 3)
    spec = plotly.io.to_json(charts.segment_map(frame, charts.segment_colours(labels)), validate=False)
    traces = {trace["name"]: trace for trace in json.loads(spec)["data"]}
    coffee = traces["Coffee &lt;b&gt;lovers&lt;/b&gt;"]
    rows = array(coffee["customdata"]).astype(int)
    assert rows.tolist() == list(range(n // 3))  # each point names its map row, what a selection reads
    assert list(coffee["text"]) == [f"user-{i}" for i in rows]
    assert coffee["hovertext"][7] == "comment 7 about &lt;things&gt; &amp; more"
    assert np.allclose(array(coffee["x"]), assignments["x"].to_numpy()[rows], atol=1e-6)
    # The segment's name is written once per trace, not once per point; the search matches (mixed segments)
    # name each point's segment.
    assert spec.count("Runners") < 10
    matches = traces["Search matches (3)"]["hovertext"]
    assert [h.split("<br>")[0] for h in matches] == ["Coffee &lt;b&gt;lovers&lt;/b&gt;"] * 3
    # The users between segments are marks over their own points: no hover text of their own.
    between = next(t for name, t in traces.items() if name.startswith("Between segments"))
    assert between["hoverinfo"] == "skip" and "text" not in between and "hovertext" not in between
    assert len(array(between["customdata"])) == n // 5


def test_a_search_sets_only_who_matches_on_a_kept_map_frame():
    assignments = pd.DataFrame({"user_id": ["a<b>", "b", "c"], "segment": [0, 1, 1], "x": [0.0, 1.0, 2.0],
                                "y": [0.0, 1.0, 2.0]})
    labels = {0: "Coffee", 1: "Runners"}
    kept = map_frame(assignments, labels, ["<i>x</i>", "y", "z"])
    searched = with_match(kept, np.array([False, True, True]))
    # The same rows as a frame built with the search, and the kept frame itself untouched.
    pd.testing.assert_frame_equal(searched, map_frame(assignments, labels, ["<i>x</i>", "y", "z"],
                                                      match=np.array([False, True, True])))
    assert not kept["match"].any()
    assert not with_match(kept, None)["match"].any()


def test_a_word_search_kept_for_a_run_finds_the_same_users_as_reading_every_comment():
    frame = labelled_comments(users_per_group=6, comments_per_user=3, seed=5)
    comments = from_frame(frame)
    # The run's users in another order than the comments, and one user the comments do not have.
    users = np.array([*frame["user_id"].drop_duplicates().to_numpy()[::-1], "nobody"], dtype=object)
    finder = WordSearch(comments, users)
    for query in ("espresso", "Crema ESPRESSO", "the", "no-such-word"):
        words = query.casefold().split()
        wrote = {u for u, text in zip(frame["user_id"], frame["text"], strict=True)
                 if all(w in text.casefold() for w in words)}
        assert set(users[finder.users_with(query)]) == wrote
    nearest = pd.DataFrame({"user_id": [users[0]], "text": ["x"], "similarity": [1.0]})
    assert finder.matches("", None) is None
    assert set(users[finder.matches("", nearest)]) == {users[0]}
    with pytest.raises(ConfigError):
        finder.users_with(" ".join(f"w{i}" for i in range(21)))
