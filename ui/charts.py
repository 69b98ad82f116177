"""Plotly figures for the pages. Data arrives shaped (and hover text escaped) by ``segmentation.views``;
these functions only draw. Every chart has a title and axis labels."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from segmentation.views import escape_html

PALETTE = px.colors.qualitative.Safe + px.colors.qualitative.Pastel
MARGIN = {"l": 10, "r": 10, "t": 60, "b": 10}
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


def _layout(fig: go.Figure, title: str, height: int = 420) -> go.Figure:
    fig.update_layout(title={"text": title, "x": 0}, height=height, margin=MARGIN,
                      legend={"title": {"text": ""}}, template="plotly_white")
    return fig


def segment_map(frame: pd.DataFrame, colours: Mapping[str, str],
                title: str = "Users on the map, coloured by segment") -> go.Figure:
    """The 2-d UMAP scatter from ``views.map_frame``; hover shows user, segment and a comment snippet."""
    fig = px.scatter(
        frame, x="x", y="y", color="label_html",
        custom_data=["row", "user_html", "label_html", "snippet_html"],
        color_discrete_map=dict(colours), category_orders={"label_html": list(colours)},
        labels={"x": "UMAP 1", "y": "UMAP 2", "label_html": "Segment"},
    )
    fig.update_traces(
        marker={"size": 7, "opacity": 0.8},
        hovertemplate="<b>%{customdata[1]}</b><br>%{customdata[2]}<br>%{customdata[3]}<extra></extra>",
    )
    marked = frame[frame["highlight"]]
    if len(marked):
        fig.add_trace(go.Scatter(
            x=marked["x"], y=marked["y"], mode="markers", name="Selected user",
            marker={"size": 18, "symbol": "star", "color": "#d62728",
                    "line": {"width": 1.5, "color": "black"}},
            customdata=marked[["row", "user_html", "label_html", "snippet_html"]].to_numpy(),
            hovertemplate="<b>%{customdata[1]}</b><br>%{customdata[2]}<extra>selected</extra>",
        ))
    fig = _layout(fig, title, height=600)
    fig.update_layout(dragmode="lasso", legend={"orientation": "h", "yanchor": "top", "y": -0.14},
                      margin={**MARGIN, "b": 40})
    return fig


def silhouette_knife(knife: pd.DataFrame, mean: float, colours: Mapping[str, str]) -> go.Figure:
    """Per-user silhouettes sorted within each segment (``views.knife_frame``) with the mean as a line."""
    fig = go.Figure()
    for label, part in knife.groupby("label", sort=False):
        name = escape_html(label)
        fig.add_trace(go.Bar(
            x=part["silhouette"], y=part["position"], orientation="h", name=name,
            marker={"color": colours.get(name, NOISE_COLOUR), "line": {"width": 0}},
            hovertemplate="silhouette %{x:.3f}<extra>%{fullData.name}</extra>",
        ))
    fig.add_vline(x=mean, line_dash="dash", line_color="#d62728",
                  annotation_text=f"mean {mean:.3f}", annotation_position="top")
    fig.update_layout(bargap=0, showlegend=True, legend={"orientation": "h", "yanchor": "top", "y": -0.2})
    fig.update_xaxes(title_text="Silhouette of each user")
    fig.update_yaxes(title_text="Users, sorted within each segment", showticklabels=False)
    return _layout(fig, "Silhouette per user (knife plot)")


def sweep_chart(long: pd.DataFrame, *, chosen: int | None, current: int | None, x: str = "k") -> go.Figure:
    """Quality metrics against k (``views.sweep_long``), one panel each; the automatic choice dotted, the
    run's current setting solid."""
    metrics = list(dict.fromkeys(long["metric"]))
    cols = 2 if len(metrics) > 1 else 1
    rows = (len(metrics) + cols - 1) // cols
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[METRIC_TITLES.get(m, m) for m in metrics],
                        horizontal_spacing=0.12, vertical_spacing=0.18)
    x_title = "k (number of segments)" if x == "k" else "minimum cluster size"
    for i, metric in enumerate(metrics):
        part = long[long["metric"] == metric]
        row, col = i // cols + 1, i % cols + 1
        fig.add_trace(go.Scatter(x=part[x], y=part["value"], mode="lines+markers", name=metric,
                                 showlegend=False, line={"color": PALETTE[i]}), row=row, col=col)
        if chosen is not None:
            fig.add_vline(x=chosen, line_dash="dot", line_color="#d62728", row=row, col=col)
        if current is not None and current != chosen:
            fig.add_vline(x=current, line_color="#444444", line_width=1.5, row=row, col=col)
        fig.update_xaxes(title_text=x_title, row=row, col=col)
        fig.update_yaxes(title_text=metric.replace("_", " "), row=row, col=col)
    title = "Quality against k" if x == "k" else "Quality against minimum cluster size"
    setting = "k" if x == "k" else "size"
    marks = []
    if chosen is not None:
        marks.append(f"chosen {setting} = {chosen}, dotted")
    if current is not None and current != chosen:
        marks.append(f"this run's {setting} = {current}, solid")
    if marks:
        title += f" ({'; '.join(marks)})"
    return _layout(fig, title, height=300 * rows + 60)


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
    return _layout(fig, "Segment sizes", height=max(260, 40 * len(sizes) + 120))


def dendrogram(lines: dict) -> go.Figure:
    """The top merges of an agglomerative tree (``views.dendrogram_lines``)."""
    fig = go.Figure()
    for xs, ys in zip(lines["x"], lines["y"], strict=True):
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line={"color": "#4c78a8"},
                                 hoverinfo="skip", showlegend=False))
    fig.update_xaxes(title_text="Branches (size of each)", tickvals=lines["leaf_x"],
                     ticktext=lines["leaf_labels"])
    fig.update_yaxes(title_text="Merge distance")
    return _layout(fig, "Dendrogram: top levels of the tree")


def histogram(values: pd.Series, title: str, x_title: str, y_title: str) -> go.Figure:
    fig = go.Figure(go.Histogram(x=values, marker_color=PALETTE[0], nbinsx=40))
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title)
    return _layout(fig, title, height=320)


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
    fig.update_xaxes(title_text="Lift over the best recommender that ignores segments (%)")
    fig.update_yaxes(title_text="Segment", autorange="reversed")
    return _layout(fig, "Does recommending within segments help each segment? (grey = too few users to tell)",
                   height=max(260, 40 * len(frame) + 120))
