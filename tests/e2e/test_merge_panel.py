"""Picking segments in the Segment page's merge panel keeps the panel open, in a real browser (issue 20: the
first pick collapsed it, so the user had to open it again for the second)."""

from __future__ import annotations

import pytest

from tests.e2e.browser import pick, require_browser, segment_the_demo, settled

pytestmark = pytest.mark.e2e
playwright_api = require_browser()
WAIT = 180_000  # ms: the machine may be busy


def test_the_merge_panel_stays_open_while_two_segments_are_picked(browser_page, server: str):
    page, dialogs, _ = browser_page
    expect = playwright_api.expect
    segment_the_demo(page, server)
    page.get_by_text("Merge segments, undo edits (0 edits so far)").click()
    keep = page.locator('[data-testid="stSelectbox"]').filter(has_text="Keep this segment")
    expect(keep).to_be_visible(timeout=WAIT)
    pick(page, "Keep this segment", 0)
    settled(page)
    absorb = page.locator('[data-testid="stSelectbox"]').filter(has_text="and merge this one into it")
    expect(absorb).to_be_visible(timeout=WAIT)  # still open after the first pick
    pick(page, "and merge this one into it", 1)
    settled(page)
    expect(page.get_by_text("after the edit.").first).to_be_visible(timeout=WAIT)  # the merge's preview
    expect(page.get_by_role("button", name="Merge", exact=True)).to_be_visible(timeout=WAIT)
    assert not dialogs
