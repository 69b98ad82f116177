"""The session's current segmentation run: computing it with live progress, saving it, naming it.

A run is saved in the workspace as soon as it is computed, names from the previous run of the same data
are carried over, and names are always read back from the workspace, so an edit made in any session
(or before a restart) shows everywhere.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import streamlit as st

from segmentation.errors import SegmentationError
from segmentation.io import Comments
from segmentation.pipeline import Prepared, SegmentConfig, SegmentResult
from segmentation.workspace import CarryReport, SegmentName, run_key
from ui import loaders

STAGE_LABELS = {
    "encode": "Encoding comments",
    "profile": "Building user profiles",
    "map": "Computing the 2-d map",
    "reduce": "Reducing the clustering space",
    "cluster": "Clustering",
    "describe": "Describing segments",
}


@dataclass
class Run:
    """A computed run as the session holds it (the result keeps the suggested names)."""

    prepared: Prepared
    result: SegmentResult
    run_key: str
    fingerprint: str
    carry: CarryReport
    reused: bool
    elapsed: float
    stage_times: dict[str, float] = field(default_factory=dict)


class StageReporter:
    """``progress(stage, done, total)`` drawn as a progress bar for encoding and a line per finished stage."""

    def __init__(self) -> None:
        self.bar = st.progress(0.0, text="Starting…")
        self.started: dict[str, float] = {}
        self.times: dict[str, float] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        self.started.setdefault(stage, now)
        label = STAGE_LABELS.get(stage, stage)
        if stage == "encode" and total > 0:
            self.bar.progress(min(done / total, 1.0), text=f"{label}: {done:,} / {total:,}")
        if done >= total and stage not in self.times:
            self.times[stage] = now - self.started[stage]
            st.write(f"{label}: done in {self.times[stage]:.1f} s")


def config_key(comments: Comments, config: SegmentConfig) -> str:
    return run_key(comments.fingerprint(), config.to_dict())


def compute(comments: Comments, config: SegmentConfig, label: str = "Segmenting the users…") -> Run:
    """Run the segmentation inside ``st.status`` and save it; names of the previous run carry over."""
    started = time.perf_counter()
    with st.status(label, expanded=True) as status:
        reporter = StageReporter()
        prepared, result, reused = loaders.run_segmentation(comments, config, reporter)
        if reused:
            reporter.bar.progress(1.0, text="Embeddings, profiles and map re-used from the cache")
        fingerprint = comments.fingerprint()
        key = config_key(comments, config)
        ws = loaders.workspace()
        ws.save_run(key, fingerprint, config.to_dict(), dict(zip(result.user_ids.tolist(),
                                                                 result.labels.tolist(), strict=True)))
        carry = ws.carry_over(None, key)
        elapsed = time.perf_counter() - started
        status.update(label=f"Segmented {len(result.user_ids):,} users in {elapsed:.1f} s",
                      state="complete", expanded=False)
    run = Run(prepared, result, key, fingerprint, carry, reused, elapsed, dict(reporter.times))
    st.session_state["run"] = run
    st.session_state["config"] = config
    return run


def current(comments: Comments) -> Run | None:
    """The session's run on these comments, restoring the last saved run of this data if there is none.

    Restoring recomputes from the saved config (embeddings come from the on-disk cache), so a browser
    refresh or a server restart brings back the segments and their names.
    """
    run: Run | None = st.session_state.get("run")
    fingerprint = comments.fingerprint()
    if run is not None and run.fingerprint == fingerprint:
        return run
    latest = loaders.workspace().latest_run(fingerprint)
    if latest is None:
        return None
    info = loaders.workspace().run(latest)
    data = dict(info.config)
    data["attributes"] = tuple(data.get("attributes") or ())
    return compute(comments, SegmentConfig(**data), label="Restoring the last run of this data…")


def names(run: Run) -> dict[int, SegmentName]:
    """The saved names of the run's segments (read fresh: another session may have renamed one)."""
    return loaders.workspace().names(run.run_key)


def named_result(run: Run) -> SegmentResult:
    """The run's result with the saved names in place of the suggested ones."""
    return run.result.with_names({k: v.name for k, v in names(run).items()})


def require(allow_folder: bool = False) -> tuple[Comments | None, Run]:
    """The session's data and its current run; otherwise say what to do and stop the page.

    With ``allow_folder`` a run folder opened on the Data page comes first (its comments are not loaded).
    """
    from ui import data, run_folder
    from ui.text import show_error

    if allow_folder and run_folder.opened() is not None:
        return None, run_folder.opened()[1]

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
