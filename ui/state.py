"""Session state that survives page switches and browser reloads.

Streamlit drops a widget's value from session state when a page without that widget runs. ``kept``
stores each value under a shadow key as well and puts it back before the widget is drawn again. It also
binds the widget to a URL query parameter named by its key (Streamlit's ``bind="query-params"``), so a
browser reload, which starts a new session, reads the settings back from the address. Every other session
value lives in :mod:`ui.session`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from ui.session import WIDGET_SHADOW as _SHADOW

# The parameter through which each widget takes its own default (``value`` for the others). A widget
# bound to the URL leaves its parameter out of the address while it holds that default, so the default
# it is given must be the kept default: then an absent parameter reads back as the same value.
_DEFAULT_PARAMETER = {st.selectbox: "index", st.radio: "index", st.multiselect: "default"}
_ABSENT = object()


def kept(widget: Callable[..., Any], label: str, *, key: str, default: Any,
         valid: Callable[[Any], bool] | None = None, **kwargs: Any) -> Any:
    """Draw ``widget(label, key=key, **kwargs)`` with the value it had the last time it was drawn.

    The value is bound to the URL query parameter ``key``, so a browser reload keeps it.

    Parameters
    ----------
    widget : callable
        A Streamlit widget function (``st.selectbox``, ``st.slider``...), never given a ``value``/``index``:
        its value comes from session state, the URL or ``default``.
    key : str
        The widget key (also names the shadow copy and the query parameter).
    default : object
        The value the first time, or when the kept one is no longer valid.
    valid : callable, optional
        Whether a kept value still fits (e.g. lies within the slider's range); selectbox and radio
        ``options`` are checked without it.
    """
    options: list[Any] | None = list(kwargs["options"]) if "options" in kwargs else None
    current, value = _kept_value(key, default)
    fits = valid(value) if valid is not None else True
    if options is not None and widget is not st.multiselect:
        fits = fits and value in options
    if widget is st.multiselect:
        value = [v for v in value if v in (options or [])]
        default = [v for v in default if v in (options or [])]
    if not fits:
        value = default
    if widget in (st.selectbox, st.radio):
        kwargs[_DEFAULT_PARAMETER[widget]] = options.index(default) if default in (options or []) else 0
    else:
        kwargs[_DEFAULT_PARAMETER.get(widget, "value")] = default
    # Set only what the widget would not hold by itself, so a value in the URL can seed it on a page load.
    if value != current and (current is not _ABSENT or value != default):
        st.session_state[key] = value
    result = widget(label, key=key, bind="query-params", **kwargs)
    st.session_state[_SHADOW + key] = result
    return result


def _kept_value(key: str, default: Any) -> tuple[Any, Any]:
    """The widget's value in session state (or ``_ABSENT``), and the value to draw it with: that one, else the
    copy kept when it was last drawn, else ``default``."""
    current = st.session_state.get(key, _ABSENT)
    return current, current if current is not _ABSENT else st.session_state.get(_SHADOW + key, default)


def seed(values: dict[str, Any]) -> None:
    """Start widgets at ``values`` (key → value) where this session has not set them yet.

    Nothing is seeded when the URL carries any of these settings: the address then says what they were
    (a setting left out of it held its default).
    """
    if any(key in st.query_params for key in values):
        return
    for key, value in values.items():
        if key not in st.session_state and _SHADOW + key not in st.session_state:
            st.session_state[_SHADOW + key] = value



def adopt_now(values: dict[str, Any]) -> None:
    """Make widgets show ``values`` (key → value) from now on, in the address too. Call it before those
    widgets are drawn in this run: in a button's callback (a newer run shown in place of the old on the page
    it is on), or on a page without them.

    A callback may set a widget's value even while the widget is bound to the address; :func:`adopt`, which
    removes the address's old value instead, may not."""
    for key, value in values.items():
        st.session_state[key] = value
        st.session_state[_SHADOW + key] = value


def adopt(values: dict[str, Any]) -> None:
    """Make widgets show ``values`` (key → value) the next time they are drawn, whatever they held before
    (a run shown from the Runs page brings its settings to the Segment page)."""
    for key, value in values.items():
        st.session_state.pop(key, None)
        st.session_state[_SHADOW + key] = value
        if key in st.query_params:  # the address would otherwise put the old value back
            del st.query_params[key]


def kept_tabs(labels: list[str], *, key: str, default: str) -> dict[str, Any]:
    """Tabs (``st.tabs``) of which only the open one is drawn, open on the tab chosen last, by label.

    Choosing a tab reruns the page, or only the fragment the tabs are in, so a tab's content costs nothing until
    it is opened. The choice is kept like a widget's (:func:`kept`): across pages and, in the address, a reload.

    Returns
    -------
    dict
        Each label's tab container; its ``open`` says whether to draw into it.
    """
    current, value = _kept_value(key, default)
    if value not in labels:
        value = default
    if value != current and (current is not _ABSENT or value != default):
        st.session_state[key] = value
    tabs = st.tabs(labels, key=key, default=default, on_change="rerun", bind="query-params")
    st.session_state[_SHADOW + key] = st.session_state.get(key, default)
    return dict(zip(labels, tabs, strict=True))
