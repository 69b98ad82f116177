"""Issue 20 in a real browser: HDBSCAN's quality cards say which users they cover, and the Recommend page's
list comes from the method its answer recommends.

Needs Debian's Chromium at /usr/bin/chromium and the playwright package (never `playwright install`).
"""

from __future__ import annotations

import re

import pytest

from segmentation.cluster.base import CLUSTERERS
from tests.e2e.browser import choose, nav, require_browser, settled

pytestmark = pytest.mark.e2e
playwright_api = require_browser()


@pytest.fixture
def page(browser_page):
    page, dialogs, _ = browser_page
    yield page
    assert not dialogs, f"a dialog opened: {dialogs}"


def run(page, algorithm: str) -> None:
    """Segment the demo with the TF-IDF encoder and ``algorithm``, and wait for the Quality row."""
    nav(page, "Segment")
    choose(page, "Encoder", "TF-IDF")
    settled(page)
    choose(page, "Algorithm", CLUSTERERS[algorithm].label, search=CLUSTERERS[algorithm].label.split()[0])
    settled(page)
    page.locator('[data-testid="stBaseButton-primary"]').filter(has_text="Run").click()
    playwright_api.expect(page.get_by_text("Users in a segment", exact=True)).to_be_visible(timeout=300_000)
    settled(page, timeout=300_000)


def test_hdbscan_cards_state_which_users_their_scores_cover(page, server: str):
    expect = playwright_api.expect
    page.goto(server)
    expect(page.get_by_text("Generated demo data")).to_be_visible()
    run(page, "hdbscan")
    labels = page.locator('[data-testid="stMetricLabel"]').all_inner_texts()
    values = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
    cards = dict(zip((label.strip() for label in labels), (value.strip() for value in values), strict=True))
    covered = cards["Users in a segment"]
    assert re.fullmatch(r"\d+%", covered) and covered != "100%"  # HDBSCAN leaves some demo users as noise
    # Every separation score names the share of users it was computed on: the one beside it.
    for score in ("Silhouette", "Calinski–Harabasz", "Davies–Bouldin"):
        assert f"{score} ({covered} of users)" in cards, sorted(cards)
    # Advice names only settings the page shows.
    assert page.get_by_text("min_samples").count() == 0


def test_recommends_list_uses_the_method_the_answer_recommends(page, server: str):
    expect = playwright_api.expect
    page.goto(server)
    expect(page.get_by_text("Generated demo data")).to_be_visible()
    run(page, "kmeans")
    nav(page, "Recommend")
    settled(page)
    page.get_by_role("button", name="Find out").click()
    answer = page.locator('[data-testid="stAlert"]').filter(has_text=re.compile(r"^(Yes|No):"))
    expect(answer.first).to_be_visible(timeout=300_000)
    settled(page, timeout=300_000)
    sentence = answer.first.inner_text()
    caption = page.get_by_text(re.compile(r"^Top 10 items from ")).first.inner_text()
    method = re.match(r"Top 10 items from (.+?), as the answer above recommends", caption).group(1)
    within = re.search(r"recommending within segments \((.+?)\)", sentence, flags=re.IGNORECASE).group(1)
    # "Yes": the segment method's list; otherwise the list of the method the answer measured it against.
    if sentence.startswith("Yes:"):
        assert method == within
    else:
        assert method != within and method in sentence
