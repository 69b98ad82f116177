"""Naming a segment on the Segments page reruns only that segment's inputs, and the downloads carry the name
typed a moment before, in a real browser (issue 20: every edit reran the whole page)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.browser import download, nav, require_browser, segment_the_demo, settled
from tests.e2e.test_fragments import rerun_requests

pytestmark = pytest.mark.e2e
playwright_api = require_browser()
WAIT = 180_000  # ms: the machine may be busy


def test_a_name_edit_reruns_only_its_inputs_and_the_download_carries_it(browser_page, server: str,
                                                                       tmp_path: Path):
    page, dialogs, _ = browser_page
    expect = playwright_api.expect
    asked = rerun_requests(page)
    segment_the_demo(page, server)
    nav(page, "Segments")
    settled(page)
    del asked[:]

    name = page.get_by_role("textbox", name="Name").first
    name.fill("Weekend baristas")
    name.press("Enter")
    expect(page.get_by_text("Saved the name")).to_be_visible(timeout=WAIT)
    settled(page)
    assert asked and all(asked), f"the name edit reran the whole page: {asked}"
    expect(page.get_by_role("textbox", name="Name").first).to_have_value("Weekend baristas")

    saved = tmp_path / "assignments.csv"
    download(page, "Assignments (CSV)").save_as(saved)
    assert "Weekend baristas" in saved.read_text(encoding="utf-8")
    assert not dialogs
