"""Every page opens on the demo data without an exception, before and after a run."""

from __future__ import annotations

import pytest

from tests.pages_helpers import run_segmentation, start

PAGES = ["pages/data.py", "pages/segment.py", "pages/segments.py", "pages/recommend.py", "pages/runs.py"]


@pytest.mark.parametrize("page", PAGES)
def test_page_opens_on_the_demo_data_without_an_exception(page: str):
    at = start()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def test_pages_before_a_run_point_to_the_segment_page():
    at = start()
    for page in ("pages/segments.py", "pages/recommend.py"):
        at.switch_page(page).run()
        assert any("No segmentation yet" in i.value for i in at.info)
    at.switch_page("pages/runs.py").run()
    assert any("No saved runs yet" in i.value for i in at.info)


@pytest.mark.slow
def test_every_page_opens_after_a_run_and_keeps_the_run_across_pages():
    at = run_segmentation(start())
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, at.exception
    at.switch_page("pages/segment.py").run()
    assert at.slider(key="seg_k").value == 4  # widget values survive page switches
    assert at.selectbox(key="seg_encoder").value == "tfidf"
