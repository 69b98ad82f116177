"""The Segments page's layers section: build broad groups over the run's segments, switch the map and the cards
between the coarse and the fine layer, and name the broad groups (kept in the workspace, apart from segment names).

The tree is kept in the workspace (:class:`segmentation.runs.layers.Layers`), so it is read back, never rebuilt, on
every rerun; the broad groups' descriptions are computed once per run, tree and fine names.
"""

from __future__ import annotations

import json

import streamlit as st

from segmentation.cluster.hierarchy import AUTO, from_parents
from segmentation.core.errors import SegmentationError
from segmentation.core.labels import NOISE
from segmentation.describe.layers import describe_coarse
from segmentation.describe.segments import SegmentDescription
from segmentation.ingest.io import Comments
from segmentation.present.hierarchy import COARSE, FINE, LAYERS, layer_assignments, named, summary, tree_table
from segmentation.present.maps import sample_note, sample_rows
from segmentation.present.views import map_frame
from segmentation.runs.layers import Layers, build_layers
from segmentation.runs.service import Run
from ui import loaders, session
from ui.charts import MAP_CONFIG, segment_colours, segment_map
from ui.text import labelled, show_error


@st.cache_data(max_entries=8, show_spinner="Describing the broad groups…")
def _described(run_key: str, tree_json: str, fine_names: tuple[str, ...], _run: Run, _coarse) -> list:
    prepared = _run.prepared
    return describe_coarse(prepared.comments, prepared.profiles, _coarse, prepared.embeddings,
                           fine_names=fine_names, terms=prepared.terms, item_labels=prepared.item_labels)


def _build(run: Run, store: Layers, fine_names: dict[int, str], chosen: int | str) -> None:
    try:
        built = build_layers(run.prepared, run.run_key, run.result.user_ids, run.result.labels, chosen,
                             fine_names=fine_names.values(), layers=store)
    except SegmentationError as error:
        show_error(error)
        return
    for note in built.notes:
        st.info(note)


def show(comments: Comments | None, run: Run, labels: dict[int, str]) -> None:
    """Draw the layers section: the build controls, then (once built) the layer switch, the map and the cards."""
    st.subheader("Broad groups")
    fine_ids = sorted(s.id for s in run.result.segments if s.id != NOISE)
    if comments is None:
        st.caption("Broad groups need the comments: they are not available for a run folder.")
        return
    if len(fine_ids) < 3:
        st.caption("Broad groups group the run's segments: a run needs 3 segments or more for them.")
        return
    st.caption("A coarse layer over these segments: the segments whose users lie closest are merged, the small ones "
               "weighed by their size, so each broad group is a set of whole segments.")
    store = Layers(loaders.workspace())
    controls = st.columns([2, 1])
    # The key names the number of segments: a run with fewer segments never finds a choice it does not offer.
    chosen = controls[0].selectbox("Broad groups", [AUTO, *range(2, len(fine_ids))],
                                   key=f"hier_coarse_k_{len(fine_ids)}",
                                   format_func=lambda k: "Choose automatically" if k == AUTO else str(k))
    if controls[1].button("Build broad groups", key="hier_build"):
        _build(run, store, labels, chosen)
    tree = store.tree(run.run_key)
    if tree is None:
        return
    try:
        coarse = from_parents(run.result.labels, tree["parent"])
    except SegmentationError as error:  # segments changed since the tree was kept (a hand edit)
        show_error(error)
        return
    st.text(summary(tree))  # the reason quotes no user text, but text keeps it out of Markdown all the same
    fine_names = tuple(labels.get(s, "") for s in fine_ids)
    groups = _described(run.run_key, json.dumps(tree, sort_keys=True), fine_names, _run=run, _coarse=coarse)
    coarse_labels = named(groups, store.names(run.run_key))
    layer = st.radio("Show", [COARSE, FINE], format_func=LAYERS.get, horizontal=True, key="hier_layer")
    _map(comments, run, tree["parent"], coarse_labels if layer == COARSE else labels, layer)
    if layer == FINE:
        st.dataframe(tree_table(tree["parent"], run.result.labels, labels, coarse_labels), hide_index=True,
                     key="hier_tree")
        return
    for group in groups:
        if group.id != NOISE:
            _card(run, store, group, tree["parent"], labels)


def _map(comments: Comments, run: Run, parent: dict[int, int], shown: dict[int, str], layer: str) -> None:
    assignments = run.result.assignments
    if layer == COARSE:
        assignments = layer_assignments(assignments, from_parents(assignments["segment"].to_numpy(), parent))
    snippets = loaders.snippets_for(comments.fingerprint(), comments, assignments["user_id"])
    frame = map_frame(assignments, shown, snippets)
    drawn = sample_rows(frame["segment"].to_numpy())  # the Segment page's sample: a lighter figure, the same look
    if len(drawn) < len(frame):
        st.caption(sample_note(len(drawn), len(frame)))
    frame = frame.iloc[drawn]
    st.plotly_chart(segment_map(frame, segment_colours(shown),
                                title=f"Users on the map, coloured by {LAYERS[layer].lower()}"), key="hier_map",
                    config=MAP_CONFIG)


def _card(run: Run, store: Layers, group: SegmentDescription, parent: dict[int, int], labels: dict[int, str]) -> None:
    saved = store.names(run.run_key).get(group.id)
    shown = saved.name if saved else group.name
    with st.container(border=True):
        st.subheader(f"Broad group {group.id}")
        figures = st.columns(3)
        figures[0].metric("Users", f"{group.size:,}")
        figures[1].metric("Share", f"{group.share:.0%}")
        if group.mean_rating is not None:
            figures[2].metric("Mean rating", f"{group.mean_rating:.2f}")
        labelled("Suggested name", group.name)
        labelled("Keywords", ", ".join(group.keywords))
        labelled("Its segments", "; ".join(labels.get(s, f"Segment {s}") for s, p in sorted(parent.items())
                                           if p == group.id))
        key = f"coarse_name_{run.run_key}_{group.id}"
        # Saved in the input's callback, before the page runs again: the map above the cards then shows it at once.
        st.text_input("Name of the broad group", value=shown, max_chars=80, key=key, on_change=_save_name,
                      args=(store, run.run_key, group.id, key, shown, tuple(labels.values())))
        if (error := session.name_error(key)) is not None:
            show_error(SegmentationError(error))


def _save_name(store: Layers, run_key: str, group_id: int, key: str, shown: str, taken: tuple[str, ...]) -> None:
    """Input callback: keep the typed name of a broad group, or the reason it was refused."""
    typed = st.session_state.get(key, "")
    if not typed.strip() or " ".join(typed.split()) == shown:
        return
    try:
        store.save_name(run_key, group_id, typed, taken=taken)
    except SegmentationError as error:
        session.set_name_error(key, str(error))
    else:
        session.set_name_error(key, None)
        st.toast("Saved the broad group's name", icon=":material/check:")
