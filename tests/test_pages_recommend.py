"""The Recommend page: one user's comments and place, in-segment picks beside popularity, evaluation."""

from __future__ import annotations

import pytest

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
def test_evaluation_runs_on_demand_and_marks_the_segments_it_hurts():
    at = recommend_page(run_segmentation(start(), k=4))
    assert len(at.dataframe) == 3  # no evaluation table until asked
    next(b for b in at.button if b.label == "Evaluate the recommenders").click().run()
    assert not at.exception and not at.error
    table = at.dataframe[-1].value
    assert "global_popularity" in table.index and "ndcg_lift" in table.columns
    lift = figure(at, "Does the best in-segment recommender beat popularity?")
    colours = lift["data"][0]["marker"]["color"]
    assert set(colours) <= {"#d62728", "#2ca02c"}
    assert (len(at.warning) > 0) == ("#d62728" in colours)
