"""Segment: choose the encoder and the algorithm, run, and judge the segments on the map and the charts."""

import streamlit as st

from segmentation.core.errors import SegmentationError
from segmentation.present import form
from segmentation.present.maps import label_positions, sample_note, sample_rows, selected_rows
from segmentation.present.views import (
    dendrogram_lines,
    knife_frame,
    map_frame,
    quality_cards,
    quality_reading,
    segment_labels,
    selected_users_table,
    size_frame,
    sweep_long,
    sweep_sample_note,
    with_match,
)
from ui import charts, data, editing, loaders, params, refine, route, runs, session, state
from ui.text import labelled, long_text_table, show_error

route.through_app()

st.title("Segment")
try:
    comments = data.comments()
except SegmentationError as error:
    show_error(error)
    st.page_link("pages/data.py", label="Fix the data on the Data page", icon=":material/table:")
    st.stop()
labelled("Data", f"{data.source().name}: {comments.n_users:,} users, {comments.n_comments:,} comments")
data.show_note()
state.seed(runs.shown_settings(comments))  # a reload shows the settings of the run it restores


# The settings and Run are a fragment of their own: moving the k slider or choosing an encoder reruns only them, not
# the map and charts below (issue 20). Run hands its settings to the whole page's next run, which computes them with
# live progress and a Cancel that stops it: a click inside a fragment would only be heard once the run was over.
@st.fragment
def settings_section() -> None:
    choices = form.encoder_choices(comments)
    encoder_box, algorithm_box = st.columns(2)
    with encoder_box:
        encoder = state.kept(
            st.selectbox, "Encoder", key="seg_encoder", default=choices.suggested, options=list(choices.statuses),
            format_func=choices.label,
            help="How comments become vectors. Unavailable encoders are listed with the reason.",
        )
        status = choices.statuses[encoder]
        if (warning := choices.language_warning(encoder)) is not None:
            st.warning(warning, icon=":material/translate:")
        spec = encoder
        if status.argument:
            argument = state.kept(st.text_input, status.argument, key=f"seg_encoder_arg_{encoder}", default="")
            spec = form.encoder_spec(encoder, argument)
    with algorithm_box:
        algorithm = state.kept(st.selectbox, "Algorithm", key="seg_algorithm", default=form.DEFAULT_ALGORITHM,
                               options=form.algorithm_names(), format_func=lambda name: form.clusterer(name).label)
    clusterer = form.clusterer(algorithm)
    own = {}  # the algorithm's own parameters, drawn from their declarations
    automatic = {}  # the greyed controls of automatic parameters, filled with the value the run shown took
    size_box, option_box = st.columns(2)
    for param in clusterer.parameters:  # counts on the left, choices on the right
        with option_box if param.options is not None else size_box:
            # Only the swept parameter has a value chosen by the run to show in its place.
            own[param.name] = params.widget(param, n_users=comments.n_users,
                                            slots=automatic if param.name == clusterer.sweep_param else None)
    shown = runs.shown(comments)
    choice = shown.result.choice if shown is not None and shown.result.config.algorithm == algorithm else None
    for param in clusterer.parameters:
        if param.name in automatic:  # the value the automatic choice took, where the run shown made one
            params.show_chosen(param, automatic[param.name], choice.k if choice is not None else None,
                               n_users=comments.n_users)
    with st.expander("Advanced: seed, recency, user attributes"):
        seed_param, half_life_param, attributes_param = (form.ADVANCED[name]
                                                         for name in ("seed", "half_life_days", "attributes"))
        seed = state.kept(st.number_input, seed_param.label, key=seed_param.widget_key, default=0, min_value=0,
                          step=1)
        half_life = 0.0
        if comments.has_times:
            half_life = state.kept(st.number_input, half_life_param.label, key=half_life_param.widget_key,
                                   default=0.0, min_value=0.0, step=30.0)
        attribute_options = comments.attribute_columns()
        attributes = state.kept(st.multiselect, attributes_param.label, key=attributes_param.widget_key,
                                default=[], options=attribute_options, disabled=not attribute_options,
                                help="Columns with one value per user (age, plan…)")

    try:
        config = form.segment_config(spec, algorithm, own, half_life_days=half_life, attributes=attributes,
                                     seed=seed)
    except SegmentationError as error:
        show_error(error)
        return

    if not status.available:
        st.warning(f"{status.label} cannot run here: {status.reason}. Choose another encoder.")
    elif loaders.is_prepared(comments, config):
        st.caption("Embeddings and map are cached: a run re-uses them and only re-clusters.")
    else:
        if (note := loaders.setup_note(spec)) is not None:
            st.caption(note)
        estimate = loaders.encode_estimate(spec, comments)
        if estimate is None or estimate.seconds is None:
            st.caption("Encoding time depends on the model and the endpoint; cached comments cost nothing.")
        elif estimate.n_texts == 0:
            st.caption("Every comment is encoded already (kept from before): encoding takes no time.")
        else:
            basis = ("at the speed measured on this machine" if estimate.measured
                     else "a first guess until a run is timed")
            st.caption(f"Estimated encoding time: about {form.duration(estimate.seconds)} for "
                       f"{estimate.n_texts:,} comments not encoded before, {basis}, allowing for their length and "
                       "how busy the machine is.")
            if form.suggests_fast(encoder, estimate.seconds, choices):
                st.info(form.fast_advice(comments.n_comments, loaders.encode_estimate("fast", comments).seconds))
    if st.button("Run", type="primary", disabled=not status.available, icon=":material/play_arrow:"):
        session.ask_run(config)
        st.rerun(scope="app")
    if shown is not None and shown.result.config != config:
        st.caption(f"Showing run {shown.run_key}, made with other settings; press Run to apply the changed "
                   "settings.")


