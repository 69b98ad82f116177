"""Plotly figures for the pages. Data arrives shaped (and hover text escaped) by ``segmentation.present.views``;
these functions only draw. Every chart has a title and axis labels. The segment map and the colours every chart
shares live in :mod:`segmentation.present.figures`, as the shareable report draws them too; the pages reach them
here, beside the other charts."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from segmentation.present.figures import (
    MAP_CONFIG,
    NOISE_COLOUR,
    PALETTE,
    drawn_positions,
    segment_colours,
    segment_map,
    segment_symbols_for,
    titled,
)
from segmentation.present.views import escape_html

__all__ = [
    "LIFT_COLOURS", "MAP_CONFIG", "METRIC_TITLES", "NOISE_COLOUR", "PALETTE", "dendrogram", "drawn_positions",
    "histogram", "lift_bars", "run_flows", "segment_colours", "segment_map", "segment_sizes", "segment_symbols_for",
    "silhouette_knife", "sweep_chart",
]

METRIC_TITLES = {
    "silhouette": "Silhouette (higher is better)",
    "calinski_harabasz": "Calinski–Harabasz (higher is better)",
    "davies_bouldin": "Davies–Bouldin (lower is better)",
    "inertia": "Inertia (look for the elbow)",
    "stability": "Stability under resampling (higher is better)",
    "n_segments": "Segments found",
    "noise_share": "Share of users left as noise",
    "largest_share": "Largest segment's share of users",
    "validity": "Density-based validity, DBCV (higher is better)",
}


def silhouette_knife(knife: pd.DataFrame, mean: float, colours: Mapping[str, str]) -> go.Figure:
    """Per-user silhouettes sorted within each segment (``views.knife_frame``) with the mean as a line.

    Each segment is one filled outline of its users' values, not a bar per user: the browser drew 5,000 bars
    in about 1 s on every page run (0.35 s even unchanged), the outline in under 0.1 s.
    """
    fig = go.Figure()
    for label, part in knife.groupby("label", sort=False):
        name = escape_html(label)
        colour = colours.get(name, NOISE_COLOUR)
        fig.add_trace(go.Scatter(
            x=part["silhouette"], y=part["position"], mode="lines", name=name, fill="tozerox",
            fillcolor=colour, line={"color": colour, "width": 0.5, "shape": "vh"},
            hovertemplate="silhouette %{x:.3f}<extra>%{fullData.name}</extra>",
        ))
    fig.add_vline(x=mean, line_dash="dash", line_color="#d62728",
                  annotation_text=f"mean {mean:.3f}", annotation_position="top")
    fig.update_layout(showlegend=True, legend={"orientation": "h", "yanchor": "top", "y": -0.2})
    fig.update_xaxes(title_text="Silhouette of each user")
    fig.update_yaxes(title_text="Users, sorted within each segment", showticklabels=False)
    return titled(fig, "Silhouette per user (knife plot)")


def sweep_chart(long: pd.DataFrame, *, chosen: int | None, current: int | None, x: str = "k") -> go.Figure:
    """Quality metrics against k (``views.sweep_long``), one panel each; the automatic choice dotted, the
    run's current setting solid."""
    metrics = list(dict.fromkeys(long["metric"]))
    cols = 2 if len(metrics) > 1 else 1
    rows = (len(metrics) + cols - 1) // cols
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[METRIC_TITLES.get(m, m) for m in metrics],
                        horizontal_spacing=0.12, vertical_spacing=0.18)
    x_title = "k (number of segments)" if x == "k" else "minimum cluster size"
    # The marks and axis titles go into the layout in one update: plotly's add_vline and update_xaxes per panel
    # took 0.12 s of CPU for this chart, a third of the Segment page's run on 13,811 users (profiled); 0.05 s so.
    lines = []
    if chosen is not None:
        lines.append((chosen, {"color": "#d62728", "dash": "dot"}))
    if current is not None and current != chosen:
        lines.append((current, {"color": "#444444", "width": 1.5}))
    layout, shapes = {}, []
    for i, metric in enumerate(metrics):
        part = long[long["metric"] == metric]
        fig.add_trace(go.Scatter(x=part[x], y=part["value"], mode="lines+markers", name=metric,
                                 showlegend=False, line={"color": PALETTE[i]}), row=i // cols + 1, col=i % cols + 1)
        xaxis, yaxis = fig.data[-1].xaxis, fig.data[-1].yaxis  # "x", "x2", ...: the panel's axes
        layout[xaxis.replace("x", "xaxis")] = {"title": {"text": x_title}}
        layout[yaxis.replace("y", "yaxis")] = {"title": {"text": metric.replace("_", " ")}}
        shapes += [{"type": "line", "xref": xaxis, "yref": f"{yaxis} domain", "x0": value, "x1": value, "y0": 0,
                    "y1": 1, "line": line} for value, line in lines]
    fig.update_layout(layout, shapes=shapes)
    title = "Quality against k" if x == "k" else "Quality against minimum cluster size"
    setting = "k" if x == "k" else "size"
    marks = []
    if chosen is not None:
        marks.append(f"chosen {setting} = {chosen}, dotted")
    if current is not None and current != chosen:
        marks.append(f"this run's {setting} = {current}, solid")
    if marks:
        title += f" ({'; '.join(marks)})"
    return titled(fig, title, height=300 * rows + 60)


def segment_sizes(sizes: pd.DataFrame, colours: Mapping[str, str]) -> go.Figure:
    """Users per segment (``views.size_frame``), largest first."""
    names = [escape_html(v) for v in sizes["label"]]
    fig = go.Figure(go.Bar(
        x=sizes["size"], y=names, orientation="h",
        marker_color=[colours.get(n, NOISE_COLOUR) for n in names],
        text=[f"{s:.0%}" for s in sizes["share"]], textposition="auto",
        hovertemplate="%{y}: %{x} users<extra></extra>",
    ))
    fig.update_yaxes(title_text="Segment", autorange="reversed")
    fig.update_xaxes(title_text="Users")
    return titled(fig, "Segment sizes", height=max(260, 40 * len(sizes) + 120))


def dendrogram(lines: dict, labels: Mapping[int, str] | None = None,
               colours: Mapping[str, str] | None = None) -> go.Figure:
    """The top merges of an agglomerative tree (``views.dendrogram_lines``): branches below the cut in
    their segment's colour and named at the bottom, the cut that gives the segments as a dashed line."""
    labels, colours = labels or {}, colours or {}
    fig = go.Figure()
    for xs, ys, segment in zip(lines["x"], lines["y"], lines["link_segment"], strict=True):
        colour = colours.get(escape_html(labels.get(segment, "")), "#4c78a8") if segment is not None else "#4c78a8"
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line={"color": colour},
                                 hoverinfo="skip", showlegend=False))
    ticks = [f"{escape_html(labels[s])} ({n})" if s in labels else n
             for s, n in zip(lines["leaf_segment"], lines["leaf_labels"], strict=True)]
    if lines["cut"] is not None:
        fig.add_hline(y=lines["cut"], line_dash="dash", line_color="#d62728",
                      annotation_text="cut: one segment per branch below", annotation_position="top left")
    fig.update_xaxes(title_text="Branches: segment (users in the branch)", tickvals=lines["leaf_x"],
                     ticktext=ticks, tickangle=-30)
    fig.update_yaxes(title_text="Merge distance")
    return titled(fig, "Dendrogram: top levels of the tree, cut into the segments", height=480)


