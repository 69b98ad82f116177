"""The Segment page's offer to refine a fast run in the background (:mod:`segmentation.runs.refine`), drawn.

The refinement runs on a thread of the server, one per refined run, so it goes on while the user names and
explores the fast segments, and survives a reload; its line (stage, time spent, time left, Cancel) reruns on
its own every second and nothing else on the page does. When it is done the page says how much the segments
changed and offers them; showing them carries the names typed meanwhile.
"""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

from segmentation.embed.base import ENCODERS
from segmentation.ingest.comments import Comments
from segmentation.runs.refine import Refinement, RefineStatus, refined_config
from segmentation.runs.service import Run
from ui import loaders, session, settings, state
from ui.runs import STAGE_LABELS, clock

POLL_S = 1.0  # how often the progress line redraws itself


@st.cache_resource(show_spinner=False)
def _refinements() -> dict[str, Refinement]:
    """The refinements of this server, by the key of the run they refine: a reload or another tab finds its own."""
    return {}


def panel(comments: Comments, run: Run, file_sha256: str | None) -> None:
    """Offer, follow or hand over the refinement of the run shown; nothing where it has none."""
    config = refined_config(comments, run.result.config)
    if config is None:
        return
    target = ENCODERS[config.encoder].label.split(" (")[0]  # a label is "Name (details)": the name alone
    job = _refinements().get(run.run_key)
    if job is None:
        estimate = loaders.encode_estimate(config.encoder, comments)
        takes = f" It takes about {clock(estimate.seconds)} here" if estimate and estimate.seconds else ""
        st.info(f"These segments come from the fast encoder, which matched real groups less well than {target} in "
                f"our tests.{takes}; you can go on working meanwhile, and it is saved as a run of its own.",
                icon=":material/auto_awesome:")
        st.button(f"Refine with {target} in the background", key="refine_start", icon=":material/auto_awesome:",
                  on_click=_start, args=(comments, run, config, file_sha256,
                                         estimate.seconds if estimate else None))
        return
    status = job.status()
    if status.state == "running":
        _following(run.run_key, target)
    elif status.state == "done":
        _offer(job, target)
    else:
        _ended(run.run_key, status, target)


def _start(comments: Comments, run: Run, config, file_sha256: str | None, expected_s: float | None) -> None:
    context = get_script_run_ctx()
    job = Refinement(comments, run.run_key, config, workspace=loaders.workspace(),
                     compute=loaders.run_segmentation, file_sha256=file_sha256, expected_s=expected_s)
    _refinements()[run.run_key] = job
    # The page's context on the thread, so the prepared data it computes lands in the app's caches.
    job.start(lambda thread: add_script_run_ctx(thread, context) if context is not None else None)


@st.fragment(run_every=POLL_S)
def _following(run_key: str, target: str) -> None:
    job = _refinements().get(run_key)
    if job is None:
        return
    status = job.status()
    if status.state != "running":  # the whole page draws what comes next
        st.rerun()
    bar, cancel = st.columns([5, 1])
    bar.progress(_share(status), text=f"Refining with {target}: {_line(status)}")
    cancel.button("Cancel", key="refine_cancel", icon=":material/stop:", on_click=job.cancel)


def _share(status: RefineStatus) -> float:
    return min(status.done / status.total, 1.0) if status.stage == "encode" and status.total else 0.0


def _line(status: RefineStatus) -> str:
    label = STAGE_LABELS.get(status.stage, "starting") if status.stage else "starting"
    counts = f" {status.done:,} / {status.total:,}" if status.stage == "encode" else ""
    left = f", about {clock(status.left)} left" if status.left is not None else ""
    return f"{label.lower()}{counts} · {clock(status.elapsed)} spent{left}"


def _offer(job: Refinement, target: str) -> None:
    comparison = job.comparison()
    moved = comparison.n_moved
    share = moved / max(comparison.n_common, 1)
    segments = int(job.run.result.metrics.get("n_segments", 0))
    st.success(f"The {target} segments are ready (run {job.run.run_key}, {segments} segments). They agree with "
               f"these at ARI {comparison.ari:.2f}: {moved:,} of {comparison.n_common:,} users ({share:.0%}) "
               "are in another segment. Showing them carries over the names you gave here.",
               icon=":material/auto_awesome:")
    show, keep = st.columns(2)
    show.button(f"Show the {target} segments", key="refine_show", type="primary", on_click=_show,
                args=(job,), icon=":material/swap_horiz:")
    keep.button("Keep these", key="refine_keep", on_click=_forget, args=(job.source_key,),
                help="The refined run stays saved: the Runs page lists it.")


def _ended(run_key: str, status: RefineStatus, target: str) -> None:
    if status.state == "cancelled":
        st.info(f"Refining with {target} was cancelled: nothing was saved.", icon=":material/stop:")
    else:
        st.error(f"Refining with {target} failed: {status.error}", icon=":material/error:")
    st.button("Dismiss", key="refine_dismiss", on_click=_forget, args=(run_key,))


def _show(job: Refinement) -> None:
    """Button callback: names typed since the refinement was saved follow their users, then it is shown."""
    job.carry_names()
    _forget(job.source_key)
    session.set_run(job.run)
    state.adopt_now(settings.segment_widgets(job.run.result.config.to_dict()))


def _forget(run_key: str) -> None:
    _refinements().pop(run_key, None)
