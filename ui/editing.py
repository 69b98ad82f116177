"""The Segment page's editing panels: a map selection described and saved as a segment, two segments
merged, the last edit undone. Each edit shows its preview (sizes, silhouette) before it is saved; the
work is in ``segmentation.edits``."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

import pandas as pd
import streamlit as st

from segmentation.edits import EditPreview, apply_edits, merge_edit, preview, split_edit
from segmentation.errors import SegmentationError
from segmentation.pipeline import SegmentResult
from ui import loaders
from ui.runs import Run
from ui.text import show_error

_TOAST = "edit_toast"


def _after_rerun(message: str) -> None:
    """Rerun the page (the edit changes every chart) and say what happened once it is drawn again."""
    st.session_state[_TOAST] = message
    st.rerun()


def _show_preview(result: SegmentResult, after, labels: Mapping[int, str], run: Run) -> None:
    space = run.prepared.space(*result.config.space)
    seen: EditPreview = preview(space, result.labels, after, seed=result.config.seed)
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
            loaders.edit_log().add(run.run_key, edit)
            _after_rerun("Saved as a new segment; undo it under “Merge segments, undo edits”.")


def merge_panel(run: Run, result: SegmentResult, labels: Mapping[int, str]) -> None:
    """Merging two segments (with a preview), the edit history and undo."""
    told = st.session_state.pop(_TOAST, None)
    if told:
        st.toast(told, icon=":material/check:")
    log = loaders.edit_log()
    edits = log.edits(run.run_key)
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
        if edits:
            st.dataframe(pd.DataFrame({"when": [e.created_at for e in edits],
                                       "edit": [e.describe() for e in edits]}), hide_index=True)
            if st.button("Undo the last edit", key="edit_undo", icon=":material/undo:"):
                undone = log.undo(run.run_key)
                _after_rerun(f"Undone: {undone.describe()}" if undone else "Nothing to undo")


def _merge(run: Run, result: SegmentResult, labels: Mapping[int, str], kept: int, absorbed: int) -> None:
    try:
        edit = merge_edit(result.labels, kept, absorbed)
    except SegmentationError as error:
        show_error(error)
        return
    _show_preview(result, apply_edits(result.labels, result.user_ids, [edit]), labels, run)
    if st.button("Merge", key="edit_merge", icon=":material/call_merge:"):
        loaders.edit_log().add(run.run_key, edit)
        _after_rerun("Segments merged; undo it here.")
