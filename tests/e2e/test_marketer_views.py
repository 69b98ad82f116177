"""What a marketer reads about the demo's segments, in a real browser (issue 23): who the users are and the value
view, the segments over time (switching the share redraws the chart alone), the users between segments on the
map, and how firmly one user belongs on the Recommend page."""

from __future__ import annotations

import pytest

from tests.e2e.browser import nav, require_browser, segment_the_demo, settled
from tests.e2e.test_fragments import rerun_requests

pytestmark = pytest.mark.e2e
playwright_api = require_browser()
WAIT = 180_000  # ms: the machine may be busy


def test_behaviour_over_time_membership_and_firmness_show_for_the_demo(browser_page, server: str):
    page, dialogs, _ = browser_page
    expect = playwright_api.expect
    asked = rerun_requests(page)  # listening from the start: the recorder follows the page's websocket
    segment_the_demo(page, server)
    # The map's legend, once plotly has drawn it (the page's run may finish before the browser draws the map).
    legend = page.locator(".js-plotly-plot").first.locator(".legendtext")
    expect(legend.filter(has_text="Between segments").first).to_be_visible(timeout=WAIT)
    assert any(text.startswith("Between segments") for text in legend.all_text_contents())

    nav(page, "Segments")
    expect(page.get_by_role("heading", name="Who the users are")).to_be_visible(timeout=WAIT)
    expect(page.get_by_role("heading", name="Value view: segments by activity tier")).to_be_visible(timeout=WAIT)
    expect(page.get_by_role("heading", name="Segments over time")).to_be_visible(timeout=WAIT)
    expect(page.get_by_text("Share of comments per", exact=False).first).to_be_visible(timeout=WAIT)
    settled(page, WAIT)
    del asked[:]
    page.get_by_text("active users", exact=True).click()  # the share switch
    expect(page.get_by_text("Share of active users per", exact=False).first).to_be_visible(timeout=WAIT)
    settled(page, WAIT)
    assert asked and "" not in asked, asked  # the chart's fragment alone, never the whole page

    nav(page, "Recommend")
    expect(page.get_by_text("How firmly")).to_be_visible(timeout=WAIT)
    assert not dialogs, dialogs
