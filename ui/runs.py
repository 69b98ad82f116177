"""The session's current segmentation run, drawn: live progress while it computes, and the page guard.

Computing, saving, restoring and carrying names over are :mod:`segmentation.runs.service`'s, placing new
users :mod:`segmentation.runs.assign`'s; this module only draws them and keeps the run in the session. Names
are always read back from the workspace, so an edit made in any session (or before a restart) shows
everywhere.

Which run the pages show: the one the session shows, named in the address (``?run=``, :mod:`ui.route`), so
that a reload, a bookmark, a restart or another tab shows that run again; a newer run of the same data (from
another tab or the command line) is offered with a button, never shown in its place; a plain address offers
the recent runs and kept files.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import pandas as pd
import streamlit as st

from segmentation.core.errors import ConfigError, SegmentationError
from segmentation.embed.estimate import EncodeEstimate, current_load
from segmentation.embed.throughput import EncodeClock, ThroughputLog
from segmentation.ingest.io import Comments
from segmentation.pipeline.config import SegmentConfig
from segmentation.pipeline.segment import SegmentResult, StageProgress
from segmentation.runs import compare, service
from segmentation.runs.assign import Assignment, assign
from segmentation.runs.compare import RunComparison
from segmentation.runs.records import NameChange, RunInfo, SegmentName, is_run_key
from segmentation.runs.service import Run
from ui import loaders, route, session

RECENT = 5  # runs and kept files offered on a plain address: a short list, the Runs page has them all
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
           expected: EncodeEstimate | None = None, *, restored: bool = False) -> Run | None:
    """Run ``work(progress)`` inside ``st.status`` and keep the run it returns in the session; ``expected``
    is the encoding estimate the time left starts from; ``restored`` when ``work`` brings back a saved run
    (the status then says which, rather than that the users were segmented anew)."""
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
        users = f"{len(run.result.user_ids):,} users"
        done = f"Run {run.run_key} restored: {users}" if restored else f"Segmented {users}"
        status.update(label=f"{done} in {run.elapsed:.1f} s", state="complete", expanded=False)
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
        _open_data_of(info)
        comments = data.comments()
    run = _drawn(lambda progress: service.restore(
        comments, key, progress=progress, workspace=loaders.workspace(), compute=loaders.run_segmentation,
    ), f"Showing run {key}…", restored=True)
    state.adopt(settings.segment_widgets(info.config))
    return run


def open_saved(key: str) -> None:
    """Show a saved run (:func:`show_saved`) on the Segment page, named in the address; a run that cannot
    be shown says why here."""
    from ui.text import show_error

    try:
        run = show_saved(key)
    except SegmentationError as error:
        show_error(error)
        return
    st.switch_page("pages/segment.py", query_params={route.RUN_PARAM: run.run_key})


def _open_data_of(info: RunInfo) -> None:
    """Make the run's data the session's: the demo or the file kept in the workspace; ConfigError when the
    file is not kept here."""
    from ui import data

    digest = info.record.get("file_sha256")
    if not digest or not data.open_file(digest):
        source = info.record.get("source") or "its data"
        raise ConfigError(f"run {info.run_key} was made on {source}, which is not kept in the workspace: upload "
                          "that file on the Data page, then show the run again")


def follow_address() -> None:
    """Keep the session's run and the address's ``?run=`` the same; app.py calls it before every page.

    On a session's first page (a reload, a bookmark, a restart, another tab) the run the address names
    becomes the one to show: its id checked for shape, then looked up, its data opened. A run that cannot
    be shown is remembered with the reason, which the pages then say (never a silent fallback to another
    run). Afterwards the session decides: a page switch, which drops the address's parameters, gets them back.
    """
    from ui import data

    if not session.address_read():
        key = route.address_run()
        shown = data.source()  # the address's data first, so that no later read of it changes the data again
        session.set_address_run(_address_run(key, shown.digest) if key is not None else None)
    run, wanted = session.run(), session.address_run()
    if run is not None:
        route.put_run_in_address(run.run_key)
    elif wanted is not None and not wanted.problem:
        route.put_run_in_address(wanted.key)


def _address_run(key: str, digest: str) -> session.AddressRun:
    """The run ``key`` from the address, checked, with its data opened (``digest``: the data open now)."""
    if not is_run_key(key):
        return session.AddressRun(key, "The address does not name a run (a run id has letters, digits, _ and "
                                       "- only). Open a run from the Runs page, or press Run on the Segment page.")
    try:
        info = loaders.workspace().run(key)
        if info is None:
            return session.AddressRun(key, f"Run {key} is not in this workspace: it was deleted, or the address "
                                           "comes from another workspace. The Runs page lists the saved runs.")
        if info.record.get("file_sha256") not in (None, digest):
            _open_data_of(info)
    except SegmentationError as error:  # damaged, or its file is no longer kept
        return session.AddressRun(key, str(error))
    return session.AddressRun(key)


def offer_recent() -> None:
    """On a plain address (no data, no run chosen yet, as after a server restart; or a run that cannot be
    shown): the recent runs and the kept uploads of this workspace, each with an "Open" button, above the demo
    that stays loaded till then."""
    from segmentation.ingest.uploads import UploadStore
    from ui import data

    wanted = session.address_run()  # one that cannot be shown leaves the user as free as a plain address
    if session.source() or session.run() or (wanted and not wanted.problem) or st.query_params.get(data.QUERY_KEY):
        return
    # Only runs whose file is known can be opened from here: a Ray run folder's entry (saved so its names have
    # a home) is opened from its folder on the Data page.
    recent = [info for info in loaders.workspace().all_runs()
              if not info.damaged and info.record.get("file_sha256")][:RECENT]
    demo = data.demo_source().digest
    files = [kept for kept in UploadStore().kept() if kept[0] != demo][:RECENT]
    if not recent and not files:
        return
    with st.container(border=True):
        st.subheader("Pick up where you left off")
        st.caption("This workspace keeps your runs, their names and the files you uploaded. The demo data "
                   "stays loaded until you open one.")
        for info in recent:
            line, button = st.columns([6, 1], vertical_alignment="center")
            segments = info.metrics.get("n_segments")
            line.text(f"Run {info.run_key} · {info.record.get('source') or 'data ' + info.fingerprint[:12]} · "
                      f"{info.config.get('encoder')}, {info.config.get('algorithm')}"
                      + (f", {segments} segments" if segments is not None else "")
                      + (f", {info.n_named} named" if info.n_named else "")
                      + f" · saved {info.saved_at[:16].replace('T', ' ')} UTC")
            if button.button("Open", key=f"open_run_{info.run_key}", help="Show this run with its data and names"):
                open_saved(info.run_key)
        for digest, name, used in files:
            line, button = st.columns([6, 1], vertical_alignment="center")
            line.text(f"File {name} · last used {time.strftime('%Y-%m-%d %H:%M', time.gmtime(used))} UTC")
            button.button("Open", key=f"open_file_{digest[:16]}", help="Load this file on the Data page",
                          on_click=_open_upload, args=(digest,))


def _open_upload(digest: str) -> None:
    """Button callback: make a kept file the session's data, with "Upload a file" chosen on the Data page."""
    from ui import data

    if not data.open_file(digest):  # removed by the upload quota since the list was drawn
        session.set_source_note(("warning", "That file is no longer kept in the workspace: upload it again."))


