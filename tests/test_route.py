"""ui/route.py: the run in the address is checked before use, and the deep-link patch leans on a Streamlit
internal; these tests fail loudly when an upgrade changes it.

Streamlit 1.67 has no supported switch for "a pages/ folder beside an st.navigation app": until
st.navigation has run once in a process, ``PagesManager.uses_pages_directory`` (set from the folder's
existence) makes the script runner run the old multipage mode (``_mpa_v1``), so a deep link runs a page
alone. If a test here fails after an upgrade, read ui/route.py again: the patch may be needed no more
(remove it and ``route.through_app()`` from the pages) or need another hook.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from streamlit.runtime import pages_manager
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import script_runner
from streamlit.testing.v1 import AppTest

from segmentation.pipeline.config import SegmentConfig
from segmentation.runs.records import is_run_key
from segmentation.runs.service import key_of

ROOT = Path(__file__).resolve().parents[1]


def test_streamlit_still_switches_to_the_old_multipage_mode_on_a_pages_folder(monkeypatch):
    monkeypatch.setattr(PagesManager, "uses_pages_directory", None)
    PagesManager(str(ROOT / "app.py"))
    assert PagesManager.uses_pages_directory is True, "Streamlit no longer flags a pages/ folder: see ui/route.py"
    source = inspect.getsource(script_runner.ScriptRunner)
    assert "PagesManager.uses_pages_directory" in source and "_mpa_v1" in source, (
        "Streamlit's script runner no longer branches on uses_pages_directory: see ui/route.py"
    )
    assert "uses_pages_directory" in inspect.getsource(pages_manager)


def test_a_deep_link_on_a_fresh_process_runs_the_page_inside_app_navigation():
    at = AppTest.from_file(str(ROOT / "pages" / "segment.py"), default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    assert [title.value for title in at.title] == ["Segment"]
    # app.py ran its st.navigation, which turns the old mode off for the rest of the process.
    assert PagesManager.uses_pages_directory is False


def test_the_keys_runs_are_saved_under_have_the_shape_an_address_may_name():
    assert is_run_key(key_of("f" * 64, SegmentConfig()))
    assert is_run_key("ray-" + "0" * 24)  # a Ray run folder's id


@pytest.mark.parametrize("typed", ["", "../runs/x", "a b", "x' OR '1'='1", "<script>", "k" * 65, "é", "a\nb", None, 7])
def test_a_run_id_from_an_address_is_refused_unless_it_has_the_shape_of_one(typed):
    assert not is_run_key(typed)