def histogram(values: pd.Series, title: str, x_title: str, y_title: str) -> go.Figure:
    fig = go.Figure(go.Histogram(x=values, marker_color=PALETTE[0], nbinsx=40))
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title)
    return titled(fig, title, height=320)


LIFT_COLOURS = {"helps": "#2ca02c", "hurts": "#d62728", "unclear": "#9e9e9e"}


def lift_bars(frame: pd.DataFrame) -> go.Figure:
    """Per-segment lift of the best segment-aware recommender over the best one ignoring segments
    (``views.lift_frame``), with its 95 % interval; grey where the interval spans zero."""
    fig = go.Figure(go.Bar(
        x=frame["lift_pct"], y=[escape_html(v) for v in frame["label"]], orientation="h",
        marker_color=[LIFT_COLOURS[v] for v in frame["verdict"]],
        error_x={"type": "data", "symmetric": False, "array": frame["high_pct"] - frame["lift_pct"],
                 "arrayminus": frame["lift_pct"] - frame["low_pct"], "color": "#555555"},
        text=[f"{v:+.0f}%{' (hurts)' if h == 'hurts' else ''}" for v, h in
              zip(frame["lift_pct"], frame["verdict"], strict=True)],
        textposition="auto", hovertemplate="%{y}: %{x:+.1f}%<extra></extra>",
    ))
    fig.add_vline(x=0, line_color="black")
    fig.update_xaxes(title_text="Finds the next item near the top: more (or less) than ignoring segments (%)")
    fig.update_yaxes(title_text="Segment", autorange="reversed")
    return titled(fig, "Does recommending within segments help each segment? (grey = too few users to tell)",
                   height=max(260, 40 * len(frame) + 120))


def run_flows(flows: pd.DataFrame, first: str, second: str) -> go.Figure:
    """How users moved between the segments of two runs (``RunComparison.flows``), as a Sankey diagram:
    the first run's segments on the left, the second's on the right, each band the users they share."""
    left = flows.drop_duplicates("first_segment").sort_values("first_segment")
    right = flows.drop_duplicates("second_segment").sort_values("second_segment")
    nodes = [escape_html(name) for name in [*left["first_name"], *right["second_name"]]]
    left_colours = {segment: NOISE_COLOUR if segment < 0 else PALETTE[i % len(PALETTE)]
                    for i, segment in enumerate(left["first_segment"])}
    # A right-hand segment takes the colour of the left-hand one that gave it most users (``flows`` is
    # sorted largest first), so a segment that came back whole reads as the same colour on both sides.
    main_source = flows.drop_duplicates("second_segment").set_index("second_segment")["first_segment"]
    colours = [*left_colours.values(),
               *(NOISE_COLOUR if s < 0 else left_colours[main_source[s]] for s in right["second_segment"])]
    source = {segment: i for i, segment in enumerate(left["first_segment"])}
    target = {segment: len(left) + i for i, segment in enumerate(right["second_segment"])}
    fig = go.Figure(go.Sankey(
        arrangement="snap",
        node={"label": nodes, "color": colours, "pad": 12,
              "hovertemplate": "%{label}: %{value:,} users<extra></extra>"},
        link={"source": [source[s] for s in flows["first_segment"]],
              "target": [target[s] for s in flows["second_segment"]],
              "value": flows["users"].tolist(), "color": "rgba(120,120,120,0.25)",
              "hovertemplate": "%{source.label} → %{target.label}: %{value:,} users<extra></extra>"},
    ))
    return titled(fig, f"Where the users of run {first} (left) went in run {second} (right)", height=520)