def shown_key(fingerprint: str | None) -> str | None:
    """The key of the run the pages show on data ``fingerprint``: this session's, else the one its address
    names (None when that one cannot be shown), else the latest of this data (which they restore)."""
    run, wanted = session.run(), session.address_run()
    if run is not None and run.fingerprint == fingerprint:
        return run.run_key
    if wanted is not None:  # one that cannot be shown: no other run stands in for it
        return None if wanted.problem else wanted.key
    return loaders.workspace().latest_run(fingerprint) if fingerprint else None


def shown_settings(comments: Comments) -> dict:
    """The Segment page's widget values of the run it shows (:func:`shown_key`), or {}."""
    from ui import settings

    key = shown_key(comments.fingerprint())
    try:
        info = loaders.workspace().run(key) if key is not None else None
    except SegmentationError:  # damaged: the page says so where it shows the run
        info = None
    return settings.segment_widgets(dict(info.config)) if info is not None else {}


def current(comments: Comments) -> Run | None:
    """The session's run on these comments (with its hand edits applied): the run the address named when the
    session started, else the last saved run of this data, restored.

    Restoring recomputes from the saved config (embeddings come from the on-disk cache), so a browser
    refresh or a server restart brings back the segments, their names and their edits. A run of this data
    made after the one shown is offered with a button, never shown in its place.

    Raises
    ------
    ConfigError
        When the address named a run that cannot be shown (with the reason).
    """
    run = _current(comments)
    if run is None:
        return None
    _offer_newer(run)
    return with_edits(run)


