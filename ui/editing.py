"""The Segment page's editing panels: a map selection described and saved as a segment, two segments
merged, the last edit undone and redone. Each edit shows its preview (sizes, silhouette) before it is
saved, and undo and redo show the edit they will take back or bring back before the click; the work is in
``segmentation.runs.edits``."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence

import pandas as pd
import streamlit as st

from segmentation.core.errors import SegmentationError
from segmentation.pipeline.segment import SegmentResult
from segmentation.runs.edits import ACTIVE, UNDONE, EditPreview, apply_edits, merge_edit, preview, split_edit, summary
from ui import loaders
from ui import runs as runs_ui
from ui.runs import Run
from ui.text import show_error

_TOAST = "edit_toast"
_REFUSED = "edit_refused"  # str: why the last undo or redo changed nothing, shown once
_SESSION = "edit_session"  # str: this browser session's id, kept with its edits


def _session() -> str:
    """This session's id, so that an undo can tell the user an edit was made in another session."""
    return st.session_state.setdefault(_SESSION, uuid.uuid4().hex)


def _after_rerun(message: str) -> None:
    """Rerun the page (the edit changes every chart) and say what happened once it is drawn again."""
    st.session_state[_TOAST] = message
    st.rerun()


def _show_preview(result: SegmentResult, after, labels: Mapping[int, str], run: Run) -> None:
    space = run.prepared.space(*result.config.space)
    seed = result.config.seed
    sums = loaders.silhouette_sums_for(run.run_key, hashlib.sha256(result.labels.tobytes()).hexdigest()[:16], space,
                                       result.labels, seed)
    seen: EditPreview = preview(space, result.labels, after, seed=seed, sums=sums)
    sizes = seen.sizes.assign(segment=[labels.get(s, "New segment") for s in seen.sizes["segment"]])
    sizes["change"] = sizes["after"] - sizes["before"]
    st.dataframe(sizes[sizes["change"] != 0], hide_index=True)

    def fmt(value: float | None) -> str:
        return "—" if value is None else f"{value:.3f}"

    st.caption(f"Silhouette {fmt(seen.silhouette_before)} now, {fmt(seen.silhouette_after)} after the edit.")


def selection_panel(run: Run, result: SegmentResult, labels: Mapping[int, str], users: Sequence[str]) -> None:
    """What the selected users are about against the rest, and saving them as a new segment."""
    chosen = tuple(sorted(map(str, users)))
    key = hashlib.sha256("\n".join(chosen).encode()).hexdigest()[:16]
    about = loaders.selection_for(run.fingerprint, key, run.prepared, chosen)
    st.write(f"{about.size:,} users selected ({about.share:.0%} of all users)")
    words, quotes = st.columns(2)
    words.text("Keywords against the rest: " + (", ".join(about.keywords) or "none stand out"))
    with quotes:
        for quote in about.representative_comments:
            st.text(f"“{quote}”")
    with st.expander("Save the selection as a new segment"):
        try:
            edit = split_edit(result.user_ids, chosen)
        except SegmentationError as error:
            show_error(error)
            return
        after = apply_edits(result.labels, result.user_ids, [edit])
        _show_preview(result, after, labels, run)
        if st.button("Save as a new segment", key="edit_split", icon=":material/call_split:"):
            # With the members' profiles the new segment keeps a centre, so `assign` can place new users in it.
            edit = split_edit(result.user_ids, chosen, run.prepared.profiles.vectors)
            loaders.edit_log().add(run.run_key, edit, labels=result.labels, session=_session())
            _after_rerun("Saved as a new segment; undo it under “Merge segments, undo edits”.")


def merge_panel(run: Run, result: SegmentResult, labels: Mapping[int, str]) -> None:
    """Merging two segments (with a preview), the edit history, undo and redo."""
    told = st.session_state.pop(_TOAST, None)
    if told:
        st.toast(told, icon=":material/check:")
    log = loaders.edit_log()
    history = log.history(run.run_key)
    edits = [e for e in history if e.state == ACTIVE]
    with st.expander(f"Merge segments, undo edits ({len(edits)} edits so far)"):
        ids = [s for s in sorted(labels) if s >= 0]
        if len(ids) >= 2:
            keep_box, absorb_box = st.columns(2)
            # Nothing chosen at first: the preview (a silhouette) is computed only once two are picked.
            kept = keep_box.selectbox("Keep this segment", ids, index=None, format_func=labels.get,
                                      key="edit_keep", placeholder="Choose a segment")
            absorbed = absorb_box.selectbox("and merge this one into it", ids, index=None,
                                            format_func=labels.get, key="edit_absorb",
                                            placeholder="Choose another segment")
            if kept is None or absorbed is None:
                st.caption("Choose two segments to see the sizes and quality after merging them.")
            else:
                _merge(run, result, labels, kept, absorbed)
        refused = st.session_state.pop(_REFUSED, None)
        if refused:
            show_error(refused)
        # A merged-away segment keeps its saved name for the history, shown nowhere else.
        names = {**{s: n.name for s, n in runs_ui.names(run).items()}, **labels}
        if edits:
            st.dataframe(pd.DataFrame({"when": [e.created_at for e in edits],
                                       "edit": [e.describe(names) for e in edits]}), hide_index=True)
        _undo_redo(run, log, history, names)


def _undo_redo(run: Run, log, history, names: Mapping[int, str]) -> None:
    """Undo and Redo, each saying first which edit it acts on; the click passes the id of the edit shown,
    so an edit another session made since is never taken back unseen."""
    session = _session()
    active = [e for e in history if e.state == ACTIVE]
    undone = [e for e in history if e.state == UNDONE]
    undo_box, redo_box = st.columns(2)
    if active:
        undo_box.caption(f"Undo: {summary(active[-1], names, session)}")
    undo_box.button("Undo the last edit", key="edit_undo", icon=":material/undo:", disabled=not active,
                    on_click=_flip, args=(log.undo, run.run_key, active[-1].id if active else None, names, "Undone"))
    if undone:
        redo_box.caption(f"Redo: {summary(undone[0], names, session)}")
    redo_box.button("Redo", key="edit_redo", icon=":material/redo:", disabled=not undone,
                    on_click=_flip, args=(log.redo, run.run_key, undone[0].id if undone else None, names, "Redone"))


def _flip(action, run_key: str, edit_id: int | None, names: Mapping[int, str], done: str) -> None:
    """Undo or redo the edit that was shown (a button callback: ``edit_id`` is the one drawn before the click)."""
    if edit_id is None:
        return
    try:
        edit = action(run_key, edit_id, names, _session())
    except SegmentationError as error:
        st.session_state[_REFUSED] = error
        return
    st.session_state[_TOAST] = f"{done}: {edit.describe(names)}"
    # The segments changed: the whole page reruns, not only the merge panel's part of it.
    st.rerun()


def _merge(run: Run, result: SegmentResult, labels: Mapping[int, str], kept: int, absorbed: int) -> None:
    try:
        edit = merge_edit(result.labels, kept, absorbed)
    except SegmentationError as error:
        show_error(error)
        return
    _show_preview(result, apply_edits(result.labels, result.user_ids, [edit]), labels, run)
    if st.button("Merge", key="edit_merge", icon=":material/call_merge:"):
        loaders.edit_log().add(run.run_key, edit, labels=result.labels, session=_session())
        _after_rerun("Segments merged; undo it here.")
