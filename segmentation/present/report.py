"""The shareable report: one self-contained HTML file per saved run, read from the workspace alone.

It holds the map (plotly.js inlined, drawn in SVG), the segments' names and descriptions, the quality cards
with their plain reading, a card per segment (size, share, keywords, representative comments, top items,
stability), the behaviour table and the segments over time where the caller has the run's comments, and the
recommendation answer where an evaluation of the run's data and settings was kept
(:func:`~segmentation.runs.service.keep_evaluation`). It opens in any browser with no server: nothing in it is
fetched from the network, and a Content-Security-Policy forbids any load besides its own inline script, style and
``data:`` images.

Every text that came from a file or a person (names, descriptions, comments, user ids, item names, the file's
name, column names) is escaped with :func:`html.escape` before it reaches the page; inside the map's inline
script it is JSON with ``<``, ``>`` and ``&`` written as ``\\u`` escapes, so no text can close the script or
open a tag. A run saved before the workspace kept its segments' descriptions reports what it has and says
what is missing.
"""

from __future__ import annotations

import html
import json
import math
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from segmentation.core.errors import ConfigError
from segmentation.core.labels import NOISE, fallback_name
from segmentation.describe.segments import SegmentDescription
from segmentation.present.behaviour import behaviour_columns, overview_table, tier_names, value_table
from segmentation.present.figures import NOISE_COLOUR, segment_colours, segment_map
from segmentation.present.maps import label_positions, sample_rows
from segmentation.present.over_time import change_sentence, rising_table, share_chart
from segmentation.present.views import (
    escape_html,
    map_frame,
    quality_cards,
    quality_reading,
    segment_labels,
    stability_words,
)
from segmentation.recommend.base import RECOMMENDERS
from segmentation.recommend.evaluate import METRIC_HELP
from segmentation.runs.service import StoredRun, kept_evaluation, load_run, run_table, saved_run_of
from segmentation.runs.workspace import Workspace

if TYPE_CHECKING:
    from segmentation.describe.behaviour import BehaviourProfile
    from segmentation.describe.over_time import OverTime
    from segmentation.ingest.comments import Comments

# Points drawn on the report's map: SVG (a static file must open in any browser, with or without a graphics
# card) stays quick to draw and to scroll at a few thousand points; each segment keeps its share.
REPORT_MAP_POINTS = 5000
CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:"
# Characters that could end the inline script or start markup, written as JSON escapes inside it; U+2028 and
# U+2029 end a line in older JavaScript parsers.
_SCRIPT_SAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028",
                              "\u2029": "\\u2029"})
