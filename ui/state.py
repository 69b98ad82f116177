"""Session state that survives page switches.

Streamlit drops a widget's value from session state when a page without that widget runs. ``kept``
stores each value under a shadow key as well and puts it back before the widget is drawn again. Every
other session value lives in :mod:`ui.session`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from ui.session import WIDGET_SHADOW as _SHADOW


def kept(widget: Callable[..., Any], label: str, *, key: str, default: Any,
         valid: Callable[[Any], bool] | None = None, **kwargs: Any) -> Any:
    """Draw ``widget(label, key=key, **kwargs)`` with the value it had the last time it was drawn.

    Parameters
    ----------
    widget : callable
        A Streamlit widget function (``st.selectbox``, ``st.slider``...), never given a ``value``/``index``:
        its value comes from session state.
    key : str
        The widget key (also names the shadow copy).
    default : object
        The value the first time, or when the kept one is no longer valid.
    valid : callable, optional
        Whether a kept value still fits (e.g. lies within the slider's range); selectbox and radio
        ``options`` are checked without it.
    """
    options: Sequence[Any] | None = kwargs.get("options")
    value = st.session_state.get(key, st.session_state.get(_SHADOW + key, default))
    fits = valid(value) if valid is not None else True
    if options is not None and widget is not st.multiselect:
        fits = fits and value in list(options)
    if widget is st.multiselect:
        value = [v for v in value if v in list(options or [])]
    if not fits:
        value = default
    st.session_state[key] = value
    result = widget(label, key=key, **kwargs)
    st.session_state[_SHADOW + key] = result
    return result
