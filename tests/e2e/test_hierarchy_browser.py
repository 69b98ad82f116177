"""Broad groups in a real browser: built on the Segments page over the demo's segments, named in the app, shown on
their own map and by layer, and carried into the segments' JSON download as each segment's parent (issue 23
item 3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.browser import download, nav, require_browser, segment_the_demo, settled

pytestmark = pytest.mark.e2e
playwright_api = require_browser()
WAIT = 180_000  # ms: the machine may be busy
NAME = "Board <b>one</b>"


def test_broad_groups_are_built_named_switched_and_downloaded_with_each_segments_parent(browser_page, server: str):
    page, dialogs, _ = browser_page
    expect = playwright_api.expect
    segment_the_demo(page, server)
    nav(page, "Segments")
    page.get_by_role("button", name="Build broad groups").click()
    settled(page, WAIT)
    expect(page.get_by_text("Users on the map, coloured by broad groups")).to_be_visible(timeout=WAIT)
    names = page.get_by_role("textbox", name="Name of the broad group")
    groups = names.count()
    assert groups >= 2
    names.first.fill(NAME)
    names.first.press("Enter")
    settled(page, WAIT)
    chart = page.locator(".js-plotly-plot").filter(has_text="coloured by broad groups")
    expect(chart.locator(".legendtext").filter(has_text=NAME)).to_have_count(1)  # the tag shown as text

    page.get_by_text("Segments", exact=True).last.click()  # the layer switch
    settled(page, WAIT)
    expect(page.get_by_text("Users on the map, coloured by segments")).to_be_visible(timeout=WAIT)

    saved = download(page, "Segments (JSON)")
    segments = json.loads(Path(saved.path()).read_text(encoding="utf-8"))
    parents = [segment["parent"] for segment in segments if segment["id"] >= 0]
    assert len(parents) == len(segments) and set(parents) == set(range(groups))
    assert not dialogs, dialogs
