"""Segment studio: the page router. Pages live in pages/, shared helpers in ui/, the work in segmentation/."""

import streamlit as st

from ui.loaders import warm_up

st.set_page_config(page_title="Segment studio", page_icon=":material/scatter_plot:", layout="wide")
warm_up()
st.navigation(
    [
        st.Page("pages/data.py", title="Data", icon=":material/table:", default=True),
        st.Page("pages/segment.py", title="Segment", icon=":material/scatter_plot:"),
        st.Page("pages/segments.py", title="Segments", icon=":material/label:"),
        st.Page("pages/recommend.py", title="Recommend", icon=":material/recommend:"),
    ]
).run()
