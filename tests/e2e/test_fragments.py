"""A search and a legend click on the Segment page's map rerun only the map's part of the page, in a real
browser: the browser's own rerun requests, decoded from the app's websocket, name the map's fragment (issue
20: every click reran the whole page, 2-6 s on a real file)."""

from __future__ import annotations

from typing import Any

import pytest
from streamlit.proto.BackMsg_pb2 import BackMsg

from tests.e2e.browser import require_browser, segment_the_demo, settled, websocket_frames

pytestmark = pytest.mark.e2e
playwright_api = require_browser()
WAIT = 180_000  # ms: the machine may be busy


def rerun_requests(page: Any) -> list[str]:
    """Record the fragment id of every rerun the page asks the server for ("" for the whole page)."""

    def fragment(payload: bytes) -> str | None:
        message = BackMsg.FromString(payload)
        return message.rerun_script.fragment_id if message.WhichOneof("type") == "rerun_script" else None

    return websocket_frames(page, "framesent", fragment)


def test_a_search_and_a_legend_click_rerun_only_the_map(browser_page, server: str):
    page, dialogs, _ = browser_page
    expect = playwright_api.expect
    asked = rerun_requests(page)
    segment_the_demo(page, server)
    assert asked and "" in asked, "the page's own runs were not seen: the recorder is not listening"
    del asked[:]

    page.locator(".js-plotly-plot").first.locator(".legendtoggle").first.click()
    settled(page)
    search = page.get_by_role("textbox", name="Find users whose comments mention")
    search.fill("coffee")
    search.press("Enter")
    expect(page.get_by_text("users ringed on the map.")).to_be_visible(timeout=WAIT)
    settled(page)

    assert asked, "the search asked the server for nothing"
    assert all(asked), f"a click reran the whole page: {asked}"
    assert not dialogs
