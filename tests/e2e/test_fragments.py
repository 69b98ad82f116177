"""What a click on the Segment page reruns, in a real browser: the browser's own rerun requests, decoded from the
app's websocket, name a fragment or the whole page (issue 20: every click reran the whole page, 2-6 s on a real
file). A search and a legend click rerun only the map's part; the k slider only the settings, a chart tab only the
charts; Run hands the new k to one run of the whole page."""

from __future__ import annotations

from typing import Any

import pytest
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

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


def finished_runs(page: Any) -> list[str]:
    """Record how every script run the server reports ended (``FINISHED_SUCCESSFULLY`` for the whole page,
    ``FINISHED_FRAGMENT_RUN_SUCCESSFULLY`` for a fragment alone)."""

    def status(payload: bytes) -> str | None:
        message = ForwardMsg.FromString(payload)
        if message.WhichOneof("type") != "script_finished":
            return None
        return ForwardMsg.ScriptFinishedStatus.Name(message.script_finished)

    return websocket_frames(page, "framereceived", status)


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


def test_the_k_slider_and_a_chart_tab_rerun_only_their_part_and_run_redraws_the_page(browser_page, server: str):
    page, dialogs, _ = browser_page
    expect = playwright_api.expect
    asked, finished = rerun_requests(page), finished_runs(page)
    segment_the_demo(page, server)
    chart_titles = page.locator(".js-plotly-plot .gtitle")
    expect(chart_titles.filter(has_text="Segment sizes")).to_have_count(1)
    expect(chart_titles.filter(has_text="Silhouette per user")).to_have_count(0)  # its tab is closed
    automatic = page.locator('[data-testid="stCheckbox"]').filter(has_text="automatic").first
    if automatic.locator("input").is_checked():
        automatic.click()
        settled(page)
    slider = page.locator('[data-testid="stSlider"]').filter(has_text="Number of segments (k)").first
    expect(slider.get_by_role("slider")).to_be_enabled()
    del asked[:], finished[:]

    thumb = slider.get_by_role("slider")
    thumb.press("ArrowRight")
    expect(page.get_by_text("made with other settings")).to_be_visible()
    settled(page)
    k = int(slider.locator('[data-testid="stSliderThumbValue"]').inner_text())
    page.get_by_role("tab", name="Silhouette per user").click()
    expect(chart_titles.filter(has_text="Silhouette per user")).to_have_count(1)
    expect(chart_titles.filter(has_text="Segment sizes")).to_have_count(0)
    settled(page)
    assert len(asked) == 2 and all(asked), f"the slider or the tab reran the whole page: {asked}"
    assert finished == ["FINISHED_FRAGMENT_RUN_SUCCESSFULLY"] * 2, finished

    del asked[:], finished[:]
    page.locator('[data-testid="stBaseButton-primary"]').filter(has_text="Run").click()
    cards = page.locator('[data-testid="stMetric"]').filter(has_text="Segments").locator(
        '[data-testid="stMetricValue"]')
    expect(cards.first).to_have_text(str(k), timeout=WAIT)
    expect(page.get_by_text("made with other settings")).to_have_count(0)
    settled(page)
    # The settings' fragment asked for the run, and the whole page ran it once: the map and the open chart redrawn.
    assert finished[-1] == "FINISHED_SUCCESSFULLY", finished
    expect(chart_titles.filter(has_text="Silhouette per user")).to_have_count(1)
    assert not dialogs