settings_box = st.container()  # drawn below, once the run shown is known: its controls say what that run took
if (asked := session.asked_run()) is not None:
    try:
        runs.compute(comments, asked, data.source().digest)
    except SegmentationError as error:
        show_error(error)
elif session.cancelled():
    st.info("Run cancelled: nothing was changed. Press Run to start again.", icon=":material/stop:")

try:
    run = runs.current(comments)
except SegmentationError as error:
    run, problem = None, error
else:
    problem = None
with settings_box:
    settings_section()
if problem is not None:
    show_error(problem)
    st.stop()
if run is None:
    st.info("Choose the settings and press Run to segment the users.")
    st.stop()

result = runs.named_result(run)
labels = segment_labels(result.segments)
metrics = result.metrics

st.subheader("Quality")
if result.choice is not None:
    st.info(result.choice.reason + ".", icon=":material/tune:")
for warning in result.warnings:
    st.warning(warning, icon=":material/warning:")
cards = st.columns(6)
for box, card in zip(cards, quality_cards(metrics, len(result.user_ids)), strict=True):
    box.metric(card.label, card.value, help=card.help)
st.caption(quality_reading(metrics, len(result.user_ids)))
timing = ", ".join(f"{stage} {seconds:.1f} s" for stage, seconds in run.stage_times.items())
st.caption(f"Run took {run.elapsed:.1f} s" + (" (embeddings and map re-used)" if run.reused else "")
           + (f": {timing}" if timing else ""))
# Each note once: the automatic k's reason is already the box above, and a restored run's notes repeat its own.
told = {result.choice.reason} if result.choice is not None else set()
for note in dict.fromkeys(n for n in [*run.notes, *result.notes] if n not in told):
    st.text(note)
refine.panel(comments, run, data.source().digest)

snippets = loaders.snippets_for(run.fingerprint, run.prepared.comments, run.result.user_ids)
colours = charts.segment_colours(labels)
# The map's rows and their escaped hover text, built once per run, edit and names: a search only sets who matches.
whole_map = loaders.kept(map_frame, result.assignments, labels, snippets)


