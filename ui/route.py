"""Deep links on a fresh server: make sure a page runs inside app.py's navigation.

With a ``pages/`` folder next to ``app.py``, Streamlit 1.67 starts each process in its old multipage mode
until ``st.navigation`` has run once: if the very first request to a new server is a deep link such as
``/segment``, it runs ``pages/segment.py`` alone (no page config, no warm-up, the folder's file names in
the sidebar) and keeps doing so for later deep links. ``AppTest`` does the same on every run. The flag
it checks is ``PagesManager.uses_pages_directory``; when it is set, this runs ``app.py`` in place, within
the same script run (so a button press is not lost), and ``app.py`` opens the requested page.

Streamlit offers no supported switch for this (its documented way is to rename ``pages/``, which the design
card fixes), so the patch stays here, in one place, and ``tests/test_route.py`` fails loudly when an upgrade
changes the flag or the branch on it.
"""

from __future__ import annotations

import runpy
from pathlib import Path

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

APP = Path(__file__).resolve().parents[1] / "app.py"


def through_app() -> None:
    """Call first on every page: when Streamlit ran the page on its own, run it through ``app.py``."""
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        runpy.run_path(str(APP), run_name="__main__")
        st.stop()
