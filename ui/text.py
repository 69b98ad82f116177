"""Showing untrusted text (comments, ids, names, file names) as text: never Markdown, never HTML."""

from __future__ import annotations

import streamlit as st

from segmentation.core.errors import SegmentationError
from segmentation.present.views import escape_markdown


def labelled(label: str, value: object) -> None:
    """``label: value`` where the label is ours and the value is shown literally."""
    st.text(f"{label}: {value}")


def show_error(error: Exception) -> None:
    """The library's own message for a known problem; one line, no traceback, for anything else."""
    if isinstance(error, SegmentationError):
        message = str(error)
    else:
        first = str(error).splitlines()[0] if str(error) else ""
        message = f"Something went wrong ({type(error).__name__}): {first}"
    # st.error renders Markdown, and the message may quote a file or column name from the upload.
    st.error(escape_markdown(message), icon=":material/error:")


# Streamlit's table wraps text in its cells only when rows are taller than 4 rem (64 px); at 84 px a cell
# shows about three lines, and a double click (or Enter) on a cell still opens its whole text.
WRAPPED_ROW_PX = 84


def long_text_table(frame, **kwargs) -> None:
    """A table whose long text cells (comments, reasons) wrap instead of being cut off."""
    st.dataframe(frame, hide_index=True, row_height=WRAPPED_ROW_PX, **kwargs)
