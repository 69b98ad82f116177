"""Fast first, refined in the background, in a real browser: the refinement's line redraws itself until the
refined segments are ready (nothing but its own timer reruns it), then they are offered and shown (issue 22)."""

from __future__ import annotations

import re

import pytest

from segmentation.embed.base import encoder_status
from tests.e2e.browser import recording_page, require_browser, segment_the_demo, settled

pytestmark = pytest.mark.e2e
playwright_api = require_browser()
WAIT = 300_000  # ms: the machine may be busy


def test_the_refined_segments_arrive_on_their_own_and_replace_the_fast_ones_when_asked(fast_server: str):
    if not next(s for s in encoder_status() if s.name == "minilm").available:
        pytest.skip("MiniLM is not installed")
    expect = playwright_api.expect
    with recording_page() as (page, _, _):
        segment_the_demo(page, fast_server, WAIT, encoder="Fast static")
        page.get_by_role("button", name="Refine with MiniLM in the background").click()
        # No click from here on: the refinement's own line polls until the offer replaces it.
        expect(page.get_by_text("The MiniLM segments are ready")).to_be_visible(timeout=WAIT)
        expect(page.get_by_text("users (")).to_be_visible()
        page.get_by_role("button", name="Show the MiniLM segments").click()
        settled(page, WAIT)
        expect(page.get_by_text("The MiniLM segments are ready")).to_have_count(0)
        expect(page.get_by_role("combobox", name="Encoder")).to_have_value(re.compile("^MiniLM"))
        expect(page.get_by_role("button", name="Refine with MiniLM in the background")).to_have_count(0)
