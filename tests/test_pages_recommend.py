"""The Recommend page: a yes or no first, then one user's comments and place, picks beside popularity."""

from __future__ import annotations

import pytest

from segmentation.recommend.base import RECOMMENDERS
from segmentation.recommend.evaluate import evaluate_pipeline
from segmentation.recommend.service import DEFAULT_METHOD, fit_run_recommenders
from tests.pages_helpers import figure, run_segmentation, start


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
    assert len(star) == 1 and star[0]["customdata"][0][1] == users[3]


@pytest.mark.slow
def test_evaluation_opens_with_yes_or_no_and_greys_unclear_segments():
    at = recommend_page(run_segmentation(start(), k=4))
    assert len(at.dataframe) == 3  # no evaluation table until asked
    next(b for b in at.button if b.label == "Find out").click().run()
    assert not at.exception and not at.error
    answers = [m.value for m in (*at.success, *at.warning, *at.info) if m.value.startswith(("Yes:", "No:"))]
    assert len(answers) == 1 and "users tested" in answers[0]
    table = next(d.value for d in at.dataframe if "ndcg" in d.value.columns)
    assert {"global_popularity", "ease", "segment_ease"} <= set(table.index)
    assert {"ndcg_lift", "ndcg_lift_ease"} <= set(table.columns)
    # What each tuned peer chose on its validation split, beside that split's NDCG.
    assert table.loc["ease", "chosen"].startswith("l2=") and 0 <= table.loc["ease", "validation_ndcg"] <= 1
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
