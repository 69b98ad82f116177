"""Plotly figures for the pages. Data arrives shaped (and hover text escaped) by ``segmentation.present.views``;
these functions only draw. Every chart has a title and axis labels."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from segmentation.present.maps import LabelBox
from segmentation.present.views import escape_html

# Paul Tol's "muted" scheme: nine colours told apart with every common colour-vision deficiency
# (https://personal.sron.nl/~pault/). Past nine segments the map also changes the marker shape, so up to
# 27 segments stay apart; noise is grey.
PALETTE = ["#CC6677", "#332288", "#DDCC77", "#117733", "#88CCEE", "#882255", "#44AA99", "#999933", "#AA4499"]
SYMBOLS = ["circle", "diamond", "square"]
# Above this many points plotly draws with WebGL (plotly express's own "auto" threshold).
WEBGL_FROM = 1000
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


def segment_map(frame: pd.DataFrame, colours: Mapping[str, str], title: str = "Users on the map, coloured by segment",
                *, names: Sequence[LabelBox] = (), contours: bool = False) -> go.Figure:
    """The 2-d UMAP scatter from ``views.map_frame``; hover shows user, segment and a comment snippet.

    ``names`` (``maps.label_positions``) are written on the map, with a thin line back to the segment's
    centre where a label had to move. ``contours`` adds the density of users as contour lines. Clicking
    a legend entry shows that segment alone; a double click hides it. Users marked in the frame's
    ``match`` column (a search) are ringed.
    """
    # One trace per segment, built directly: plotly express's grouping took seconds at 20,000 points.
    scatter = go.Scattergl if len(frame) > WEBGL_FROM else go.Scatter
    symbols = segment_symbols_for(colours)
    fig = go.Figure()
    for label, part in frame.groupby("label_html", sort=False):
        fig.add_trace(scatter(
            x=part["x"].to_numpy(), y=part["y"].to_numpy(), mode="markers", name=label, legendgroup=label,
            marker={"size": 7, "opacity": 0.8, "color": colours.get(label, NOISE_COLOUR),
                    "symbol": symbols.get(label, "circle")},
            customdata=part[["row", "user_html", "label_html", "snippet_html"]].to_numpy(),
            hovertemplate="<b>%{customdata[1]}</b><br>%{customdata[2]}<br>%{customdata[3]}<extra></extra>",
        ))
    order = {label: i for i, label in enumerate(colours)}
    fig.data = tuple(sorted(fig.data, key=lambda trace: order.get(trace.name, len(order))))
    # A projection's axes have no unit and no meaning of their own: no "UMAP 1" for a marketer to puzzle over,
    # only what the distances say (the caption under the map).
    fig.update_xaxes(title_text="", showticklabels=False)
    fig.update_yaxes(title_text="", showticklabels=False)
    if contours:
        fig.add_trace(go.Histogram2dContour(
            x=frame["x"], y=frame["y"], name="Density of users", showscale=False, ncontours=10,
            contours={"coloring": "lines"}, colorscale=[[0, "#9a9a9a"], [1, "#303030"]],
            line={"width": 1}, hoverinfo="skip", showlegend=True,
        ))
    if "match" in frame.columns and frame["match"].any():
        found = frame[frame["match"]]
        fig.add_trace(go.Scatter(
            x=found["x"], y=found["y"], mode="markers", name=f"Search matches ({len(found):,})",
            marker={"size": 14, "symbol": "circle-open", "color": "#000000", "line": {"width": 2}},
            customdata=found[["row", "user_html", "label_html", "snippet_html"]].to_numpy(),
            hovertemplate="<b>%{customdata[1]}</b><br>%{customdata[2]}<br>%{customdata[3]}<extra>match</extra>",
        ))
    marked = frame[frame["highlight"]]
    if len(marked):
        fig.add_trace(go.Scatter(
            x=marked["x"], y=marked["y"], mode="markers", name="Selected user",
            marker={"size": 18, "symbol": "star", "color": "#d62728",
                    "line": {"width": 1.5, "color": "black"}},
            customdata=marked[["row", "user_html", "label_html", "snippet_html"]].to_numpy(),
            hovertemplate="<b>%{customdata[1]}</b><br>%{customdata[2]}<extra>selected</extra>",
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
    fig = _layout(fig, title, height=600)
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
    return _layout(fig, "Dendrogram: top levels of the tree, cut into the segments", height=480)


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
    return _layout(fig, f"Where the users of run {first} (left) went in run {second} (right)", height=520)
