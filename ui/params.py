"""A run parameter's widget, drawn from its declaration (:class:`segmentation.core.params.Param`).

The Segment page draws the chosen algorithm's parameters through :func:`widget`, so a clusterer with a
parameter of its own gets its widget without a change to the page: a checkbox "automatic" and a slider or
number for a count that also accepts ``"auto"`` (or ``None``), a radio or selectbox with plain labels for
options. Every widget keeps its value across pages and in the address (:func:`ui.state.kept`).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from segmentation.core.params import Param
from ui import state


def widget(param: Param, *, n_users: int) -> Any:
    """Draw ``param``'s widget and return the value for the config (``"auto"``/``None`` when automatic).

    Parameters
    ----------
    param : Param
    n_users : int
        Users in the data: a count (k, a cluster size) cannot exceed it.
    """
    options = param.options
    if options is not None:
        draw = st.radio if param.widget == "radio" else st.selectbox
        labels = dict(param.option_labels)
        return state.kept(draw, param.label, key=param.widget_key, default=param.default, options=list(options),
                          format_func=lambda value: labels.get(value, str(value)))
    interval = param.interval
    kind = interval.kind if interval is not None else int
    low = kind(interval.low if interval is not None and interval.low is not None else 0)
    if kind is int:  # a count: no more than the users
        high = max(low, min(param.most, n_users) if param.most is not None else n_users)
    else:
        high = kind(interval.high if interval is not None and interval.high is not None else 1e9)
    automatic = False
    if param.has_auto:
        if param.widget == "slider" and high == low:  # a slider cannot span one value
            st.caption(param.only_one or f"{param.label}: {low}")
            return low
        automatic = state.kept(st.checkbox, param.auto_label, key=param.auto_key,
                               default=param.default == param.auto_value, help=param.auto_help or None)
    start = param.default if param.default != param.auto_value or not param.has_auto else param.shown
    start = min(max(kind(start if start is not None else low), low), high)

    def fits(value: Any) -> bool:
        return isinstance(value, kind) and low <= value <= high

    if param.widget == "slider":
        value = state.kept(st.slider, param.label, key=param.widget_key, default=start, valid=fits,
                           min_value=low, max_value=high, disabled=automatic)
    else:
        value = state.kept(st.number_input, param.label, key=param.widget_key, default=start, valid=fits,
                           min_value=low, max_value=high, step=kind(1) if kind is int else 0.1,
                           disabled=automatic)
    return param.auto_value if automatic else kind(value)
