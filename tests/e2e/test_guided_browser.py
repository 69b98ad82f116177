"""Guided segments in a real browser: personas typed on the Segments page place the demo's users, the result is
saved as a run of its own, and showing it puts the persona names on the Segment page's map (issue 23 item 4)."""

from __future__ import annotations

import pytest

from tests.e2e.browser import nav, recording_page, require_browser, segment_the_demo, settled

pytestmark = pytest.mark.e2e
playwright_api = require_browser()
WAIT = 300_000  # ms: the machine may be busy
PERSONAS = ("Coffee lovers: espresso, grinders, coffee beans, brewing at home\n"
            "Runners <b>club</b>: running shoes, miles, races, training")


def test_personas_place_the_users_and_their_saved_run_shows_the_persona_names(fast_server: str):
    expect = playwright_api.expect
    with recording_page() as (page, dialogs, _):
        segment_the_demo(page, fast_server, WAIT, encoder="Fast static")
        nav(page, "Segments")
        expect(page.get_by_role("heading", name="Start from personas")).to_be_visible(timeout=WAIT)
        page.get_by_role("textbox", name="Personas", exact=True).fill(PERSONAS)
        page.get_by_role("button", name="Place the users").click()
        settled(page, WAIT)
        # The sentence quotes the typed names as text: the tag stays text, nothing is bold.
        expect(page.get_by_text("Runners <b>club</b>", exact=False).first).to_be_visible(timeout=WAIT)
        page.get_by_role("button", name="Save as a run of its own").click()
        expect(page.get_by_text("Saved as run")).to_be_visible(timeout=WAIT)
        page.get_by_role("button", name="Show the guided segments").click()
        expect(page.get_by_text("Silhouette", exact=True)).to_be_visible(timeout=WAIT)
        settled(page, WAIT)
        legend = page.locator(".js-plotly-plot").first.locator(".legendtext").all_text_contents()
        assert "Coffee lovers" in legend and "Runners <b>club</b>" in legend, legend
        assert "run=" in page.url
    assert not dialogs, dialogs
