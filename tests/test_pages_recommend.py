"""The Recommend page: a yes or no first, then one user's comments and place, picks beside popularity."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from segmentation.recommend.base import RECOMMENDERS
from segmentation.recommend.evaluate import evaluate_pipeline
from segmentation.recommend.service import DEFAULT_METHOD, fit_run_recommenders
from tests.pages_helpers import figure, figures, run_segmentation, start
from tests.test_pages_data import upload


def recommend_page(at):
    at.switch_page("pages/recommend.py").run()
    assert not at.exception, at.exception
    return at


@pytest.mark.slow
def test_recommendations_for_a_picked_user_sit_beside_popularity():
    at = recommend_page(run_segmentation(start(), k=4))
    users = at.selectbox(key="rec_user").options
    at.selectbox(key="rec_user").set_value(users[3]).run()
    comments, ours, popular = (d.value for d in at.dataframe)
    assert len(comments) >= 1
    assert len(ours) == 10 and len(popular) == 10
    assert list(ours.columns) == ["rank", "item", "score", "reason"]
    assert ours["reason"].str.len().min() > 0
    star = [t for t in figure(at, "Where the user sits")["data"] if t.get("name") == "Selected user"]
    assert len(star) == 1 and star[0]["text"] == [users[3]]
    # Drawn as the Segment page's map is: WebGL at one pixel per screen pixel, not plotly's export-sized two.
    user_map = next(c for c in at.get("plotly_chart")
                    if json.loads(c.proto.spec)["layout"]["title"]["text"].startswith("Where the user sits"))
    assert json.loads(user_map.proto.config)["plotGlPixelRatio"] == 1
    firmly = [t.value for t in at.text if t.value.startswith("How firmly: ")]
    assert len(firmly) == 1 and re.match(r"How firmly: \d+% in .+; also near .+ \(\d+%\) and .+ \(\d+%\)", firmly[0])


@pytest.mark.slow
def test_evaluation_opens_with_yes_or_no_and_greys_unclear_segments():
    at = recommend_page(run_segmentation(start(), k=4))
    assert len(at.dataframe) == 3  # no evaluation table until asked
    next(b for b in at.button if b.label == "Find out").click().run()
    assert not at.exception and not at.error
    answers = [m.value for m in (*at.success, *at.warning, *at.info) if m.value.startswith(("Yes:", "No:"))]
    assert len(answers) == 1 and "users tested" in answers[0]
    table = next(d.value for d in at.dataframe if "Method" in d.value.columns).set_index("Method")
    assert {RECOMMENDERS[m].label for m in ("global_popularity", "ease", "segment_ease")} <= set(table.index)
    assert {"Against the most popular items", "Against the strong recommender"} <= set(table.columns)
    # The score each tuned peer reached on its validation split (its settings stay in the evaluation's record).
    assert 0 <= table.loc[RECOMMENDERS["ease"].label, "Score while tuning"] <= 1
    lift = figure(at, "Does recommending within segments help each segment?")
    colours = lift["data"][0]["marker"]["color"]
    assert set(colours) <= {"#d62728", "#2ca02c", "#9e9e9e"}


@pytest.mark.slow
def test_the_users_list_comes_from_the_method_the_answer_recommends():
    """Issue 20: the page answered "No: EASE alone does as well" and listed picks from the segment method."""
    at = recommend_page(run_segmentation(start(), k=4))
    find_out = [b for b in at.button if b.label == "Find out"]  # absent where this process evaluated already
    if find_out:
        find_out[0].click().run()
    run = at.session_state["run"]
    # The same evaluation, computed apart from the page (it is seeded by the config).
    answer = evaluate_pipeline(run.prepared.comments, run.result.config, top_n=10).answer()
    expected = answer.segment_method if answer.verdict == "yes" else answer.rival
    caption = next(c.value for c in at.caption if c.value.startswith("Top 10 items"))
    assert RECOMMENDERS[expected].label in caption and "as the answer above recommends" in caption
    user = at.selectbox(key="rec_user").value
    fitted = fit_run_recommenders(run.prepared.comments, run.prepared.profiles.user_ids, run.prepared.profiles.vectors,
                                  run.result.labels, run.prepared.embeddings, method=expected,
                                  seed=run.result.config.seed, item_labels=run.prepared.item_labels)
    ours = next(d.value for d in at.dataframe if "reason" in d.value.columns)
    picks = fitted.for_user(user, 10)[0]
    assert ours["item"].tolist() == [run.prepared.item_labels.label(r.item_id) for r in picks]
    assert ours["reason"].tolist() == [r.reason for r in picks]
    # Reasons are shown whole: the table wraps its cells instead of cutting them.
    table = next(d for d in at.dataframe if "reason" in d.value.columns)
    assert table.proto.row_height > 40


@pytest.mark.slow
def test_before_the_methods_are_compared_the_list_says_it_comes_from_the_default():
    at = recommend_page(run_segmentation(start(), k=4))
    # A list length no other test evaluates, so no evaluation is kept for it.
    at.slider(key="rec_top_n").set_value(7).run()
    assert any(b.label == "Find out" for b in at.button)
    caption = next(c.value for c in at.caption if c.value.startswith("Top 7 items"))
    assert RECOMMENDERS[DEFAULT_METHOD].label in caption and "the default" in caption


JARGON = re.compile(r"\bEASE\b|NDCG|recall@|\bARI\b|[Ww]orkspace|Davies|Calinski|\bCH\b|RP3beta|\bALS\b|\bMRR\b|"
                    r"\bl2=|[Ss]ilhouette")


def visible_text(at) -> list[str]:
    """Every text the page shows without a hover: headings, paragraphs, notes, labels, table headers and cells,
    chart titles and axes (tooltips, the ``help`` of each element, are left out: that is where technical names go)."""
    parts = [e.value for kind in ("title", "header", "subheader", "markdown", "caption", "text", "success",
                                  "warning", "info", "error") for e in getattr(at, kind)]
    parts += [e.label for kind in ("button", "selectbox", "slider", "expander", "metric") for e in getattr(at, kind)]
    for table in at.dataframe:
        parts += [str(c) for c in table.value.columns] + [str(v) for v in table.value.to_numpy().ravel()]
    for spec in figures(at):
        layout = spec["layout"]
        parts += [str(layout.get(axis, {}).get("title", {}).get("text", "")) for axis in ("title", "xaxis", "yaxis")]
    return parts


@pytest.mark.slow
def test_the_recommend_page_speaks_plain_words_with_technical_names_only_in_tooltips():
    """Issue 20: EASE, NDCG, recall@10, ARI… for a marketer with no plain reading beside them."""
    at = recommend_page(run_segmentation(start(), k=4))
    find_out = [b for b in at.button if b.label == "Find out"]
    if find_out:
        find_out[0].click().run()
    assert not at.exception and any(m.value.startswith(("Yes:", "No:")) for m in (*at.success, *at.warning, *at.info))
    shown = visible_text(at)
    assert not [text for text in shown if JARGON.search(text)]
    # The technical names are one hover away: the measurement's note, the figures' columns.
    note = next(c for c in at.caption if c.value.startswith("How this was measured"))
    assert "NDCG" in note.proto.help and "recall@10" in note.proto.help and "EASE (Steck, 2019)" in note.proto.help
    table = next(d for d in at.dataframe if "Method" in d.value.columns)
    config = json.loads(table.proto.columns)
    assert "NDCG@N" in config["Found it near the top"]["help"] and "EASE" in config["Method"]["help"]


@pytest.mark.slow
def test_reasons_and_items_on_the_demo_name_the_items_never_their_ids():
    at = recommend_page(run_segmentation(start(), k=4))
    run = at.session_state["run"]
    frame = run.prepared.comments.frame
    user = frame.groupby("user_id")["item_id"].nunique().idxmax()
    at.selectbox(key="rec_user").set_value(user).run()
    ours = next(d.value for d in at.dataframe if "reason" in d.value.columns)
    names = set(frame["item_name"])
    assert set(ours["item"]) <= names
    mine = set(frame.loc[frame["user_id"] == user, "item_name"])
    cited = [r for r in ours["reason"] if "you have" in r]
    assert cited and all(any(name in reason for name in mine) for reason in cited)
    assert not any(re.search(r"\b[A-Z]{3}-\d{3}\b", reason) for reason in ours["reason"])


def recipe_slice(recipes_dir: Path, n_users: int = 250) -> bytes:
    """The real recipe reviews of the ``n_users`` users with most comments, without the recipe names: what a file
    that names no item looks like."""
    frame = pd.read_csv(recipes_dir / "recipe_reviews_users_ge2.csv.gz")
    keep = frame["user_id"].value_counts().index[:n_users]
    frame = frame[frame["user_id"].isin(keep)]
    return frame[["user_id", "item_id", "rating", "timestamp", "text"]].to_csv(index=False).encode()


@pytest.mark.slow
def test_on_real_recipes_without_names_items_show_their_id_and_review_words_in_reasons_and_top_items(recipes_dir):
    at = upload(start(), "recipes.csv", recipe_slice(recipes_dir))
    at = recommend_page(run_segmentation(at, k=4))
    run = at.session_state["run"]
    frame = run.prepared.comments.frame
    assert "item_name" not in frame.columns
    labels = run.prepared.item_labels
    user = frame.groupby("user_id")["item_id"].nunique().idxmax()
    at.selectbox(key="rec_user").set_value(user).run()
    ours = next(d.value for d in at.dataframe if "reason" in d.value.columns)
    described = re.compile(r"^item (\d+) \(([^)]+)\)$")
    assert all(described.match(item) for item in ours["item"])
    caption = next(c.value for c in at.caption if c.value.startswith("Top 10 items"))
    assert "names no items" in caption and "words" in caption
    mine = {labels.label(i) for i in frame.loc[frame["user_id"] == user, "item_id"]}
    cited = [r for r in ours["reason"] if "you have" in r]
    assert cited and all(any(label in reason for label in mine) for reason in cited)
    # The words are the recipe's own: each one occurs in the reviews of that recipe.
    for item in ours["item"]:
        item_id, words = described.match(item).groups()
        reviews = " ".join(frame.loc[frame["item_id"] == item_id, "text"]).lower()
        assert all(word.split()[0] in reviews for word in words.split(", ")), item

    at.switch_page("pages/segments.py").run()
    assert not at.exception, at.exception
    shown = [t.value for t in at.text if t.value.startswith("Items it favours most")]
    assert shown
    for line in shown:
        for item in line.split(": ", 1)[1].split("; "):
            assert described.match(item), item
