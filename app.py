"""Segment studio: the page router. Pages live in pages/, shared helpers in ui/, the work in segmentation/."""

import streamlit as st

from ui.loaders import warm_up
from ui.runs import follow_address

# An emoji, not a Material icon: a Material page icon makes the browser fetch the favicon from Google.
st.set_page_config(page_title="Segment studio", page_icon="📊", layout="wide")
warm_up()
follow_address()  # the run in the address and the session's are one, on whichever page opens
st.navigation(
    [
        st.Page("pages/data.py", title="Data", icon=":material/table:", default=True),
        st.Page("pages/segment.py", title="Segment", icon=":material/scatter_plot:"),
        st.Page("pages/segments.py", title="Segments", icon=":material/label:"),
        st.Page("pages/recommend.py", title="Recommend", icon=":material/recommend:"),
        st.Page("pages/runs.py", title="Runs", icon=":material/history:"),
    ]
).run()