# A search, the contours and a selection on the map rerun only this part of the page, not the quality cards
# and charts below (issue 20: every click reran the whole page, 2-6 s). An edit that changes the segments
# reruns the whole page (ui.editing).
@st.fragment
def map_section() -> None:
    st.subheader("Map")
    words_box, meaning_box, contour_box = st.columns([2, 2, 1])
    words = state.kept(words_box.text_input, "Find users whose comments mention", key="map_words", default="",
                       placeholder="e.g. battery life", help="Every word must appear; not case-sensitive.")
    meaning = state.kept(meaning_box.text_input, "Find users by meaning", key="map_meaning", default="",
                         placeholder="e.g. arrived broken",
                         help="Rings the users who wrote the 20 comments closest in meaning, found with this "
                              "run's encoder, and lists those comments.")
    contours = state.kept(contour_box.checkbox, "Density contours", key="map_contours", default=False)
    try:
        nearest = loaders.nearest_for(run.fingerprint, run.result.config, meaning.strip(), run.prepared) \
            if meaning.strip() else None
    except SegmentationError as error:
        show_error(error)
        nearest = None
    finder = loaders.word_search_for(run.fingerprint, run.run_key, comments, result.user_ids)
    try:
        match = finder.matches(words, nearest)
    except SegmentationError as error:
        show_error(error)
        match = None
    frame = with_match(whole_map, match)
    drawn = sample_rows(frame["segment"].to_numpy(), keep=frame.index[frame["match"]])
    shown = frame.iloc[drawn]
    names = label_positions(frame["x"].to_numpy(), frame["y"].to_numpy(), frame["segment"].to_numpy(), labels)
    event = st.plotly_chart(loaders.kept(charts.segment_map, shown, colours, names=names, contours=contours),
                            key="segment_map", on_select="rerun", selection_mode=("box", "lasso"),
                            config=charts.MAP_CONFIG)
    if len(shown) < len(frame):
        st.caption(sample_note(len(shown), len(frame), searched=match is not None, selectable=True))
    unnamed = sum(segment >= 0 for segment in labels) - len(names)
    st.caption("Users close together write alike; the axes themselves mean nothing. Click a segment in the "
               "legend to show it alone; double-click to hide it."
               + (f" {unnamed} smaller segments are not named on the map, so that no two names overlap: their "
                  "names are in the legend and in each point's hover text." if unnamed else "")
               + (f" “Between segments” in the legend marks the {int(shown['between'].sum()):,} users whose own "
                  "segment is barely nearer than the next one: click it to see only them."
                  if shown["between"].any() else ""))
    if match is not None:
        st.caption(f"{int(match.sum()):,} users ringed on the map.")
    if nearest is not None:
        long_text_table(nearest, column_config={"text": st.column_config.TextColumn("comment", width="large")})
    rows = []
    if event and event.selection:
        rows = selected_rows(*charts.drawn_positions(frame), frame["segment"].to_numpy(), event.selection, drawn)
    if len(rows):
        editing.selection_panel(run, result, labels, frame["user_id"].to_numpy()[rows])
        long_text_table(selected_users_table(result.assignments, rows, comments, labels),
                        column_config={"comments": st.column_config.TextColumn(width="large")})
    else:
        st.caption("Drag a box or a lasso on the map to see what those users say and to save them as a segment.")


# Picking the segments to merge reruns only the merge panel: inside the map's part it redrew the map too.
@st.fragment
def merge_section() -> None:
    editing.merge_panel(run, result, labels)


CHART_TABS = ("Segment sizes", "Silhouette per user", "Quality sweep", "Dendrogram")


# The charts below the map, one tab at a time and only the open one drawn, in a fragment of their own: a page switch
# or a new k drew four plotly charts where the user sees the map and one (issue 20), and choosing a tab reruns only
# this part. The k-sweep is computed the first time its tab is opened.
@st.fragment
def charts_section() -> None:
    tabs = state.kept_tabs(list(CHART_TABS if result.tree is not None else CHART_TABS[:-1]), key="seg_chart",
                           default=CHART_TABS[0])
    if tabs["Segment sizes"].open:
        tabs["Segment sizes"].plotly_chart(loaders.kept(charts.segment_sizes, size_frame(result.segments, labels),
                                                        colours), key="sizes")
    if tabs["Silhouette per user"].open:
        tabs["Silhouette per user"].plotly_chart(loaders.kept(
            charts.silhouette_knife, knife_frame(result.labels, result.silhouette, labels), metrics["silhouette"],
            colours), key="knife")
    if tabs["Quality sweep"].open:
        with tabs["Quality sweep"]:
            sweep_chart()
    if "Dendrogram" in tabs and tabs["Dendrogram"].open:
        tabs["Dendrogram"].plotly_chart(charts.dendrogram(dendrogram_lines(result.tree, labels=result.labels,
                                                                           k=int(metrics["n_segments"])),
                                                          labels, colours), key="dendrogram")


def sweep_chart() -> None:
    """Quality against k (or the minimum cluster size) over the slider's range, this run's value marked."""
    shown = run.result.config
    table = loaders.sweep_for(run.fingerprint, shown, run.prepared, form.sweep_top(comments.n_users))
    if table.empty:
        st.caption("Too few users to compare numbers of segments: no k-sweep.")
        return
    x = form.clusterer(shown.algorithm).sweep_param
    current = int(metrics["n_segments"]) if x == "k" else result.config.min_cluster_size
    if x != "k" and result.choice is not None:
        current = result.choice.k
    chosen = result.choice.k if result.choice is not None else None
    st.plotly_chart(loaders.kept(charts.sweep_chart, sweep_long(table, x), chosen=chosen, current=current, x=x),
                    key="sweep")
    if note := sweep_sample_note(table):
        st.caption(note)


map_section()
merge_section()
charts_section()
st.page_link("pages/segments.py", label="Next: name the segments", icon=":material/arrow_forward:")
