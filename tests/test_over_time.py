"""Segments over time (issue 23, item 2): shares of comments and active users per period, rising words, the
biggest change in a sentence, on the Segments page and from the command line.

Expected shares are counted here from the comments with plain pandas; expected changes and words are planted.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from segmentation.cli import main
from segmentation.core.errors import DataError
from segmentation.demo import DEMO_PATH, generate_demo
from segmentation.describe.keywords import term_counts
from segmentation.describe.over_time import MIN_PERIOD_COMMENTS, over_time
from segmentation.ingest.io import from_frame, load_comments
from segmentation.pipeline.config import SegmentConfig
from segmentation.pipeline.segment import cluster_prepared, prepare
from segmentation.present.over_time import change_sentence, for_json, rising_table, shares_csv, shares_frame
from tests.conftest import SHARED_DATA

BLOGS = SHARED_DATA / "blog_industry"
DAY = 86_400


def _segments(comments, k: int, seed: int = 0):
    """A real segmentation: tfidf profiles, k-means (no map: it is not needed here)."""
    config = SegmentConfig(encoder="tfidf", algorithm="kmeans", k=k, seed=seed)
    return cluster_prepared(prepare(comments, config, with_map=False), config)


def _month(frame: pd.DataFrame) -> pd.Series:
    return frame["time"].dt.tz_convert(None).dt.to_period("M")


# Library, real sets ------------------------------------------------------------------------------------------


def test_recipe_shares_per_month_are_the_comments_and_active_users_of_each_segment(recipes_dir):
    comments = load_comments(recipes_dir / "recipe_reviews_users_ge2.csv.gz")
    result = _segments(comments, k=4)
    found = over_time(comments, result.user_ids, result.labels)
    # The central 98 % of these reviews span about 13 months: months, not weeks (57) or quarters.
    assert found.unit == "month"
    frame = comments.frame.assign(month=_month(comments.frame),
                                  segment=pd.Series(result.labels, index=result.user_ids)
                                  .reindex(comments.frame["user_id"]).to_numpy())
    months = [p.start.strftime("%Y-%m") for p in found.periods]
    assert months == sorted(months) and len(set(months)) == len(months)
    shown = shares_frame(found, {s.id: s.name for s in result.segments})
    for period in found.periods:
        rows = frame[frame["month"] == pd.Period(period.start.strftime("%Y-%m"), "M")]
        assert period.comments == len(rows) and period.users == rows["user_id"].nunique()
        for segment in found.segments:
            mine = rows[rows["segment"] == segment.segment]
            row = shown[(shown["period"] == period.label) & (shown["segment"] == segment.segment)].iloc[0]
            assert row["comments"] == len(mine)
            if len(rows):
                assert row["comment_share"] == pytest.approx(len(mine) / len(rows))
                assert row["user_share"] == pytest.approx(mine["user_id"].nunique() / rows["user_id"].nunique())
            else:
                assert np.isnan(row["comment_share"])
    # The end periods each hold enough comments to be read; what lies outside them is said.
    assert found.periods[0].comments >= MIN_PERIOD_COMMENTS <= found.periods[-1].comments
    kept = sum(p.comments for p in found.periods)
    left_out = len(frame) - kept
    assert (left_out == 0) == (not any("left out" in n for n in found.notes)), found.notes
    # The sentence names a real segment with the shares counted here.
    big = found.biggest
    last = frame["month"] == pd.Period(found.periods[-1].start.strftime("%Y-%m"), "M")
    earlier = frame["month"] < pd.Period(found.periods[-1].start.strftime("%Y-%m"), "M")
    earlier &= frame["month"] >= pd.Period(found.periods[0].start.strftime("%Y-%m"), "M")
    before_share = (frame.loc[earlier, "segment"] == big.segment).mean()
    last_share = (frame.loc[last, "segment"] == big.segment).mean()
    names = {s.id: s.name for s in result.segments}
    sentence = change_sentence(found, names)
    assert f"“{names[big.segment]}”" in sentence
    assert f"{100 * before_share:.0f} % of comments in {found.periods[0].label} – {found.periods[-2].label}" in sentence
    assert f"to {100 * last_share:.0f} % in {found.periods[-1].label}" in sentence


def test_blog_posts_years_before_the_rest_do_not_stretch_the_periods_and_are_left_out_with_a_note():
    if not BLOGS.is_dir():
        pytest.skip(f"real blog data not found at {BLOGS} (the shared data folder is absent)")
    raw = pd.read_csv(BLOGS / "comments.csv.gz")
    users = sorted(raw["user_id"].unique())[:300]  # a slice: 300 bloggers, every post they kept
    comments = from_frame(raw[raw["user_id"].isin(users)].drop(columns="label"), source="blogs")
    labels = pd.Categorical(raw.drop_duplicates("user_id").set_index("user_id")["label"].reindex(users)).codes
    found = over_time(comments, users, labels)
    # Posts run from 1999 to 2006 but nearly all are from 2003-2004: months, and the scattered years are cut.
    assert found.unit == "month"
    frame = comments.frame[comments.frame["time"].notna()]
    counts = _month(frame).value_counts().sort_index()
    full = counts[counts >= MIN_PERIOD_COMMENTS].index
    assert found.periods[0].label == full[0].start_time.strftime("%b %Y")
    assert found.periods[-1].label == full[-1].start_time.strftime("%b %Y")
    before = int(counts[counts.index < full[0]].sum())
    after = int(counts[counts.index > full[-1]].sum())
    assert before  # posts from 1999-2003 in this slice
    for count, side in ((before, "before"), (after, "after")):
        assert any(n.startswith(f"{count:,} comments {side}") for n in found.notes) == bool(count), found.notes
    assert sum(p.comments for p in found.periods) == len(frame) - before - after
    json.dumps(for_json(found, {}), allow_nan=False)
    # Bloggers write up to 25 posts, most of them in the last months: users drawn into segments at random move a
    # segment's share of comments by several points, which the redraws over users call chance.
    terms = term_counts(comments.frame["text"].to_numpy())
    for seed in range(3):
        drawn = over_time(comments, users, np.random.default_rng(seed).integers(0, 6, len(users)), terms=terms)
        assert not drawn.beyond_chance and drawn.biggest.p_value > 0.05, (seed, drawn.biggest)


# Library, planted changes and words --------------------------------------------------------------------------


def _demo_with_segments(seed: int, n_users: int, language: str = "en"):
    frame = generate_demo(seed, n_users=n_users, language=language)
    comments = from_frame(frame, source="demo")
    user_ids = np.array(sorted(comments.frame["user_id"].unique()))
    return frame, comments, user_ids


def test_a_segment_of_the_users_active_in_the_last_month_grows_beyond_chance_and_the_sentence_says_so():
    frame, comments, user_ids = _demo_with_segments(5, 400)
    month = _month(comments.frame)
    last_month = month.max()
    recent = set(comments.frame.loc[month == last_month, "user_id"])
    labels = np.isin(user_ids, list(recent)).astype(int)
    found = over_time(comments, user_ids, labels)
    assert found.unit == "month" and len(found.periods) == 12
    grown = found.segment(1)
    in_recent = comments.frame["user_id"].isin(recent)
    assert grown.last == 1.0  # every comment of the last month is by one of them
    assert grown.before == pytest.approx(in_recent[month < last_month].mean())
    assert found.biggest.segment in (0, 1) and found.beyond_chance
    assert found.biggest.p_value == pytest.approx(1 / 1000)  # no redraw of 999 moves as much
    sentence = change_sentence(found, {0: "the others", 1: "Recent buyers"})
    assert sentence.startswith(f"Segment “{'Recent buyers' if found.biggest.segment == 1 else 'the others'}”")
    assert "% of comments in Jan 2024 – Nov 2024 to " in sentence and "more than chance would give" in sentence


def test_users_drawn_into_segments_at_random_show_no_change_beyond_chance():
    _, comments, user_ids = _demo_with_segments(6, 600)
    labels = np.random.default_rng(0).integers(0, 4, len(user_ids))
    found = over_time(comments, user_ids, labels)
    assert not found.beyond_chance
    assert "chance alone could give a move this size" in change_sentence(found, {})
    table = rising_table(found, {})
    assert (table["beyond_chance"] == "").all()


def test_a_word_planted_in_one_segments_last_month_rises_there_and_nowhere_else():
    frame = generate_demo(7, n_users=300)
    times = pd.to_datetime(frame["timestamp"], unit="s")
    segment_of = {u: i % 3 for i, u in enumerate(sorted(frame["user_id"].unique()))}
    planted = (times.dt.month == 12) & (frame["user_id"].map(segment_of) == 2)
    frame.loc[planted, "text"] += " The zephyrwood edition arrived."
    frame.loc[(times.dt.month == 3) & (frame["user_id"].map(segment_of) == 0), "text"] += " zephyrwood"
    comments = from_frame(frame, source="planted")
    user_ids = np.array(sorted(segment_of))
    found = over_time(comments, user_ids, np.array([segment_of[u] for u in user_ids]))
    assert found.segment(2).rising[0] in ("zephyrwood", "zephyrwood edition")
    # Segment 0 used the word in March only: it did not rise in December.
    assert not any("zephyrwood" in w for s in (0, 1) for w in found.segment(s).rising)


def test_chinese_rising_words_are_whole_words():
    frame = generate_demo(8, n_users=300, language="zh")
    times = pd.to_datetime(frame["timestamp"], unit="s")
    segment_of = {u: i % 2 for i, u in enumerate(sorted(frame["user_id"].unique()))}
    planted = (times.dt.month == 12) & (frame["user_id"].map(segment_of) == 1)
    frame.loc[planted, "text"] += "，下暴雨也照样用。"
    comments = from_frame(frame, source="planted-zh")
    user_ids = np.array(sorted(segment_of))
    found = over_time(comments, user_ids, np.array([segment_of[u] for u in user_ids]))
    rising = found.segment(1).rising
    assert rising[0] == "暴雨", rising
    assert all(len(w) > 1 for w in rising)
    assert "暴雨" not in found.segment(0).rising


# Bad input ---------------------------------------------------------------------------------------------------


def _labels(comments):
    user_ids = np.array(sorted(comments.frame["user_id"].unique()))
    return user_ids, np.arange(len(user_ids)) % 3


def test_no_time_column_one_day_and_too_few_periods_each_say_why_nothing_is_shown():
    frame = generate_demo(9, n_users=200)
    no_time = from_frame(frame.drop(columns="timestamp"), source="no-time.csv")
    with pytest.raises(DataError, match="no time column"):
        over_time(no_time, *_labels(no_time))

    one_day = frame.assign(timestamp=1704067200 + frame.index % 3600)
    comments = from_frame(one_day, source="one-day.csv")
    with pytest.raises(DataError, match=r"every comment is from one day \(2024-01-01\)"):
        over_time(comments, *_labels(comments))

    # Two weeks of comments: weeks are the finest unit, and two are too few to show a change.
    two_weeks = frame.assign(timestamp=1704067200 + (frame.index % 14) * DAY)  # Mon 1 Jan 2024, 14 days
    comments = from_frame(two_weeks, source="two-weeks.csv")
    with pytest.raises(DataError, match="fill only 2 weeks .* at least 3 are needed"):
        over_time(comments, *_labels(comments))

    # A time column the loader cannot read at all is no time column; one half unreadable is used, with a note.
    unreadable = from_frame(frame.assign(timestamp="soon"), source="words.csv")
    with pytest.raises(DataError, match="no time column"):
        over_time(unreadable, *_labels(unreadable))
    half = frame.assign(timestamp=frame["timestamp"].astype(object).where(frame.index % 2 == 0, "soon"))
    comments = from_frame(half, source="half.csv")
    found = over_time(comments, *_labels(comments))
    assert f"{(frame.index % 2 == 1).sum():,} comments have no readable time and are left out" in found.notes
    assert sum(p.comments for p in found.periods) == (frame.index % 2 == 0).sum()


def test_a_csv_download_neutralises_a_name_typed_as_a_formula():
    _, comments, user_ids = _demo_with_segments(10, 200)
    found = over_time(comments, user_ids, np.arange(len(user_ids)) % 2)
    text = shares_csv(found, {0: "=HYPERLINK(\"http://x\")", 1: "plain"}).decode("utf-8")
    assert "'=HYPERLINK" in text and "\n=HYPERLINK" not in text.replace(",=", "\n=")


# The command line --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_cli_over_time_prints_the_shares_for_a_saved_run_and_refuses_a_file_without_times(tmp_path, capsys):
    data = tmp_path / "demo.csv"
    frame = generate_demo(11, n_users=200)
    frame.to_csv(data, index=False)
    assert main(["segment", str(data), "--out", str(tmp_path / "out"), "--encoder", "tfidf", "--k", "3"]) == 0
    assignments = pd.read_csv(tmp_path / "out" / "assignments.csv")
    capsys.readouterr()

    assert main(["over-time", str(data)]) == 0
    captured = capsys.readouterr()
    printed = json.loads(captured.out)
    assert printed["unit"] == "month" and len(printed["periods"]) == 12
    segment_of = assignments.set_index("user_id")["segment"]
    times = pd.to_datetime(frame["timestamp"], unit="s")
    december = frame[times.dt.month == 12]
    for record in printed["segments"]:
        expected = (segment_of.reindex(december["user_id"]) == record["segment"]).mean()
        assert record["comment_share"][-1] == pytest.approx(expected, abs=1e-6)
    assert printed["sentence"] in captured.err and printed["sentence"].startswith("Segment “")

    assert main(["over-time", str(data), "--run", "nosuchrun"]) == 2
    assert "no saved run 'nosuchrun'" in capsys.readouterr().err

    plain = tmp_path / "no-times.csv"
    frame.drop(columns="timestamp").to_csv(plain, index=False)
    assert main(["segment", str(plain), "--out", str(tmp_path / "out2"), "--encoder", "tfidf", "--k", "3"]) == 0
    capsys.readouterr()
    assert main(["over-time", str(plain)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the data has no time column") and err.count("\n") == 1


# The Segments page -------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_segments_page_draws_the_shares_per_month_with_escaped_names_and_switches_to_active_users():
    from tests.pages_helpers import array, figure, run_segmentation, start, texts
    from tests.test_pages_segments import name_key, segments_page

    at = segments_page(run_segmentation(start(), k=4))
    at.text_input(key=name_key(at, 0)).input("Espresso <b>lovers</b>").run()
    at = segments_page(at)
    run = at.session_state["run"]
    chart = figure(at, "Share of comments per month, by segment")
    legend = [trace["name"] for trace in chart["data"]]
    assert "Espresso &lt;b&gt;lovers&lt;/b&gt;" in legend and "Espresso <b>lovers</b>" not in legend
    shares = np.array([array(trace["y"]).astype(float) for trace in chart["data"]])
    assert shares.shape == (4, 12) and np.allclose(shares.sum(axis=0), 1.0)
    # Counted here from the demo file the page loaded: segment 0's share of December's comments.
    frame = pd.read_csv(DEMO_PATH, dtype={"user_id": str})
    december = frame[pd.to_datetime(frame["timestamp"], unit="s").dt.month == 12]
    segment_of = pd.Series(run.result.labels, index=run.result.user_ids)
    december = segment_of.reindex(december["user_id"])
    position = legend.index("Espresso &lt;b&gt;lovers&lt;/b&gt;")
    assert shares[position, -1] == pytest.approx((december == 0).mean())
    assert any(t.startswith("Segment “") and "Dec 2024" in t for t in texts(at))
    assert any(frame.value.columns.tolist()[:2] == ["segment", "name"] and "rising" in frame.value.columns
               for frame in at.dataframe)

    at.radio(key="over_time_of").set_value("users").run()
    assert not at.exception, at.exception
    users_chart = figure(at, "Share of active users per month, by segment")
    assert len(users_chart["data"]) == 4


@pytest.mark.slow
def test_segments_page_says_why_nothing_is_shown_for_a_file_without_times():
    from tests.pages_helpers import run_segmentation, start, unescape_markdown
    from tests.test_pages_segment import upload
    from tests.test_pages_segments import segments_page

    frame = generate_demo(12, n_users=60).drop(columns=["timestamp", "true_taste"])
    at = segments_page(run_segmentation(upload(start(), frame, name="no-times.csv"), k=3))
    shown = [unescape_markdown(i.value) for i in at.info]
    assert any(s.startswith("Nothing to show over time: the data has no time column") for s in shown), shown
    assert not at.get("plotly_chart") or all(
        "per month" not in json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart"))
