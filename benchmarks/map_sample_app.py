"""The Segment page's map alone, drawn from a sample of a given size: the page that ``map_sample.py`` times.

    streamlit run benchmarks/map_sample_app.py   (with MAP_SAMPLE_RUN naming the run that map_sample.py kept)

The address's ``?n=`` is the sample's size (0: every user). A word search reruns the map's fragment, as on the
Segment page, so a search's time is the map's own: the sample, the figure, sending it and drawing it.
"""

from __future__ import annotations

import os
import pickle
import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from segmentation.present.maps import WordSearch, label_positions, sample_rows  # noqa: E402
from segmentation.present.views import map_frame  # noqa: E402
from ui import charts  # noqa: E402


@st.cache_resource
def kept_run() -> dict:
    # Written by map_sample.py into its own temporary folder a moment before this server started.
    with open(os.environ["MAP_SAMPLE_RUN"], "rb") as file:
        return pickle.load(file)


run = kept_run()
assignments, labels, comments = run["assignments"], run["labels"], run["comments"]
limit = int(st.query_params.get("n", "0")) or len(assignments)
colours = charts.segment_colours(labels)


@st.fragment
def map_section() -> None:
    words = st.text_input("Find users whose comments mention", key="words")
    match = WordSearch(comments, assignments["user_id"].tolist()).matches(words)
    frame = map_frame(assignments, labels, run["snippets"], match=match)
    drawn = sample_rows(frame["segment"].to_numpy(), limit, keep=frame.index[frame["match"]])
    names = label_positions(frame["x"].to_numpy(), frame["y"].to_numpy(), frame["segment"].to_numpy(), labels)
    st.plotly_chart(charts.segment_map(frame.iloc[drawn], colours, names=names), key="segment_map",
                    on_select="rerun", selection_mode=("box", "lasso"))
    st.caption(f"Drawn: {len(drawn):,} of {len(frame):,} users; "
               f"{0 if match is None else int(match.sum()):,} users ringed on the map.")


map_section()
