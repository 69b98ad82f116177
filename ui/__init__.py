"""Streamlit helpers shared by the pages: cached loaders, session state, charts and safe text."""
