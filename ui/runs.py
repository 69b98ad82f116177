"""The session's current segmentation run: computing it with live progress, saving it, naming it.

A run is saved in the workspace as soon as it is computed, names from the previous run of the same data
are carried over, and names are always read back from the workspace, so an edit made in any session
(or before a restart) shows everywhere.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import streamlit as st

from segmentation.encoders import estimate_seconds
from segmentation.errors import SegmentationError
from segmentation.io import Comments
from segmentation.pipeline import Prepared, SegmentConfig, SegmentResult
from segmentation.throughput import THROUGHPUT_FILE, ThroughputLog, remaining_seconds
from segmentation.workspace import CarryReport, SegmentName, run_key
from ui import loaders

STAGE_LABELS = {
    "setup": "Preparing the encoder (once per workspace)",
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
    """``progress(stage, done, total)`` drawn as a progress bar for encoding (with the time spent and the
    time left at the rate seen so far) and a line per finished stage; a Cancel button stops the run."""

    def __init__(self) -> None:
        self.bar = st.progress(0.0, text="Starting…")
        # Pressing it reruns the page, which stops this run at its next progress update; nothing half
        # done is kept (the prepared data is stored only once complete).
        # A key of its own: a page may show two reporters in one run (a restore, then an evaluation).
        st.button("Cancel", key=f"cancel_run_{time.monotonic_ns()}", icon=":material/stop:", on_click=_cancelled)
        self.started: dict[str, float] = {}
        self.times: dict[str, float] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        self.started.setdefault(stage, now)
        label = STAGE_LABELS.get(stage, stage)
        if stage == "encode" and total > 0:
            elapsed = now - self.started[stage]
            left = remaining_seconds(done, total, elapsed)
            timing = f" · {clock(elapsed)} spent" + ("" if left is None else f", about {clock(left)} left")
            self.bar.progress(min(done / total, 1.0), text=f"{label}: {done:,} / {total:,}{timing}")
        elif done < total:
            self.bar.progress(0.0, text=f"{label}…")
        if done >= total and stage not in self.times:
            self.times[stage] = now - self.started[stage]
            st.write(f"{label}: done in {self.times[stage]:.1f} s")


CANCELLED = "run_cancelled"


def _cancelled() -> None:
    st.session_state[CANCELLED] = True


def clock(seconds: float) -> str:
    """``m:ss`` (or ``h:mm:ss``) for a progress line."""
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def encode_estimate(spec: str, n_texts: int) -> tuple[float | None, bool]:
    """Seconds to encode, from the rate measured on this machine when there is one, and whether it was."""
    measured = ThroughputLog(loaders.workspace().path.parent / THROUGHPUT_FILE).estimate(spec, n_texts)
    if measured is not None:
        return measured, True
    return estimate_seconds(spec, n_texts), False


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
        else:  # the next estimate for this encoder comes from this run's speed
            ThroughputLog(loaders.workspace().path.parent / THROUGHPUT_FILE).record(
                config.encoder, prepared.n_encoded, reporter.times.get("encode", 0.0))
        st.session_state.pop(CANCELLED, None)
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
    """The session's run on these comments (with its hand edits applied), restoring the last saved run
    of this data if there is none.

    Restoring recomputes from the saved config (embeddings come from the on-disk cache), so a browser
    refresh or a server restart brings back the segments, their names and their edits.
    """
    run = _current(comments)
    return None if run is None else with_edits(run)


def with_edits(run: Run) -> Run:
    """The run with its saved hand edits (``segmentation.edits``) applied to its result."""
    from segmentation.edits import edits_key

    edits = tuple(loaders.edit_log().edits(run.run_key))
    if not edits:
        return run
    return replace(run, result=loaders.edited_for(run.run_key, edits_key(edits), edits, run.prepared, run.result))


def _current(comments: Comments) -> Run | None:
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
