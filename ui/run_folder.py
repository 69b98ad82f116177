"""A Ray engine run folder in the app: opened on the Data page, shown on the Segments page.

The folder's run is kept apart from the session's own run (``runs.current``), so opening one never
replaces a segmentation computed in the app; names are saved in the workspace under the folder's digest.
"""

from __future__ import annotations

import os

import streamlit as st

from segmentation.core.errors import SegmentationError
from segmentation.core.paths import ALLOWED_ROOTS_ENV, allowed_path
from segmentation.present.views import map_frame, segment_labels
from segmentation.runs.matching import CarryReport
from segmentation.runs.service import Run
from segmentation.scale.run_folder import RunFolder, open_run_folder
from ui import charts, loaders
from ui.text import labelled, show_error

KEY = "run_folder"


@st.cache_resource(max_entries=2, show_spinner=False)
def _read(path: str, stamp: float) -> RunFolder:
    """The folder as read, shared by sessions until ``run.json`` changes (``stamp`` is its mtime)."""
    return open_run_folder(path)


def open_folder(path: str) -> Run:
    """Open a run folder, save it in the workspace (so names can be saved) and keep it in the session.

    The path is checked against the allowed roots before anything on the server is looked at, the cache
    included (a refused path must never be answered from a cache filled for an allowed one).
    """
    where = allowed_path(path)
    try:
        stamp = os.stat(where / "run.json").st_mtime
    except OSError:
        stamp = 0.0  # the reader says what is missing
    folder = _read(str(where), stamp)
    key = folder.run_id
    # The assignments stay in the folder: the workspace holds the run only so its names have a home.
    loaders.workspace().save_run(key, key, folder.result.config.to_dict(), {})
    run = Run(prepared=None, result=folder.result, run_key=key, fingerprint=key, carry=CarryReport(),
              reused=False, elapsed=float(folder.result.timings.get("total", 0.0)))
    st.session_state[KEY] = (folder, run)
    return run


def opened() -> tuple[RunFolder, Run] | None:
    return st.session_state.get(KEY)


def close() -> None:
    st.session_state.pop(KEY, None)


def page_block() -> None:
    """The Data page's "Open a run folder": a path, the run's full counts and the map of its sample."""
    path = st.text_input("Run folder (the --out folder of `segment --engine ray`)", key="run_folder_path")
    if path and st.button("Open", icon=":material/folder_open:"):
        try:
            open_folder(path)
        except (SegmentationError, OSError) as error:
            show_error(error)
            st.stop()
    current = opened()
    if current is None:
        st.info("Give the path of a run folder on this server and press Open: a folder inside the workspace "
                f"or under one the operator lists in {ALLOWED_ROOTS_ENV}.")
        return
    folder, run = current
    labelled("Run folder", str(folder.path))
    cards = st.columns(4)
    cards[0].metric("Users", f"{folder.n_users:,}")
    cards[1].metric("Comments", f"{folder.n_comments:,}")
    cards[2].metric("Segments", f"{sum(1 for s in run.result.segments if s.id >= 0):,}")
    cards[3].metric("Fitted on", f"{folder.n_fit_users:,} users")
    labels = segment_labels(run.result.segments)
    mapped = folder.mapped
    if len(mapped):
        frame = map_frame(mapped, labels, [""] * len(mapped))
        st.plotly_chart(charts.segment_map(frame, charts.segment_colours(labels),
                                           title=f"A uniform sample of {len(mapped):,} of {folder.n_users:,} users"),
                        key="run_folder_map", config=charts.MAP_CONFIG)
    st.caption(f"The map shows a uniform sample of {len(mapped):,} of {folder.n_users:,} users; segment sizes, "
               "shares and the downloads count every user.")
    st.page_link("pages/segments.py", label="Segments, names and downloads", icon=":material/arrow_forward:")
