"""A lasso on the map becomes a segment, and undo restores the segments, in a real browser."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.browser import choose, click_until, lasso, nav, require_browser, settled, upload
from tests.fixtures import labelled_comments

pytestmark = pytest.mark.e2e
playwright_api = require_browser()
WAIT = 180_000  # ms: the machine may be busy


def test_a_lasso_selection_saved_as_a_segment_splits_it_out_and_undo_restores_it(browser_page, server: str,
                                                                                 tmp_path: Path):
    page, dialogs, _ = browser_page
    expect = playwright_api.expect
    csv = tmp_path / "selection.csv"
    labelled_comments(users_per_group=8, comments_per_user=2, seed=12).drop(columns=["true_group"]).to_csv(
        csv, index=False)
    page.goto(server)
    expect(page.get_by_text("Generated demo data")).to_be_visible(timeout=WAIT)
    upload(page, csv, timeout=WAIT)
    nav(page, "Segment")
    choose(page, "Encoder", "TF-IDF")
    page.locator('[data-testid="stBaseButton-primary"]').filter(has_text="Run").click()
    expect(page.get_by_text("Silhouette", exact=True)).to_be_visible(timeout=WAIT)
    segments = page.locator('[data-testid="stMetricValue"]').nth(3)
    before = int(segments.inner_text())
    expect(page.locator(".js-plotly-plot").first.locator(".annotation")).to_have_count(before, timeout=WAIT)
    settled(page)  # a lasso drawn while the page is still drawing is lost with the chart it was drawn on

    lasso(page, 0.0, 0.5)
    expect(page.get_by_text("users selected (")).to_be_visible(timeout=WAIT)
    expect(page.get_by_text("Keywords against the rest:")).to_be_visible(timeout=WAIT)
    page.get_by_text("Save the selection as a new segment").click()
    expect(page.get_by_text("after the edit.").first).to_be_visible(timeout=WAIT)  # the preview comes first
    settled(page)
    page.get_by_role("button", name="Save as a new segment").click()
    # A lasso may take whole segments with it, so the count after the split depends on the map: what
    # must hold is that the edit is saved and that undo brings back the segments as they were.
    expect(page.get_by_text("Saved as a new segment")).to_be_visible(timeout=WAIT)
    expect(page.get_by_text("Merge segments, undo edits (1 edits so far)")).to_be_visible(timeout=WAIT)

    settled(page)
    page.get_by_text("Merge segments, undo edits (1 edits so far)").click()
    expect(page.get_by_text("Undo: ")).to_be_visible(timeout=WAIT)  # the button names the edit it undoes
    click_until(page, "Undo the last edit", "Undone: ")
    expect(segments).to_have_text(str(before), timeout=WAIT)
    expect(page.get_by_text("Merge segments, undo edits (0 edits so far)")).to_be_visible(timeout=WAIT)
    assert not dialogs
