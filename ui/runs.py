"""The session's current segmentation run, drawn: live progress while it computes, and the page guard.

Computing, saving, restoring and carrying names over are :mod:`segmentation.runs.service`'s, placing new
users :mod:`segmentation.runs.assign`'s; this module only draws them and keeps the run in the session. Names
are always read back from the workspace, so an edit made in any session (or before a restart) shows
everywhere.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import streamlit as st

from segmentation.core.errors import ConfigError, SegmentationError
from segmentation.embed.estimate import EncodeEstimate, current_load
from segmentation.embed.throughput import EncodeClock, ThroughputLog
from segmentation.ingest.io import Comments
from segmentation.pipeline.config import SegmentConfig
from segmentation.pipeline.segment import SegmentResult, StageProgress
from segmentation.runs import service
from segmentation.runs.assign import Assignment, assign
from segmentation.runs.records import SegmentName
from segmentation.runs.service import Run
from ui import loaders, session

STAGE_LABELS = {
    "setup": "Preparing the encoder (once per workspace)",
    "encode": "Encoding comments",
    "profile": "Building user profiles",
    "map": "Computing the 2-d map",
    "reduce": "Reducing the clustering space",
    "cluster": "Clustering",
    "describe": "Describing segments",
}


class StageReporter:
    """``progress(stage, done, total)`` drawn as a progress bar for encoding (with the time spent and the
    time left at the rate seen so far) and a line per finished stage; a Cancel button stops the run."""

    def __init__(self, expected: EncodeEstimate | None = None) -> None:
        self.expected = expected
        self.load = current_load()  # before this run adds to it: the speed is recorded against it
        self.clock = EncodeClock(expected.seconds if expected is not None else None)
        self.bar = st.progress(0.0, text="Starting…")
        # Pressing it reruns the page, which stops this run at its next progress update; nothing half
        # done is kept (the prepared data is stored only once complete).
        # A key of its own: a page may show two reporters in one run (a restore, then an evaluation).
        st.button("Cancel", key=f"cancel_run_{time.monotonic_ns()}", icon=":material/stop:",
                  on_click=session.set_cancelled, args=(True,))
        self.started: dict[str, float] = {}
        self.times: dict[str, float] = {}

    def measured(self) -> tuple[float, float] | None:
        """(work, seconds) of this run's encoding, its model's start-up left out; None when it encoded
        nothing or its work is unknown."""
        if self.expected is None or not self.expected.n_texts or "encode" not in self.times:
            return None
        # The start-up is an estimate too: never let it take more than half of what was measured.
        seconds = max(self.times["encode"] - self.expected.start_s, self.times["encode"] / 2)
        return self.expected.work, seconds

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        self.started.setdefault(stage, now)
        label = STAGE_LABELS.get(stage, stage)
        if stage == "encode" and total > 0:
            elapsed = now - self.started[stage]
            left = self.clock.left(done, total, elapsed)
            if left is not None:
                timing = f" · {clock(elapsed)} spent, about {clock(left)} left"
            else:  # the first chunk's texts come sorted by length: too early to tell
                timing = f" · {clock(elapsed)} spent" + (", working out the time left" if done < total else "")
            self.bar.progress(min(done / total, 1.0), text=f"{label}: {done:,} / {total:,}{timing}")
        elif stage == "setup" and done < total:  # reported every half second while it runs
            elapsed = now - self.started[stage]
            expected = self.expected.setup_s if self.expected is not None else 0.0
            if expected > 0:
                # Past the estimate the bar waits at 95 % rather than claim a time it does not know.
                left = f", about {clock(expected - elapsed)} left" if elapsed < expected else ", nearly done"
                self.bar.progress(min(elapsed / expected, 0.95), text=f"{label}: {clock(elapsed)} spent{left}")
            else:
                self.bar.progress(0.0, text=f"{label}: {clock(elapsed)} spent")
        elif done < total:
            self.bar.progress(0.0, text=f"{label}…")
        if done >= total and stage not in self.times:
            self.times[stage] = now - self.started[stage]
            st.write(f"{label}: done in {self.times[stage]:.1f} s")


def clock(seconds: float) -> str:
    """``m:ss`` (or ``h:mm:ss``) for a progress line."""
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _drawn(work: Callable[[StageProgress], Run | None], label: str,
           expected: EncodeEstimate | None = None) -> Run | None:
    """Run ``work(progress)`` inside ``st.status`` and keep the run it returns in the session; ``expected``
    is the encoding estimate the time left starts from."""
    with st.status(label, expanded=True) as status:
        reporter = StageReporter(expected)
        run = work(reporter)
        if run is None:
            status.update(label="No saved run of this data", state="complete", expanded=False)
            return None
        if run.reused:
            reporter.bar.progress(1.0, text="Embeddings, profiles and map re-used from the cache")
        elif (measured := reporter.measured()) is not None:  # the next estimate comes from this run's speed
            ThroughputLog().record(run.result.config.encoder, *measured, load=reporter.load)
        session.set_cancelled(False)
        status.update(label=f"Segmented {len(run.result.user_ids):,} users in {run.elapsed:.1f} s",
                      state="complete", expanded=False)
    session.set_run(run)
    return run


def compute(comments: Comments, config: SegmentConfig, file_sha256: str) -> Run:
    """Run the segmentation with live progress and save it; names of the previous run carry over.

    ``file_sha256`` is the digest of the file the comments came from, so the Runs page can open it again.
    """
    return _drawn(lambda progress: service.run_and_save(
        comments, config, progress=progress, workspace=loaders.workspace(), compute=loaders.run_segmentation,
        file_sha256=file_sha256,
    ), "Segmenting the users…", loaders.encode_estimate(config.encoder, comments))


def show_saved(key: str) -> Run:
    """Make a saved run the session's, with its data and its settings, recomputed with live progress.

    The run's data becomes the session's when it is the demo or a file kept in the workspace; the
    Segment page's settings become the run's.

    Raises
    ------
    ConfigError
        When the run's data is not at hand (a file never uploaded here, or removed since), or its columns
        were mapped differently from how the file is mapped now.
    """
    from ui import data, settings, state

    info = service.saved_run(key, loaders.workspace())
    comments = data.comments()
    if comments.fingerprint() != info.fingerprint:
        digest = info.record.get("file_sha256")
        if not digest or not data.open_file(digest):
            source = info.record.get("source") or "its data"
            raise ConfigError(f"run {key} was made on {source}, which is not kept in the workspace: upload "
                              "that file on the Data page, then show the run again")
        comments = data.comments()
    run = _drawn(lambda progress: service.restore(
        comments, key, progress=progress, workspace=loaders.workspace(), compute=loaders.run_segmentation,
    ), f"Showing run {key}…")
    state.adopt(settings.segment_widgets(info.config))
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
    """The run with its saved hand edits (``segmentation.runs.edits``) applied to its result."""
    from segmentation.runs.edits import edits_key

    edits = tuple(loaders.edit_log().edits(run.run_key))
    if not edits:
        return run
    return replace(run, result=loaders.edited_for(run.run_key, edits_key(edits), edits, run.prepared, run.result))


def _current(comments: Comments) -> Run | None:
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


def assign_upload(run: Run, name: str, data: bytes) -> Assignment:
    """Place the users of an uploaded comments file in the run's segments (columns detected)."""
    from segmentation.ingest.io import ROLES, detect_roles

    digest = loaders.sha256(data)
    raw = loaders.read_upload(digest, name, data)
    detected = detect_roles([str(column) for column in raw.columns])
    roles = tuple(sorted((role, detected.get(role) or "") for role in ROLES))
    comments = loaders.comments_for(digest, name, roles, raw)
    return assign(comments, run.run_key, workspace=loaders.workspace())


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
