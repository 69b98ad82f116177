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


def widget(param: Param, *, n_users: int, slots: dict[str, Any] | None = None) -> Any:
    """Draw ``param``'s widget and return the value for the config (``"auto"``/``None`` when automatic).

    Parameters
    ----------
    param : Param
    n_users : int
        Users in the data: a count (k, a cluster size) cannot exceed it.
    slots : dict, optional
        Where a parameter left automatic gets its greyed control, by parameter name: an ``st.empty`` that
        says the value is chosen at Run until :func:`show_chosen` fills it with the value the run took (the
        run is known only after the widgets are drawn). Without it the greyed control shows the kept value.
    """
    options = param.options
    if options is not None:
        draw = st.radio if param.widget == "radio" else st.selectbox
        labels = dict(param.option_labels)
        return state.kept(draw, param.label, key=param.widget_key, default=param.default, options=list(options),
                          format_func=lambda value: labels.get(value, str(value)))
    low, high, kind = _bounds(param, n_users)
    automatic = False
    if param.has_auto:
        if param.widget == "slider" and high == low:  # a slider cannot span one value
            st.caption(param.only_one or f"{param.label}: {low}")
            return low
        automatic = state.kept(st.checkbox, param.auto_label, key=param.auto_key,
                               default=param.default == param.auto_value, help=param.auto_help or None)
    if automatic and slots is not None:
        slots[param.name] = st.empty()
        slots[param.name].caption(f"{param.label}: chosen automatically when you press Run.")
        return param.auto_value
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


def show_chosen(param: Param, slot: Any, value: Any, *, n_users: int) -> None:
    """Fill an automatic parameter's slot (see :func:`widget`) with its greyed control at ``value``, the value
    the automatic choice took in the run shown (issue 20: the greyed k slider showed 6 while k was 3).

    Ticking "automatic" off then starts the control from that value. ``value`` None leaves the slot saying the
    value is chosen at Run.
    """
    if value is None:
        return
    low, high, kind = _bounds(param, n_users)
    chosen = min(max(kind(value), low), high)
    draw = slot.slider if param.widget == "slider" else slot.number_input
    extra = {} if param.widget == "slider" else {"step": kind(1) if kind is int else 0.1}
    state.kept(draw, param.label, key=param.widget_key, default=chosen, valid=lambda kept: kept == chosen,
               min_value=low, max_value=high, disabled=True, help="Chosen automatically in the run shown below.",
               **extra)


def _bounds(param: Param, n_users: int) -> tuple[Any, Any, type]:
    """The lowest and highest value ``param``'s control offers, and its type (int for a count)."""
    interval = param.interval
    kind = interval.kind if interval is not None else int
    low = kind(interval.low if interval is not None and interval.low is not None else 0)
    if kind is int:  # a count: no more than the users
        high = max(low, min(param.most, n_users) if param.most is not None else n_users)
    else:
        high = kind(interval.high if interval is not None and interval.high is not None else 1e9)
    return low, high, kind
