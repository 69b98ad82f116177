"""Behaviour profile per segment (issue 23, item 1): figures per user against the other users, activity tiers,
in segments.json, from the command line and on the Segments page.

Expected values are computed here from the comments with plain pandas, never read off the profile.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from segmentation.cli import main
from segmentation.demo import generate_demo
from segmentation.describe.behaviour import ALPHA, behaviour_profile
from segmentation.describe.export import segments_json
from segmentation.ingest.io import from_frame, load_comments
from segmentation.pipeline.config import SegmentConfig
from segmentation.pipeline.segment import cluster_prepared, prepare
from segmentation.present.behaviour import figures_table, overview_table, value_table
from tests.conftest import SHARED_DATA

BLOGS = SHARED_DATA / "blog_industry"


@pytest.fixture
def blogs_dir() -> Path:
    if not BLOGS.is_dir():
        pytest.skip(f"real blog data not found at {BLOGS} (the shared data folder is absent)")
    return BLOGS


def _segments(comments, k: int, seed: int = 0):
    """A real segmentation: tfidf profiles, k-means in PCA space (no map: it is not needed here)."""
    config = SegmentConfig(encoder="tfidf", algorithm="kmeans", k=k, seed=seed)
    return cluster_prepared(prepare(comments, config, with_map=False), config)


def _per_user(frame: pd.DataFrame) -> pd.DataFrame:
    """Per-user figures computed here, independently of the module under test."""
    grouped = frame.groupby("user_id")
    out = pd.DataFrame({"comments": grouped.size()})
    if "time" in frame:
        now = frame["time"].max()
        out["span"] = (grouped["time"].max() - grouped["time"].min()).dt.total_seconds() / 86400
        out["since_last"] = (now - grouped["time"].max()).dt.total_seconds() / 86400
        out["first_ago"] = (now - grouped["time"].min()).dt.total_seconds() / 86400
    if "rating" in frame:
        out["rating"] = grouped["rating"].mean()
    return out


# Library, real sets --------------------------------------------------------------------------------


@pytest.mark.slow
def test_recipe_segments_report_activity_recency_and_ratings_as_the_comments_give_them(recipes_dir):
    comments = load_comments(recipes_dir / "recipe_reviews_users_ge2.csv.gz")
    result = _segments(comments, k=4)
    profile = behaviour_profile(comments, result.user_ids, result.labels)
    users = _per_user(comments.frame).reindex(result.user_ids)
    assert profile.n_users == len(users) and not profile.notes
    for segment in profile.segments:
        mine = users[result.labels == segment.segment]
        assert segment.users == len(mine)
        for key, column in [("comments_per_user", "comments"), ("active_span_days", "span"),
                            ("days_since_last", "since_last"), ("user_mean_rating", "rating")]:
            figure = segment.figure(key)
            assert figure.value == pytest.approx(mine[column].mean(), rel=1e-4), key
            assert figure.overall == pytest.approx(users[column].mean(), rel=1e-4), key
            assert figure.test == "Mann-Whitney U" and 0 <= figure.p_value <= figure.q_value <= 1
        assert segment.figure("user_mean_rating").spread == pytest.approx(mine["rating"].std(), rel=1e-4)
        assert sum(segment.tiers.values()) == segment.users
    # Every user here wrote two or more comments; loyal users wrote at least the upper quartile.
    counts = users["comments"]
    assert profile.tier_rule.loyal_min_comments == max(2, math.ceil(counts.quantile(0.75)))
    loyal = sum(s.tiers["loyal"] for s in profile.segments)
    assert loyal == int((counts >= profile.tier_rule.loyal_min_comments).sum())


def test_recipe_users_split_by_activity_differ_where_planted_and_not_where_drawn_at_random(recipes_dir):
    comments = load_comments(recipes_dir / "recipe_reviews_full.csv.gz")
    users = _per_user(comments.frame)
    planted = (users["comments"] >= 2).astype(int).to_numpy()
    profile = behaviour_profile(comments, users.index.to_numpy(), planted)
    heavy = profile.segment(1)
    assert heavy.figure("comments_per_user").differs and heavy.figure("comments_per_user").q_value < 1e-6
    assert heavy.figure("tier=loyal").value == 1.0  # loyal: 2+ comments, where most users wrote one
    assert heavy.figure("tier=loyal").test == "chi-square"
    assert heavy.figure("tier=loyal").lift == pytest.approx(1 / planted.mean())

    drawn = np.random.default_rng(3).integers(0, 4, len(users))
    random = behaviour_profile(comments, users.index.to_numpy(), drawn)
    marked = [f.label for s in random.segments for f in s.figures if f.differs]
    assert marked == [], marked


def test_blog_attributes_from_users_csv_are_compared_as_shares_and_means(blogs_dir):
    raw = pd.read_csv(blogs_dir / "comments.csv.gz")
    people = pd.read_csv(blogs_dir / "users.csv")[["user_id", "gender", "age"]]
    comments = from_frame(raw.merge(people, on="user_id"), source="blogs")
    industry = pd.read_csv(blogs_dir / "users.csv").set_index("user_id")["label"]
    user_ids = np.array(sorted(comments.frame["user_id"].unique()))
    codes = pd.Categorical(industry.reindex(user_ids))
    profile = behaviour_profile(comments, user_ids, codes.codes)
    people = people.set_index("user_id").reindex(user_ids)

    technology = profile.segment(list(codes.categories).index("Technology"))
    female = technology.figure("gender=female")
    in_tech = codes == "Technology"
    expected = (people.loc[in_tech, "gender"] == "female").mean()
    overall = (people["gender"] == "female").mean()
    assert female.value == pytest.approx(expected) and female.overall == pytest.approx(overall)
    assert female.lift == pytest.approx(expected / overall)
    assert female.test == "chi-square" and female.differs
    age = technology.figure("age")
    assert age.kind == "mean" and age.value == pytest.approx(people.loc[in_tech, "age"].mean())
    assert age.test == "Mann-Whitney U"
    # Blogs have no items or ratings: those figures are absent, not zero.
    assert technology.figure("distinct_items") is None and technology.figure("user_mean_rating") is None
    # The Segments page's overview names the same difference.
    overview = overview_table(profile, {i: name for i, name in enumerate(codes.categories)})
    row = overview.set_index("name").loc["Technology"]
    assert "gender: female ×" in row["stands_out"]


# Library, demo and bad input ---------------------------------------------------------------------------------


def test_demo_profile_follows_its_clustering_and_fills_every_view():
    comments = from_frame(generate_demo(0), source="demo")
    result = _segments(comments, k=4)
    profile = behaviour_profile(comments, result.user_ids, result.labels)
    users = _per_user(comments.frame).reindex(result.user_ids)
    ages = comments.frame.groupby("user_id")["age"].first().reindex(result.user_ids)
    for segment in profile.segments:
        inside = result.labels == segment.segment
        assert segment.figure("age").value == pytest.approx(ages[inside].mean())
        assert segment.figure("distinct_items").value == pytest.approx(
            comments.frame[comments.frame["user_id"].isin(result.user_ids[inside])]
            .groupby("user_id")["item_id"].nunique().mean())
    # New users: not loyal, and arrived in the latest quarter of first comments.
    cut = users["first_ago"].quantile(0.25)
    loyal = users["comments"] >= profile.tier_rule.loyal_min_comments
    assert sum(s.tiers["new"] for s in profile.segments) == int(((users["first_ago"] <= cut) & ~loyal).sum())
    labels = {s.id: s.name for s in result.segments}
    assert list(overview_table(profile, labels)["users"]) == [s.users for s in profile.segments]
    value = value_table(profile, labels)
    assert value[["new", "occasional", "loyal"]].sum(axis=1).round(9).eq(1.0).all()
    table = figures_table(profile, profile.segments[0].segment)
    assert set(table["test"]) <= {"Mann-Whitney U", "chi-square", "Fisher exact", "not tested"}
    assert ((table["differs"] != "") == (table["q_value"] < ALPHA)).all()
    # The Segments page's download: strict JSON, each segment with its own behaviour.
    records = json.loads(segments_json(result.segments, behaviour=profile))
    for record in records:
        assert record["behaviour"]["users"] == int((result.labels == record["id"]).sum())
        assert record["behaviour"]["method"]["mean_test"] == "Mann-Whitney U"
    assert "behaviour" not in json.loads(segments_json(result.segments))[0]


def test_an_attribute_with_one_value_and_a_time_column_with_one_day_are_left_out_with_a_note():
    frame = generate_demo(1, n_users=80)
    frame["plan"] = "basic"
    frame["timestamp"] = 1704067200 + frame.index % 3600  # every comment within one hour of one day
    comments = from_frame(frame, source="one-day.csv")
    user_ids = np.array(sorted(comments.frame["user_id"].unique()))
    labels = np.arange(len(user_ids)) % 3
    profile = behaviour_profile(comments, user_ids, labels)
    assert any("one day (2024-01-01)" in note for note in profile.notes), profile.notes
    assert any("plan (basic)" in note for note in profile.notes), profile.notes
    keys = {f.key for s in profile.segments for f in s.figures}
    assert not keys & {"active_span_days", "days_since_last", "plan=basic", "tier=new"}
    assert profile.tier_rule.new_since is None and "gender=female" in keys

    asked = behaviour_profile(comments, user_ids, labels, attributes=["plan", "no_such_column", "rating"])
    assert any("'no_such_column'" in note for note in asked.notes)
    assert any("'rating'" in note and "more than one value" in note for note in asked.notes)


def test_a_run_of_other_data_is_refused_with_a_message():
    comments = from_frame(generate_demo(0, n_users=30))
    from segmentation.core.errors import ConfigError

    with pytest.raises(ConfigError, match="another file"):
        behaviour_profile(comments, np.array(["somebody", "else"]), np.array([0, 1]))


# segments.json and the command line --------------------------------------------------------------------------


@pytest.mark.slow
def test_cli_writes_behaviour_into_segments_json_and_prints_it_for_a_saved_run(tmp_path, capsys):
    data = tmp_path / "demo.csv"
    generate_demo(2, n_users=200).to_csv(data, index=False)
    assert main(["segment", str(data), "--out", str(tmp_path / "out"), "--encoder", "tfidf", "--k", "3"]) == 0
    written = json.loads((tmp_path / "out" / "segments.json").read_text(encoding="utf-8"))
    assignments = pd.read_csv(tmp_path / "out" / "assignments.csv")
    for record in written:
        behaviour = record["behaviour"]
        assert behaviour["users"] == int((assignments["segment"] == record["id"]).sum())
        assert behaviour["method"]["correction"].startswith("Benjamini-Hochberg")
        gender = [f for f in behaviour["figures"] if f["key"].startswith("gender=")]
        assert gender and all(f["test"] in ("chi-square", "Fisher exact") for f in gender)
    capsys.readouterr()

    assert main(["behaviour", str(data)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert [s["users"] for s in printed["segments"]] == [r["behaviour"]["users"] for r in sorted(
        written, key=lambda r: r["id"])]
    assert printed["segments"][0]["figures"] == sorted(written, key=lambda r: r["id"])[0]["behaviour"]["figures"]

    assert main(["behaviour", str(data), "--run", "nosuchrun"]) == 2
    assert "no saved run 'nosuchrun'" in capsys.readouterr().err


def test_cli_behaviour_without_a_saved_run_says_how_to_make_one(tmp_path, capsys):
    data = tmp_path / "demo.csv"
    generate_demo(0, n_users=40).to_csv(data, index=False)
    assert main(["behaviour", str(data)]) == 2
    err = capsys.readouterr().err
    assert "no saved run of demo.csv" in err and "segment" in err and "Traceback" not in err


# The Segments page -----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_segments_page_shows_the_behaviour_table_the_figures_and_the_value_view():
    from tests.pages_helpers import run_segmentation, start

    at = run_segmentation(start(), k=4)
    at.switch_page("pages/segments.py").run()
    assert not at.exception, at.exception
    run = at.session_state["run"]
    tables = [frame.value for frame in at.dataframe]
    overview = next(t for t in tables if "stands_out" in t.columns)
    sizes = pd.Series(run.result.labels).value_counts()
    assert dict(zip(overview["segment"], overview["users"], strict=True)) == sizes.to_dict()
    per_user = run.result.assignments.set_index("segment")["n_comments"]  # counted by the pipeline's profiles
    for _, row in overview.iterrows():
        assert row["Comments per user"] == pytest.approx(per_user.loc[[row["segment"]]].mean())
    assert any({"new", "occasional", "loyal"} <= set(t.columns) for t in tables)
    figures = next(t for t in tables if "q_value" in t.columns)
    assert "gender: female" in set(figures["figure"])
    shown = [c.value for c in at.caption]
    assert any("Mann-Whitney U" in c and "Benjamini-Hochberg" in c for c in shown)
    assert any(c.startswith("Tiers from this data's own quantiles: loyal:") for c in shown)


@pytest.mark.slow
def test_segments_page_says_what_a_one_day_file_leaves_out_and_shows_no_tiers_it_cannot_cut():
    from tests.pages_helpers import run_segmentation, start, unescape_markdown
    from tests.test_pages_segment import upload

    frame = generate_demo(3, n_users=60).drop(columns="true_taste")
    frame["timestamp"] = 1704067200  # one instant: no span, no recency, no new users
    frame["plan"] = "*basic*"  # one value for everyone, written as Markdown emphasis
    at = run_segmentation(upload(start(), frame, name="one-day.csv"), k=3)
    at.switch_page("pages/segments.py").run()
    assert not at.exception, at.exception
    shown = [unescape_markdown(c.value) for c in at.caption]
    assert any(c.startswith("Left out: every comment is from one day (2024-01-01)") for c in shown), shown
    assert any("plan (*basic*)" in c for c in shown), shown
    assert any(r"plan \(\*basic\*\)" in c.value for c in at.caption)  # escaped: shown as typed, not emphasis
    assert any(c.startswith("Tiers from this data's own quantiles: loyal:") and "new:" not in c for c in shown)
    value = next(frame.value for frame in at.dataframe if "loyal" in frame.value.columns)
    assert "new" not in value.columns


def test_stands_out_lists_what_a_segment_has_more_of_before_what_it_lacks():
    frame = generate_demo(4, n_users=300)
    comments = from_frame(frame)
    user_ids = np.array(sorted(comments.frame["user_id"].unique()))
    gender = comments.frame.groupby("user_id")["gender"].first().reindex(user_ids)
    labels = (gender == "female").astype(int).to_numpy()  # segment 1: every woman, nobody else
    overview = overview_table(behaviour_profile(comments, user_ids, labels), {0: "others", 1: "women"})
    women = overview.set_index("name").loc["women", "stands_out"].split("; ")
    expected_lift = 1 / (gender == "female").mean()
    assert women[0] == f"gender: female ×{expected_lift:.2f}"
    assert all("gender: male ×0.00" not in item for item in women)  # a share of nobody has no lift to show


@pytest.mark.hostile
def test_every_odd_but_loadable_file_of_the_bad_input_corpus_gives_a_profile_with_finite_json(tmp_path):
    from bad_inputs.generate import cases, write

    write(tmp_path)
    loaded = 0
    for case in cases():
        if case.expect["outcome"] != "ok":
            continue
        comments = load_comments(tmp_path / case.name, **case.load)
        user_ids = np.array(sorted(comments.frame["user_id"].astype(str).unique()))
        profile = behaviour_profile(comments, user_ids, np.arange(len(user_ids)) % 2)
        assert sum(s.users for s in profile.segments) == len(user_ids), case.name
        json.dumps(profile.to_dict(), allow_nan=False)  # strict JSON, whatever the file held
        loaded += 1
    assert loaded >= 20
