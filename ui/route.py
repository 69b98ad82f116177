"""The address: ``?run=`` names the run the pages show, and a deep link runs inside app.py's navigation.

The run in the address. ``?run=<id>`` is written whenever the session shows a run
(:func:`ui.session.set_run`), so a reload, a bookmark, a server restart or another tab opens that run and no
other (:func:`ui.runs.follow_address`); the data travels beside it as ``?data=`` (:mod:`ui.data`) and the
Segment settings as their own parameters (:mod:`ui.state`). What the address holds is untrusted: a run id is
checked for its shape before the workspace is asked for it.

Deep links on a fresh server. With a ``pages/`` folder next to ``app.py``, Streamlit 1.67 starts each
process in its old multipage mode until ``st.navigation`` has run once: if the very first request to a new
server is a deep link such as ``/segment``, it runs ``pages/segment.py`` alone (no page config, no warm-up,
the folder's file names in the sidebar) and keeps doing so for later deep links. ``AppTest`` does the same on
every run. The flag it checks is ``PagesManager.uses_pages_directory``; when it is set,
:func:`through_app` runs ``app.py`` in place, within the same script run (so a button press is not lost),
and ``app.py`` opens the requested page.

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
RUN_PARAM = "run"


def through_app() -> None:
    """Call first on every page: when Streamlit ran the page on its own, run it through ``app.py``."""
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        runpy.run_path(str(APP), run_name="__main__")
        st.stop()


def address_run() -> str | None:
    """The run id the address names (``?run=``) as it was typed: untrusted, check it with
    :func:`segmentation.runs.records.is_run_key` before use."""
    return st.query_params.get(RUN_PARAM) or None


def put_run_in_address(key: str | None) -> None:
    """Name run ``key`` in the address (None: name no run). Writes only on a change: every write is a
    message to the browser."""
    if key is None:
        if RUN_PARAM in st.query_params:
            del st.query_params[RUN_PARAM]
    elif st.query_params.get(RUN_PARAM) != key:
        st.query_params[RUN_PARAM] = key
