"""The session's current segmentation run, drawn: live progress while it computes, and the page guard.

Computing, saving, restoring and carrying names over are :mod:`segmentation.service`'s; this module only
draws them and keeps the run in the session. Names are always read back from the workspace, so an edit
made in any session (or before a restart) shows everywhere.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import streamlit as st

from segmentation import service
from segmentation.errors import SegmentationError
from segmentation.io import Comments
from segmentation.pipeline import SegmentConfig, SegmentResult, StageProgress
from segmentation.service import Run
from segmentation.workspace import SegmentName
from ui import loaders, session

STAGE_LABELS = {
    "encode": "Encoding comments",
    "profile": "Building user profiles",
    "map": "Computing the 2-d map",
    "reduce": "Reducing the clustering space",
    "cluster": "Clustering",
    "describe": "Describing segments",
}


class StageReporter:
    """``progress(stage, done, total)`` drawn as a progress bar for encoding and a line per finished stage."""

    def __init__(self) -> None:
        self.bar = st.progress(0.0, text="Starting…")
        self.started: dict[str, float] = {}
        self.finished: set[str] = set()

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        self.started.setdefault(stage, now)
        label = STAGE_LABELS.get(stage, stage)
        if stage == "encode" and total > 0:
            self.bar.progress(min(done / total, 1.0), text=f"{label}: {done:,} / {total:,}")
        if done >= total and stage not in self.finished:
            self.finished.add(stage)
            st.write(f"{label}: done in {now - self.started[stage]:.1f} s")


def _drawn(work: Callable[[StageProgress], Run | None], label: str) -> Run | None:
    """Run ``work(progress)`` inside ``st.status`` and keep the run it returns in the session."""
    with st.status(label, expanded=True) as status:
        reporter = StageReporter()
        run = work(reporter)
        if run is None:
            status.update(label="No saved run of this data", state="complete", expanded=False)
            return None
        if run.reused:
            reporter.bar.progress(1.0, text="Embeddings, profiles and map re-used from the cache")
        status.update(label=f"Segmented {len(run.result.user_ids):,} users in {run.elapsed:.1f} s",
                      state="complete", expanded=False)
    session.set_run(run)
    return run


def compute(comments: Comments, config: SegmentConfig) -> Run:
    """Run the segmentation with live progress and save it; names of the previous run carry over."""
    return _drawn(lambda progress: service.run_and_save(
        comments, config, progress=progress, workspace=loaders.workspace(), compute=loaders.run_segmentation,
    ), "Segmenting the users…")


def current(comments: Comments) -> Run | None:
    """The session's run on these comments, restoring the last saved run of this data if there is none.

    Restoring recomputes from the saved config (embeddings come from the on-disk cache), so a browser
    refresh or a server restart brings back the segments and their names.
    """
    run = session.run()
    if run is not None and run.fingerprint == comments.fingerprint():
        return run
    workspace = loaders.workspace()
    if workspace.latest_run(comments.fingerprint()) is None:
        return None
    return _drawn(lambda progress: service.restore(
        comments, progress=progress, workspace=workspace, compute=loaders.run_segmentation,
    ), "Restoring the last run of this data…")


def names(run: Run) -> dict[int, SegmentName]:
    """The saved names of the run's segments (read fresh: another session may have renamed one)."""
    return service.names(run.run_key, loaders.workspace())


def named_result(run: Run) -> SegmentResult:
    """The run's result with the saved names in place of the suggested ones."""
    return service.named_result(run, loaders.workspace())


def assign_upload(run: Run, name: str, data: bytes) -> service.Assignment:
    """Place the users of an uploaded comments file in the run's segments (columns detected)."""
    from segmentation.io import ROLES, detect_roles

    digest = loaders.sha256(data)
    raw = loaders.read_upload(digest, name, data)
    detected = detect_roles([str(column) for column in raw.columns])
    roles = tuple(sorted((role, detected.get(role) or "") for role in ROLES))
    comments = loaders.comments_for(digest, name, roles, raw)
    return service.assign(comments, run.run_key, workspace=loaders.workspace())


def require() -> tuple[Comments, Run]:
    """The session's data and its current run; otherwise say what to do and stop the page."""
    from ui import data
    from ui.text import show_error

    try:
        comments = data.comments()
        run = current(comments)
    except SegmentationError as error:
        show_error(error)
        st.stop()
    if run is None:
        st.info("No segmentation yet for this data.")
        st.page_link("pages/segment.py", label="Run one on the Segment page", icon=":material/scatter_plot:")
        st.stop()
    return comments, run