NOT_EVALUATED = ("Not evaluated: no recommendation evaluation of this data with these settings is kept. The "
                 "Recommend page's “Find out” or `python -m segmentation evaluate` answers the question, and the "
                 "next report of this run includes the answer.")

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0;color:#1f2a37;
background:#f7f7f8}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{margin-bottom:4px}h2{margin-top:36px;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta,.caption{color:#5b6472;font-size:0.9em}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{background:#fff;border:1px solid #ddd;border-radius:8px;padding:10px 14px;flex:1 1 150px}
.card .label{font-size:0.85em;color:#5b6472}.card .value{font-size:1.5em;font-weight:600}
.card .help{font-size:0.8em;color:#5b6472}
.segment{background:#fff;border:1px solid #ddd;border-left:6px solid var(--colour);border-radius:8px;
padding:12px 16px;margin:12px 0}
.segment h3{margin:0 0 6px 0}
.figures{display:flex;gap:24px;flex-wrap:wrap}
.missing{background:#fff7e6;border:1px solid #f0c36d;border-radius:6px;padding:8px 12px}
table{border-collapse:collapse;background:#fff;font-size:0.9em}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
td.num{text-align:right}
blockquote{margin:4px 0 4px 0;padding:4px 10px;border-left:3px solid #ccc;background:#fafafa;white-space:pre-wrap}
.map{width:100%;height:640px}
.chart{width:100%;height:440px}
"""


def _e(text: object) -> str:
    """Text escaped for HTML content and attribute values (quotes included)."""
    return html.escape(str(text), quote=True)


def behaviour_of(key: str, comments: Comments, workspace: Workspace | None = None) -> BehaviourProfile:
    """The behaviour profile of a saved run's segments (hand edits applied), from the comments it was made on.

    Raises
    ------
    ConfigError
        When the run is unknown or damaged, or was made on other data than ``comments``.
    """
    from segmentation.describe.behaviour import behaviour_profile

    info = saved_run_of(key, comments, workspace)
    table = run_table(info, workspace)
    return behaviour_profile(comments, table["user_id"].astype(str).to_numpy(), table["segment"].to_numpy())


def over_time_of(key: str, comments: Comments, workspace: Workspace | None = None) -> OverTime:
    """The saved run's segments over time (hand edits applied), from the comments it was made on.

    Raises
    ------
    ConfigError
        When the run is unknown, damaged or of other data.
    DataError
        When the comments have no times to follow (the message says why: no time column, one day, too few
        periods).
    """
    from segmentation.describe.over_time import over_time

    info = saved_run_of(key, comments, workspace)
    table = run_table(info, workspace)
    return over_time(comments, table["user_id"].astype(str).to_numpy(), table["segment"].to_numpy())


def latest_run_key(workspace: Workspace | None = None) -> str:
    """The run saved last (the report command's default); ``ConfigError`` when none is saved."""
    workspace = workspace if workspace is not None else Workspace()
    for info in workspace.all_runs():
        if not info.damaged:
            return info.run_key
    raise ConfigError("no saved run yet: `python -m segmentation segment FILE --out DIR` saves one")


def run_report(key: str, workspace: Workspace | None = None, *, behaviour: BehaviourProfile | None = None,
               over_time: OverTime | None = None) -> str:
    """The report of one saved run as a self-contained HTML document.

    Parameters
    ----------
    key : str
        A saved run (the id ``segment`` prints and ``runs`` lists).
    workspace : Workspace, optional
        The workspace folder's one when None.
    behaviour : BehaviourProfile, optional
        The run's behaviour profile (:func:`behaviour_of`; the Segments page passes the one it shows); without
        it the report says how to include it.
    over_time : OverTime, optional
        The run's segments over time (:func:`over_time_of`), drawn as the share of comments per period with the
        biggest change in a sentence; without it the report says why there is none.

    Returns
    -------
    str
        The HTML document; plotly.js is inside it, so it is about 5 MB.

    Raises
    ------
    ConfigError
        When the run is unknown or damaged.
    """
    workspace = workspace if workspace is not None else Workspace()
    stored = load_run(key, workspace)
    table = run_table(stored.info, workspace)
    segments, missing = _segments(stored, table, workspace)
    labels = segment_labels(segments)
    record = stored.info.record
    n_users = len(table)
    made = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    source = record.get("source") or "data " + stored.info.fingerprint[:12]
    drawn_map = _map(table, labels)
    sections = [
        _header(stored, source, n_users, made),
        _what_is_missing(missing, behaviour is None),
        _quality(record, n_users),
        drawn_map or "<h2>Map</h2><p>This run kept no map.</p>",
        _segment_cards(segments, labels, stored, missing),
        _behaviour(behaviour, labels),
        _over_time(over_time, labels),
        _recommendations(_kept_evaluation(key, workspace)),
    ]
    title = f"Segment report: {source} (run {key})"
    # plotly.js (4.8 MB) only where there is a chart to draw.
    script = _plotly_script() if drawn_map or over_time is not None else ""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{_e(CONTENT_SECURITY_POLICY)}\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{_e(title)}</title><style>{_STYLE}</style>{script}</head>"
        f"<body><main>{''.join(sections)}</main></body></html>\n"
    )


def save_report(text: str, path: str | Path) -> Path:
    """Write the report at ``path`` atomically: a file written beside it, then renamed over it.

    Raises
    ------
    ConfigError
        When the file cannot be written there (a folder in its place, no such folder, no permission, a full
        disk), in one line that names the path.
    """
    out = Path(path)
    if out.is_dir():
        raise ConfigError(f"cannot write the report to {out}: it is a folder; name a file such as report.html")
    staging = None
    try:
        with tempfile.NamedTemporaryFile("wb", dir=out.parent, prefix=f".{out.name}.", delete=False) as handle:
            staging = Path(handle.name)
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(staging, out)
    except OSError as error:
        if staging is not None:
            staging.unlink(missing_ok=True)
        raise ConfigError(f"cannot write the report to {out}: {error.strerror or error}; choose another path") \
            from None
    return out


# The run's segments -----------------------------------------------------------------------------


def _segments(stored: StoredRun, table: pd.DataFrame,
              workspace: Workspace) -> tuple[list[SegmentDescription], dict[int, str]]:
    """The run's segments as they are now (hand edits applied, saved names in place), and per segment what the
    report cannot say about it and why."""
    kept = {d["id"]: d for d in stored.info.record.get("descriptions", [])
            if isinstance(d, dict) and isinstance(d.get("id"), int)}
    original = workspace.table(stored.info.run_key)  # as saved, before any hand edit
    changed = _edited_segments(original, table) if stored.edits else set()
    suggested = {}
    if original is not None and "segment_name" in original:
        suggested = dict(zip(original["segment"].astype(int), original["segment_name"].astype(str), strict=True))
    sizes = table["segment"].astype(int).value_counts()
    n_users = max(len(table), 1)
    segments, missing = [], {}
    for segment, size in sizes.items():
        described = kept.get(segment, {})
        saved = stored.names.get(segment)
        name = saved.name if saved else described.get("name") or suggested.get(segment) or fallback_name(segment)
        if not described:
            missing[segment] = ("its keywords and representative comments are not kept: the run was saved before "
                                "the workspace kept them; run the segmentation again to keep them"
                                if segment not in changed else
                                "it was made by a hand edit after the run was saved, so no keywords or "
                                "representative comments were kept for it")
        elif segment in changed:
            missing[segment] = ("a hand edit changed its users after the run was saved: its keywords and "
                                "comments describe it as it was then")
        segments.append(SegmentDescription(
            id=segment, name=name, size=int(size), share=float(size) / n_users,
            keywords=list(described.get("keywords", [])),
            representative_comments=list(described.get("representative_comments", [])),
            top_items=described.get("top_items"), mean_rating=described.get("mean_rating"),
        ))
    segments.sort(key=lambda s: (s.id == NOISE, -s.size, s.id))
    return segments, missing


def _edited_segments(original: pd.DataFrame | None, table: pd.DataFrame) -> set[int]:
    """Segments whose users a hand edit changed (those that lost users and those that gained them)."""
    if original is None:
        return set()
    before = original["segment"].astype(int).to_numpy()
    after = table["segment"].astype(int).to_numpy()
    moved = before != after
    return set(before[moved].tolist()) | set(after[moved].tolist())


# Sections ---------------------------------------------------------------------------------------


def _header(stored: StoredRun, source: str, n_users: int, made: str) -> str:
    info, config = stored.info, stored.info.config
    settings = ", ".join(f"{k} {v}" for k, v in (("encoder", config.get("encoder")),
                                                    ("algorithm", config.get("algorithm")),
                                                    ("seed", config.get("seed"))) if v is not None)
    return (f"<h1>Segments of {_e(source)}</h1>"
            f"<p class=\"meta\">Run {_e(info.run_key)}, saved {_e(info.saved_at[:19].replace('T', ' '))} UTC; "
            f"{n_users:,} users; {_e(settings)}; pipeline version {_e(info.pipeline_version)}. "
            f"Report made {_e(made)}.</p>")


def _what_is_missing(missing: Mapping[int, str], no_behaviour: bool) -> str:
    items = []
    if missing:
        items.append(f"{len(missing)} segment{'s' if len(missing) != 1 else ''} with less than a full "
                     "description: its card says why.")
    if no_behaviour:
        items.append("The behaviour table is not included: it needs the comments the run was made on "
                     "(the Segments page's report includes it; so does `python -m segmentation report --input FILE`).")
    items.append("The recommendation answer: the workspace keeps no evaluation with a run.")
    return "<div class=\"missing\"><strong>What this report does not hold</strong><ul>" + "".join(
        f"<li>{_e(item)}</li>" for item in items) + "</ul></div>"


def _quality(record: Mapping, n_users: int) -> str:
    metrics = record.get("metrics") or {}
    if "n_segments" not in metrics:
        return ("<h2>Quality</h2><p>The scores of this run are not kept (it was saved before the workspace kept "
                "them).</p>")
    cards = "".join(
        f"<div class=\"card\"><div class=\"label\">{_e(card.label)}</div><div class=\"value\">{_e(card.value)}</div>"
        f"<div class=\"help\">{_e(card.help)}</div></div>" for card in quality_cards(metrics, n_users))
    told = "".join(f"<li>{_e(text)}</li>" for text in dict.fromkeys([*record.get("warnings", []),
                                                                      *record.get("notes", [])]))
    return (f"<h2>Quality</h2><div class=\"cards\">{cards}</div><p>{_e(quality_reading(metrics, n_users))}</p>"
            + (f"<p class=\"caption\">How this run came to be:</p><ul class=\"caption\">{told}</ul>" if told else ""))


def _map(table: pd.DataFrame, labels: Mapping[int, str]) -> str:
    """The map section, or "" where the run kept no map (a run saved before runs kept tables)."""
    if not {"x", "y"} <= set(table.columns) or table[["x", "y"]].isna().all(axis=None):
        return ""
    frame = map_frame(table, labels, [""] * len(table))
    rows = sample_rows(frame["segment"].to_numpy(), REPORT_MAP_POINTS)
    names = label_positions(frame["x"].to_numpy(), frame["y"].to_numpy(), frame["segment"].to_numpy(), labels)
    figure = segment_map(frame.iloc[rows], segment_colours(labels), names=names, webgl=False)
    # Hover names the user and the segment: the report keeps no comment per user.
    figure.update_traces(hovertemplate="<b>%{customdata[1]}</b><br>%{customdata[2]}<extra></extra>")
    figure.update_layout(dragmode="zoom")
    sample = (f" Showing a sample of {len(rows):,} of {len(frame):,} users, every segment in proportion."
              if len(rows) < len(frame) else "")
    return (f"<h2>Map</h2>{_plot('segment-map', figure, 'map')}"
            f"<p class=\"caption\">Users close together write alike; the axes themselves mean nothing. Click a "
            f"segment in the legend to show it alone; double-click to hide it.{sample}</p>")


def _segment_cards(segments: Sequence[SegmentDescription], labels: Mapping[int, str], stored: StoredRun,
                   missing: Mapping[int, str]) -> str:
    colours = segment_colours(labels)
    stability = stored.info.record.get("segment_stability", {})
    overview = "".join(
        f"<li><strong>{_e(labels[s.id])}</strong> ({s.size:,} users, {s.share:.0%})"
        + (f": {_e(words)}" if (words := _description(stored, s.id)) else "") + "</li>" for s in segments)
    cards = []
    for s in segments:
        colour = colours.get(escape_html(labels[s.id]), NOISE_COLOUR)
        facts = [("Users", f"{s.size:,}"), ("Share", f"{s.share:.0%}")]
        if s.mean_rating is not None:
            facts.append(("Mean rating", f"{s.mean_rating:.2f}"))
        if s.id != NOISE:
            facts.append(("Stability", stability_words(_number(stability.get(str(s.id))))))
        lines = [f"<h3>{_e(labels[s.id])}</h3>"]
        if words := _description(stored, s.id):
            lines.append(f"<p>{_e(words)}</p>")
        lines.append("<div class=\"figures\">" + "".join(
            f"<div><span class=\"caption\">{_e(k)}</span><br><strong>{_e(v)}</strong></div>" for k, v in facts)
            + "</div>")
        if s.id in missing:
            lines.append(f"<p class=\"missing\">{_e(missing[s.id])}</p>")
        if s.keywords:
            lines.append(f"<p><span class=\"caption\">Keywords</span><br>{_e(', '.join(s.keywords))}</p>")
        if s.top_items:
            lines.append("<p><span class=\"caption\">Items it favours most (against all users)</span><br>"
                         f"{_e(', '.join(map(str, s.top_items)))}</p>")
        if s.representative_comments:
            lines.append("<p class=\"caption\">Representative comments</p>"
                         + "".join(f"<blockquote>{_e(c)}</blockquote>" for c in s.representative_comments))
        cards.append(f"<section class=\"segment\" style=\"--colour:{_e(colour)}\">{''.join(lines)}</section>")
    return f"<h2>Segments</h2><ul>{overview}</ul>{''.join(cards)}"


def _description(stored: StoredRun, segment: int) -> str:
    """The description saved with the segment's name ("" where none was written)."""
    saved = stored.names.get(segment)
    return saved.description if saved is not None else ""


def _behaviour(profile: BehaviourProfile | None, labels: Mapping[int, str]) -> str:
    if profile is None:
        return ("<h2>Who the users are</h2><p>Not included: the behaviour table needs the comments the run was "
                "made on.</p>")
    method = profile.method
    overview = overview_table(profile, labels)
    figures = behaviour_columns(profile)
    columns = [("name", "Segment", None), ("users", "Users", "count"), ("share", "Share", "share"),
               *((label, label, kind) for label, kind in figures.items()),
               ("stands_out", "Stands out (lift)", None)]
    parts = [
        "<h2>Who the users are</h2>",
        f"<p class=\"caption\">Each figure is computed per user and the segment is compared with the users outside "
        f"it: {_e(method['mean_test'])} for a mean, {_e(method['share_test'])} for a share; p-values corrected by "
        f"{_e(method['correction'])}; “stands out” lists figures whose corrected value is under "
        f"{_e(format(method['alpha'], 'g'))}.</p>",
        *(f"<p class=\"caption\">Left out: {_e(note)}</p>" for note in profile.notes),
        _table(overview, columns),
    ]
    if profile.tier_rule is not None:
        tiers = tier_names(profile)
        value = value_table(profile, labels)
        parts += ["<h3>Value view: segments by activity tier</h3>",
                  f"<p class=\"caption\">Tiers from this data's own quantiles: {_e(profile.tier_rule.words())}.</p>",
                  _table(value, [("name", "Segment", None), ("users", "Users", "count"),
                                 *((tier, tier, "share") for tier in tiers),
                                 *((f"{tier} lift", f"{tier} lift", "lift") for tier in tiers),
                                 ("differs", "Differs from the other users (lift)", None)])]
    return "".join(parts)


def _over_time(found: OverTime | None, labels: Mapping[int, str]) -> str:
    if found is None:
        return ("<h2>Segments over time</h2><p>Not included: following the segments over time needs the comments "
                "the run was made on, with their times.</p>")
    last = found.periods[-1].label
    rising = rising_table(found, labels)
    return "".join([
        "<h2>Segments over time</h2>",
        f"<p>{_e(change_sentence(found, labels))}</p>",
        *(f"<p class=\"caption\">Left out: {_e(note)}</p>" for note in found.notes),
        _plot("over-time", share_chart(found, labels, "comments"), "chart"),
        f"<p class=\"caption\">Periods: one {_e(found.unit)} each. The last period ({_e(last)}) is compared with "
        f"all periods before, by {_e(found.method['test'])}.</p>",
        _table(rising, [("name", "Segment", None), ("before", "Share of comments before", "share"),
                        ("last", f"In {last}", "share"), ("change", "Change", "change"),
                        ("beyond_chance", "Beyond chance", None), ("rising", f"Words rising in {last}", None)]),
    ])


def _kept_evaluation(key: str, workspace: Workspace) -> dict | str | None:
    """The evaluation kept for the run, or why it cannot be read (a damaged file never stops the report)."""
    try:
        return kept_evaluation(key, workspace)
    except ConfigError as error:
        return str(error)


def _recommendations(kept: dict | str | None) -> str:
    heading = "<h2>Do segments make better recommendations here?</h2>"
    if kept is None:
        return f"{heading}<p>{_e(NOT_EVALUATED)}</p>"
    if isinstance(kept, str):
        return f"{heading}<p>{_e(kept)}</p>"
    answer, n = kept["answer"], kept["top_n"]
    methods = pd.DataFrame([{"method": RECOMMENDERS[m].label if m in RECOMMENDERS else m, **values}
                            for m, values in kept["methods"].items()]).sort_values("ndcg", ascending=False)
    columns = [("method", "Method", None), *((name, title, "rate") for name, (title, _, _) in METRIC_HELP.items()
                                            if name in ("hit_rate", "ndcg"))]
    return "".join([
        heading,
        f"<p><strong>{_e(answer['sentence'])}</strong></p>",
        f"<p class=\"caption\">How this was measured: each of {answer['users']:,} tested users' latest item was "
        f"hidden, and each method had to find it among its top {n} picks, made from the user's other items "
        f"(evaluated {_e(kept.get('made', ''))}).</p>",
        _table(methods, columns),
        f"<p class=\"caption\">{_e(kept['verdict'])}</p>",
    ])


# Pieces -----------------------------------------------------------------------------------------


def _table(frame: pd.DataFrame, columns: Iterable[tuple[str, str, str | None]]) -> str:
    """An HTML table of ``frame``'s ``columns`` (name, heading, kind), every cell escaped."""
    shown = [(name, heading, kind) for name, heading, kind in columns if name in frame.columns]
    head = "".join(f"<th>{_e(heading)}</th>" for _, heading, _ in shown)
    body = "".join(
        "<tr>" + "".join(_cell(row[name], kind) for name, _, kind in shown) + "</tr>"
        for _, row in frame.iterrows())
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _plot(element_id: str, figure: go.Figure, css_class: str) -> str:
    """A plotly figure drawn by the inlined plotly.js into a ``div`` of its own; its JSON is made safe inside
    the script (no text in it can close the script or open a tag)."""
    spec = json.dumps(figure.to_plotly_json(), cls=_PlotlyEncoder, separators=(",", ":"))
    script = ("(function(){var f=" + spec.translate(_SCRIPT_SAFE) + f";Plotly.newPlot('{element_id}',f.data,"
              "f.layout,{responsive:true,displaylogo:false});})();")
    return f"<div id=\"{element_id}\" class=\"{css_class}\"></div><script>{script}</script>"


def _cell(value: object, kind: str | None) -> str:
    if kind is None:
        return f"<td>{_e('' if value is None else value)}</td>"
    number = _number(value)
    if number is None:
        return "<td class=\"num\">–</td>"
    text = {"count": f"{number:,.0f}", "share": f"{number:.0%}", "change": f"{number:+.1%}", "lift": f"{number:.2f}",
            "rate": f"{number:.3f}"}.get(kind, f"{number:,.1f}")
    return f"<td class=\"num\">{text}</td>"


def _number(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


class _PlotlyEncoder(json.JSONEncoder):
    """NumPy values as plain JSON (a figure's arrays, its data's integers)."""

    def default(self, value: object) -> object:
        if isinstance(value, np.ndarray):
            return value.tolist()
        if isinstance(value, np.generic):
            return value.item()
        return super().default(value)


def _plotly_script() -> str:
    from plotly.offline import get_plotlyjs

    return f"<script>{get_plotlyjs()}</script>"


__all__ = ["CONTENT_SECURITY_POLICY", "REPORT_MAP_POINTS", "behaviour_of", "latest_run_key", "over_time_of",
           "run_report", "save_report"]
