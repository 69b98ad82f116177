"""Plotly figures that the library draws as well as the pages: the segment map, and the colours, marker shapes
and layout that every chart shares, so that a segment has one colour on the Segment page and in the shareable
report (:mod:`segmentation.present.report`). Data arrives shaped (and hover text escaped) by
:mod:`segmentation.present.views`; these functions only draw."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from segmentation.present.maps import LabelBox
from segmentation.present.views import escape_html

# Paul Tol's "muted" scheme: nine colours told apart with every common colour-vision deficiency
# (https://personal.sron.nl/~pault/). Past nine segments the map also changes the marker shape, so up to
# 27 segments stay apart; noise is grey.
PALETTE = ["#CC6677", "#332288", "#DDCC77", "#117733", "#88CCEE", "#882255", "#44AA99", "#999933", "#AA4499"]
SYMBOLS = ["circle", "diamond", "square"]
# Above this many points plotly draws with WebGL (plotly express's own "auto" threshold).
WEBGL_FROM = 1000
# The plotly config a page draws the map with. plotly.js renders WebGL at twice the page's pixels unless told
# otherwise (``plotGlPixelRatio`` 2, meant for image export): four times the pixels to draw, antialias and composite.
# Where WebGL runs in software (a machine without a graphics card, headless Chromium) that was most of the map's
# drawing: mounting the real recipe reviewers' 5,000-point map in a bare headless Chromium page cost 0.29 s of CPU at
# one pixel per pixel against 0.54 s at two (median of four, load 6); ``benchmarks/controls.py`` gives the page's
# figures. A high-density screen shows the points slightly soft.
MAP_CONFIG = {"plotGlPixelRatio": 1}
MARGIN = {"l": 10, "r": 10, "t": 60, "b": 10}

NOISE_COLOUR = "#b0b0b0"


def segment_colours(labels: Mapping[int, str]) -> dict[str, str]:
    """One colour per segment label (noise grey), the same in every chart; keys are escaped labels."""
    colours, i = {}, 0
    for segment in sorted(labels):
        if segment < 0:
            colours[escape_html(labels[segment])] = NOISE_COLOUR
        else:
            colours[escape_html(labels[segment])] = PALETTE[i % len(PALETTE)]
            i += 1
    return colours


def titled(fig: go.Figure, title: str, height: int = 420) -> go.Figure:
    """The layout every chart shares: its title on the left, the margins, an untitled legend, a white theme."""
    fig.update_layout(title={"text": title, "x": 0}, height=height, margin=MARGIN,
                      legend={"title": {"text": ""}}, template="plotly_white")
    return fig


def segment_map(frame: pd.DataFrame, colours: Mapping[str, str], title: str = "Users on the map, coloured by segment",
                *, names: Sequence[LabelBox] = (), contours: bool = False, webgl: bool | None = None) -> go.Figure:
    """The 2-d UMAP scatter from ``views.map_frame``; hover shows user, segment and a comment snippet.

    ``names`` (``maps.label_positions``) are written on the map, with a thin line back to the segment's
    centre where a label had to move. ``contours`` adds the density of users as contour lines. Clicking
    a legend entry shows that segment alone; a double click hides it. Users marked in the frame's
    ``match`` column (a search) are ringed; users in its ``between`` column get a legend entry of their own,
    off until clicked. ``webgl`` draws the points with WebGL (None: above :data:`WEBGL_FROM` points); the report
    draws SVG, which every browser shows without a graphics card.

    Each point carries its map row as ``customdata`` (what a selection names), its user as ``text`` and its
    comment snippet as ``hovertext``; its segment's name is the trace's, written once per trace rather than once
    per point. Positions travel as float32
    (:func:`drawn_positions`).
    """
    # One trace per segment, built directly: plotly express's grouping took seconds at 20,000 points.
    scatter = go.Scattergl if (len(frame) > WEBGL_FROM if webgl is None else webgl) else go.Scatter
    symbols = segment_symbols_for(colours)
    fig = go.Figure()
    for label, part in frame.groupby("label_html", sort=False):
        fig.add_trace(scatter(
            **_points(part), mode="markers", name=label, legendgroup=label, **_hover(part),
            hovertemplate="<b>%{text}</b><br>%{hovertext}<extra>%{fullData.name}</extra>",
            marker={"size": 7, "opacity": 0.8, "color": colours.get(label, NOISE_COLOUR),
                    "symbol": symbols.get(label, "circle")},
        ))
    order = {label: i for i, label in enumerate(colours)}
    fig.data = tuple(sorted(fig.data, key=lambda trace: order.get(trace.name, len(order))))
    # A projection's axes have no unit and no meaning of their own: no "UMAP 1" for a marketer to puzzle over,
    # only what the distances say (the caption under the map).
    fig.update_xaxes(title_text="", showticklabels=False)
    fig.update_yaxes(title_text="", showticklabels=False)
    if contours:
        x, y = drawn_positions(frame)
        fig.add_trace(go.Histogram2dContour(
            x=x, y=y, name="Density of users", showscale=False, ncontours=10,
            contours={"coloring": "lines"}, colorscale=[[0, "#9a9a9a"], [1, "#303030"]],
            line={"width": 1}, hoverinfo="skip", showlegend=True,
        ))
    if "match" in frame.columns and frame["match"].any():
        found = frame[frame["match"]]
        fig.add_trace(go.Scatter(
            **_points(found), mode="markers", name=f"Search matches ({len(found):,})",
            marker={"size": 14, "symbol": "circle-open", "color": "#000000", "line": {"width": 2}},
            **_hover(found, segment=True), hovertemplate="<b>%{text}</b><br>%{hovertext}<extra>match</extra>",
        ))
    if "between" in frame.columns and frame["between"].any():
        # Off until its legend entry is clicked: one user in six on the harder real sets would crowd the map.
        # No hover text of its own: the user's point in their segment lies under the mark and answers the hover
        # (on the real recipe reviews half the users are between segments, and their text doubled the figure).
        between = frame[frame["between"]]
        fig.add_trace(scatter(
            **_points(between), mode="markers", visible="legendonly", hoverinfo="skip",
            name=f"Between segments ({len(between):,})",
            marker={"size": 11, "symbol": "diamond-open", "color": "#4a4a4a", "line": {"width": 1.5}},
        ))
    marked = frame[frame["highlight"]]
    if len(marked):
        fig.add_trace(go.Scatter(
            **_points(marked), mode="markers", name="Selected user",
            marker={"size": 18, "symbol": "star", "color": "#d62728",
                    "line": {"width": 1.5, "color": "black"}},
            **_hover(marked, segment=True), hovertemplate="<b>%{text}</b><br>%{hovertext}<extra>selected</extra>",
        ))
    for box in names:
        text = escape_html(box.text)
        moved = (box.x, box.y) != (box.anchor_x, box.anchor_y)
        fig.add_annotation(
            x=box.anchor_x, y=box.anchor_y, ax=box.x, ay=box.y, axref="x", ayref="y", text=text,
            showarrow=moved, arrowhead=0, arrowwidth=1, arrowcolor="#555555",
            font={"size": 12, "color": "#1f2a37"}, bgcolor="rgba(255,255,255,0.85)",
            bordercolor=colours.get(text, NOISE_COLOUR), borderwidth=1.5, borderpad=2,
            name=f"segment-{box.segment}",
        )
    fig = titled(fig, title, height=600)
    fig.update_layout(dragmode="lasso", margin={**MARGIN, "b": 40},
                      legend={"orientation": "h", "yanchor": "top", "y": -0.14,
                              "itemclick": "toggleothers", "itemdoubleclick": "toggle"})
    return fig


def segment_symbols_for(colours: Mapping[str, str]) -> dict[str, str]:
    """Marker shapes for the labels of ``segment_colours``: grey noise is a circle, the rest in turn."""
    symbols, i = {}, 0
    for label, colour in colours.items():
        symbols[label] = "circle" if colour == NOISE_COLOUR else SYMBOLS[(i // len(PALETTE)) % len(SYMBOLS)]
        i += colour != NOISE_COLOUR
    return symbols




def drawn_positions(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The map's positions as the figure carries them: float32, seven significant digits (far below a pixel),
    half the bytes of float64. A selection's shapes are tested against these numbers, so that a point on a
    shape's edge falls on the same side as in the browser."""
    return frame["x"].to_numpy(np.float32), frame["y"].to_numpy(np.float32)


def _points(part: pd.DataFrame) -> dict:
    """Positions and the map row of each point (``customdata``: what a selection names), as typed arrays."""
    x, y = drawn_positions(part)
    return {"x": x, "y": y, "customdata": part["row"].to_numpy(np.int32)}


def _hover(part: pd.DataFrame, *, segment: bool = False) -> dict:
    """Each point's hover text: the user (``text``) and a snippet of their comment (``hovertext``), escaped
    already (``views.map_frame``). The markup around them is the trace's ``hovertemplate``, written once: per
    point, plotly's JSON writes each ``<`` and ``>`` as six characters. A trace that mixes segments (the search
    matches, the selected user) names each point's segment too (``segment``)."""
    snippet = part["snippet_html"]
    if segment:
        snippet = part["label_html"] + "<br>" + snippet
    return {"text": part["user_html"].to_numpy(object), "hovertext": snippet.to_numpy(object)}