def with_edits(run: Run) -> Run:
    """The run with its saved hand edits (``segmentation.runs.edits``) applied to its result."""
    from segmentation.runs.edits import edits_key

    edits = tuple(loaders.edit_log().edits(run.run_key))
    if not edits:
        return run
    return replace(run, result=loaders.edited_for(run.run_key, edits_key(edits), edits, run.prepared, run.result))


def shown(comments: Comments) -> Run | None:
    """The run this session shows on ``comments`` as the page's last :func:`current` left it (its hand edits not
    applied), without restoring one; None when there is none yet."""
    run = session.run()
    return run if run is not None and run.fingerprint == comments.fingerprint() else None


def _current(comments: Comments) -> Run | None:
    if (run := shown(comments)) is not None:
        return run
    wanted = session.address_run()
    if wanted is not None and wanted.problem:
        raise ConfigError(wanted.problem)
    key = shown_key(comments.fingerprint())  # the one rule for which run the pages show
    if key is None:
        return None
    label = f"Restoring run {key}…" if wanted is not None else "Restoring the last run of this data…"
    return _drawn(lambda progress: service.restore(
        comments, key, progress=progress, workspace=loaders.workspace(), compute=loaders.run_segmentation,
    ), label, restored=True)


def newer_run(run_key: str, fingerprint: str) -> RunInfo | None:
    """The latest intact run of the same data made after run ``run_key`` (from the app, another tab or the
    command line), or None. Made, not saved: showing a run saves it again, which must not make it newer."""
    workspace = loaders.workspace()
    runs = [info for info in workspace.previous_runs(fingerprint) if not info.damaged]
    made = next((info.created_at for info in runs if info.run_key == run_key), None)
    later = [info for info in runs if made is not None and info.created_at > made]
    return max(later, key=lambda info: info.created_at, default=None)


def _offer_newer(run: Run) -> None:
    """Say that a newer run of the data exists, with a button that shows it instead."""
    from segmentation.present.views import escape_markdown

    newer = newer_run(run.run_key, run.fingerprint)
    if newer is None:
        return
    made = newer.created_at[:19].replace("T", " ")
    segments = newer.metrics.get("n_segments")
    about = f"{newer.config.get('encoder')}, {newer.config.get('algorithm')}" + (
        f", {segments} segments" if segments is not None else "")
    st.info(escape_markdown(f"A newer run of this data exists: run {newer.run_key}, made {made} UTC ({about}). "
                            f"This page shows run {run.run_key}, the one in its address."),
            icon=":material/update:")
    st.button("Show the newer run", key="show_newer_run", icon=":material/update:", on_click=_show_instead,
              args=(newer.run_key,))


def _show_instead(key: str) -> None:
    """Button callback: show run ``key`` (restored by the page's next run) with its settings."""
    from ui import settings, state

    try:
        info = service.saved_run(key, loaders.workspace())
    except SegmentationError:  # removed or damaged since the button was drawn: the page says why next
        session.forget_run()
        session.set_address_run(session.AddressRun(key, f"Run {key} can no longer be shown; the Runs page "
                                                        "lists the saved runs."))
        return
    session.forget_run()
    session.set_address_run(session.AddressRun(key))
    state.adopt_now(settings.segment_widgets(info.config))


def names(run: Run) -> dict[int, SegmentName]:
    """The saved names of the run's segments (read fresh: another session may have renamed one)."""
    return service.names(run.run_key, loaders.workspace())


def names_at_click(run: Run) -> Callable[[], dict[int, SegmentName]]:
    """A reader of the run's saved names for a download built when it is clicked: a name edited since the
    page was drawn (the name inputs rerun only themselves) is in the file."""
    workspace = loaders.workspace()  # taken now: the click runs on a thread with no page around it
    return lambda: service.names(run.run_key, workspace)


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


def saved_runs() -> pd.DataFrame:
    """Every run saved in the workspace, newest first (``segmentation.runs.service.runs_table``)."""
    return service.runs_table(loaders.workspace())


def name_lineage(run_key: str) -> dict[int, list[NameChange]]:
    """Where each name of a saved run came from (``segmentation.runs.compare.name_lineage``)."""
    return compare.name_lineage(run_key, loaders.workspace())


def compare_runs(first: str, second: str) -> RunComparison:
    """How users moved between the segments of two saved runs (``segmentation.runs.compare.compare_runs``)."""
    return compare.compare_runs(first, second, loaders.workspace())
