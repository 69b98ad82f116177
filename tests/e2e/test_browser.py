"""End to end in a real browser: upload, segment, rename, reload, recommend, against `streamlit run app.py`.

Needs Debian's Chromium at /usr/bin/chromium and the playwright package (never `playwright install`).
Screenshots of every page go to test-output/.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from tests.e2e.browser import choose, nav, require_browser, upload
from tests.e2e.live import ROOT
from tests.fixtures import labelled_comments

pytestmark = pytest.mark.e2e
playwright_api = require_browser()

SHOTS = ROOT / "test-output"
NEW_NAME = "Trail runners club"


@pytest.fixture
def page(browser_page):
    page, dialogs, _ = browser_page
    yield page
    assert not dialogs, f"a dialog opened: {dialogs}"


def fixture_csv(path: Path) -> Path:
    frame = labelled_comments(users_per_group=10, comments_per_user=3, seed=3)
    rng = np.random.default_rng(3)
    frame["item_id"] = [f"{g}-{n}" for g, n in zip(frame["true_group"], rng.integers(0, 6, len(frame)),
                                                    strict=True)]
    frame["rating"] = rng.integers(1, 6, len(frame))
    frame.drop(columns=["true_group"]).to_csv(path, index=False)
    return path


def shot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_upload_segment_rename_reload_and_recommend(page, server: str, tmp_path: Path):
    expect = playwright_api.expect
    # A deep link as the fresh server's first request still goes through app.py's navigation.
    page.goto(f"{server}/segments")
    expect(page.locator('[data-testid="stSidebarNav"]').get_by_text("Recommend", exact=True)).to_be_visible()
    page.goto(server)
    expect(page.get_by_text("Generated demo data")).to_be_visible()
    shot(page, "1-data-demo")

    upload(page, fixture_csv(tmp_path / "reviews.csv"), timeout=30_000)
    expect(page.locator('[data-testid="stMetricValue"]').first).to_have_text("40")
    shot(page, "2-data-upload")

    nav(page, "Segment")
    choose(page, "Encoder", "TF-IDF")
    page.locator('[data-testid="stBaseButton-primary"]').filter(has_text="Run").click()
    expect(page.get_by_text("Silhouette", exact=True)).to_be_visible(timeout=180_000)
    the_map = page.locator(".js-plotly-plot").first  # the map comes before the other charts
    expect(the_map.locator(".scatterlayer .point")).to_have_count(40)  # one per user
    shot(page, "3-segment")

    nav(page, "Segments")
    name = page.get_by_label("Name", exact=True).first
    name.fill(NEW_NAME)
    name.press("Enter")
    expect(page.get_by_text("Running...")).to_have_count(0)
    time.sleep(1.5)  # let the rerun that saves the name finish before the reload
    page.reload()
    expect(page.get_by_label("Name", exact=True).first).to_have_value(NEW_NAME, timeout=180_000)
    shot(page, "4-segments-after-reload")

    nav(page, "Segment")
    expect(page.locator(".js-plotly-plot .legendtext").filter(has_text=NEW_NAME).first).to_be_visible()

    nav(page, "Recommend")
    choose(page, "User", "run-03")
    expect(page.get_by_text("Segment: ")).to_be_visible()
    expect(page.get_by_text("One user's recommendations")).to_be_visible()
    expect(page.locator('[data-testid="stDataFrame"]')).to_have_count(3)
    shot(page, "5-recommend")
