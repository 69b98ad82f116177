"""The Segments page offers the run's report as a download, built from the same run the page shows."""

from __future__ import annotations

import pytest

from segmentation.present.report import run_report
from segmentation.runs.workspace import Workspace
from tests.pages_helpers import run_segmentation, start


@pytest.mark.slow
def test_the_segments_page_offers_the_report_of_the_run_it_shows_with_a_name_typed_there():
    at = run_segmentation(start(), k=3)
    at.switch_page("pages/segments.py").run()
    assert not at.exception, at.exception
    buttons = {b.proto.label: b.proto for b in at.get("download_button")}
    assert "Download the report (HTML)" in buttons
    key = at.session_state["run"].run_key
    # A name typed on the page is saved in the workspace, which is where the report reads it when clicked.
    name_box = next(t for t in at.text_input if t.key and t.key.startswith("name_"))
    name_box.input("Coffee people").run()
    assert not at.exception, at.exception
    document = run_report(key, Workspace())
    assert "Coffee people" in document and f"Run {key}" in document
