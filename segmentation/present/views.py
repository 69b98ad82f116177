"""Data shaped for display: the tables the dashboard's charts and lists draw, built from a result.

Everything that loops over data or does arithmetic for a chart lives here, so pages stay thin and the
shaping is tested without a browser. Text that ends up in plotly hover or legend labels is escaped,
because plotly renders a subset of HTML there (``<b>``, ``<a href>``, ``<br>``...).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from segmentation.cluster.selection import STABLE_ENOUGH
from segmentation.cluster.stability import UNSTABLE_JACCARD
from segmentation.cluster.stage import sweep_sample_note as sweep_sample_note  # the page reads it here
from segmentation.core.labels import NOISE, fallback_name

if TYPE_CHECKING:
    from segmentation.describe.items import ItemLabels
    from segmentation.describe.segments import SegmentDescription
    from segmentation.ingest.comments import Comments
    from segmentation.recommend.evaluate import Evaluation
    from segmentation.recommend.service import RunRecommenders
    from segmentation.runs.records import NameChange

SNIPPET_WIDTH = 100
# Rows left empty between two segments in the silhouette knife plot, so each blade stands apart.
KNIFE_GAP = 3

_WHITESPACE = re.compile(r"\s+")
_HTML_SPECIAL = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_ASCII_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


def escape_html(text: object) -> str:
    """Escape ``&``, ``<`` and ``>`` so plotly shows the text literally instead of rendering tags.

    Plotly turns the entities back into the characters on screen, so ``<script>`` is displayed as
    typed and never becomes markup.
    """
    return str(text).translate(_HTML_SPECIAL)


def escape_markdown(text: object) -> str:
    """Backslash-escape every ASCII punctuation character, so Markdown shows the text literally.

    For the few places that only take Markdown (error and status messages holding a file or column
    name): no link, image, HTML, LaTeX or ``:color[...]`` directive can come out of the text.
    """
    return _ASCII_PUNCTUATION.sub(r"\\\1", str(text))


def snippet(text: object, width: int = SNIPPET_WIDTH) -> str:
    """One line of at most ``width`` characters: whitespace collapsed, an ellipsis where cut."""
    line = _WHITESPACE.sub(" ", str(text)).strip()
    return line if len(line) <= width else line[: width - 1].rstrip() + "…"


def segment_labels(segments: Sequence[SegmentDescription]) -> dict[int, str]:
    """A unique display label per segment id: its name, with the id added where two names collide."""
    counts = pd.Series([s.name for s in segments]).value_counts()
    labels = {}
    for s in segments:
        name = s.name or fallback_name(s.id)
        labels[s.id] = f"{name} (#{s.id})" if counts.get(s.name, 0) > 1 else name
    return labels


def user_snippets(comments: Comments, user_ids: Sequence[str], width: int = SNIPPET_WIDTH) -> np.ndarray:
    """One short comment per user (their longest, which says the most), aligned with ``user_ids``."""
    frame = comments.frame[["user_id", "text"]]
    longest = frame.loc[frame["text"].str.len().groupby(frame["user_id"]).idxmax()]
    by_user = dict(zip(longest["user_id"], longest["text"], strict=True))
    return np.array([snippet(by_user.get(u, ""), width) for u in user_ids], dtype=object)


def map_frame(
    assignments: pd.DataFrame,
    labels: Mapping[int, str],
    snippets: Sequence[str],
    highlight: str | None = None,
    match: np.ndarray | None = None,
) -> pd.DataFrame:
    """Rows for the 2-d map: position, colour label, escaped hover text, the highlighted user, search hits.

    Parameters
    ----------
    assignments : DataFrame
        ``SegmentResult.assignments`` (user_id, segment, x, y, ...).
    labels : mapping
        Display label per segment id (see :func:`segment_labels`).
    snippets : sequence of str
        One comment snippet per row of ``assignments``.
    highlight : str or None
        A user id to mark.
    match : ndarray of bool, optional
        Users found by a search, aligned with ``assignments``.

    Returns
    -------
    DataFrame
        Columns ``row`` (position in ``assignments``), ``user_id``, ``segment``, ``label``,
        ``label_html``, ``x``, ``y``, ``user_html``, ``snippet_html``, ``highlight``, ``match``, ``between``.
    """
    frame = pd.DataFrame(
        {
            "row": np.arange(len(assignments)),
            "user_id": assignments["user_id"].to_numpy(),
            "segment": assignments["segment"].to_numpy(),
            "x": assignments["x"].to_numpy(),
            "y": assignments["y"].to_numpy(),
        }
    )
    shown = {s: labels.get(s, f"Segment {s}") for s in pd.unique(frame["segment"])}
    frame["label"] = frame["segment"].map(shown)
    frame["label_html"] = frame["segment"].map({s: escape_html(label) for s, label in shown.items()})
    # Vectorised: at 50k users a per-row Python call took seconds.
    frame["user_html"] = _escape_column(frame["user_id"])
    frame["snippet_html"] = _escape_column(pd.Series(list(snippets), index=frame.index, dtype=object))
    frame["highlight"] = frame["user_id"] == highlight if highlight is not None else False
    frame["match"] = np.asarray(match, dtype=bool) if match is not None else False
    # Users whose own segment is barely nearer than the next (segmentation.cluster.membership).
    frame["between"] = assignments["between"].fillna(False).to_numpy(bool) if "between" in assignments else False
    return frame


def with_match(frame: pd.DataFrame, match: np.ndarray | None) -> pd.DataFrame:
    """A copy of ``frame`` (:func:`map_frame`) whose ``match`` column holds ``match`` (None: no search).

    A search changes only that column, so a page keeps the frame of a run and its names and sets the search's
    users here: escaping every user's hover text again took most of a search's own work on 13,811 users.
    """
    return frame.assign(match=np.asarray(match, dtype=bool) if match is not None else False)


def _escape_column(values: pd.Series) -> pd.Series:
    text = values.astype(str)
    for character, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        text = text.str.replace(character, entity, regex=False)
    return text.astype(object)


def selected_users_table(
    assignments: pd.DataFrame, rows: Sequence[int], comments: Comments, labels: Mapping[int, str],
    width: int = 200,
) -> pd.DataFrame:
    """The selected users with their segment and their comments (one line each, joined)."""
    chosen = assignments.iloc[list(rows)]
    texts = comments.frame[comments.frame["user_id"].isin(chosen["user_id"])]
    joined = texts.groupby("user_id")["text"].agg(lambda t: " | ".join(snippet(x, width) for x in t))
    return pd.DataFrame(
        {
            "user_id": chosen["user_id"].to_numpy(),
            "segment": [labels.get(s, str(s)) for s in chosen["segment"]],
            "comments": joined.reindex(chosen["user_id"]).fillna("").to_numpy(),
        }
    )


def knife_frame(labels: np.ndarray, silhouette: np.ndarray, names: Mapping[int, str]) -> pd.DataFrame:
    """Per-user silhouettes for a knife plot: sorted within each segment, segments stacked with gaps.

    Noise users (label -1) and users without a value (NaN) are left out.

    Returns
    -------
    DataFrame
        Columns ``segment``, ``label``, ``silhouette``, ``position`` (the bar's place on the axis).
    """
    frame = pd.DataFrame({"segment": np.asarray(labels), "silhouette": np.asarray(silhouette, dtype=float)})
    frame = frame[(frame["segment"] != NOISE) & frame["silhouette"].notna()]
    frame = frame.sort_values(["segment", "silhouette"], ascending=[True, False], kind="stable")
    block = frame["segment"].rank(method="dense").astype(int) - 1
    frame["position"] = np.arange(len(frame)) + block.to_numpy() * KNIFE_GAP
    frame["label"] = frame["segment"].map(lambda s: names.get(s, f"Segment {s}"))
    return frame.reset_index(drop=True)[["segment", "label", "silhouette", "position"]]


def size_frame(segments: Sequence[SegmentDescription], labels: Mapping[int, str]) -> pd.DataFrame:
    """Segment sizes and shares, largest first, for the size bar chart."""
    frame = pd.DataFrame(
        {
            "segment": [s.id for s in segments],
            "label": [labels.get(s.id, s.name) for s in segments],
            "size": [s.size for s in segments],
            "share": [s.share for s in segments],
        }
    )
    return frame.sort_values("size", ascending=False, kind="stable").reset_index(drop=True)


def dendrogram_lines(tree: np.ndarray, top: int = 16, labels: np.ndarray | None = None,
                     k: int | None = None) -> dict[str, list]:
    """Line coordinates of the top ``top`` merges of a scipy linkage tree (SciPy's ``lastp`` truncation).

    Parameters
    ----------
    tree : ndarray of shape (n_leaves - 1, 4)
        The linkage matrix.
    top : int
        How many branches to draw at the bottom.
    labels : ndarray of shape (n_leaves,), optional
        The segment of each leaf, when the tree's leaves are the users; links below the cut then carry
        their segment.
    k : int, optional
        The number of segments cut from the tree: gives the cut line's height.

    Returns
    -------
    dict
        ``x`` and ``y`` lists of 4-point polylines (one per merge), ``leaf_x`` and ``leaf_labels`` for the
        ticks (a leaf label is the size of the branch: users, or micro-clusters where the tree was built
        on them); ``link_segment``, per polyline, the segment below the cut (None above it or when
        unknown); ``leaf_segment`` the same per leaf; ``cut`` the cut height (None without ``k``).
    """
    from scipy.cluster.hierarchy import dendrogram

    n_leaves = len(tree) + 1
    cut = None
    if k is not None and 2 <= k <= n_leaves:
        cut = float((tree[-k, 2] + tree[-k + 1, 2]) / 2) if k < n_leaves else float(tree[0, 2] / 2)
    known = labels is not None and len(labels) == n_leaves

    def member(node: int) -> int:
        while node >= n_leaves:  # walk down the left children to one leaf of this branch
            node = int(tree[node - n_leaves, 0])
        return node

    def segment_of(node: int) -> int | None:
        below = node < n_leaves or cut is None or tree[node - n_leaves, 2] < cut
        return int(labels[member(node)]) if known and below else None

    drawn = dendrogram(
        tree, truncate_mode="lastp", p=min(top, n_leaves), no_plot=True, show_leaf_counts=True,
        link_color_func=lambda node: str(segment_of(node)),
    )
    leaf_x = [5.0 + 10.0 * i for i in range(len(drawn["ivl"]))]
    # SciPy labels a merged branch "(size)" and a single leaf by its index: show sizes for both.
    leaf_labels = [label.strip("()") if label.startswith("(") else "1" for label in map(str, drawn["ivl"])]
    return {
        "x": drawn["icoord"], "y": drawn["dcoord"], "leaf_x": leaf_x, "leaf_labels": leaf_labels,
        "link_segment": [None if c == "None" else int(c) for c in drawn["color_list"]],
        "leaf_segment": [segment_of(int(node)) for node in drawn["leaves"]],
        "cut": cut,
    }


@dataclass(frozen=True)
class Card:
    """One figure of the Quality row: its label, its value as shown, the tooltip that explains it, and the label in
    plain words for the pages that keep technical names to the tooltip (the Runs page)."""

    label: str
    value: str
    help: str
    plain: str = ""


def quality_cards(metrics: Mapping[str, float], n_users: int) -> list[Card]:
    """The Quality row of the Segment page, every score saying which users it covers.

    The separation scores (silhouette, Calinski–Harabasz, Davies–Bouldin) leave noise users out; where a
    method left some users in no segment, each of those cards names the share it covers and the share of
    users in a segment stands beside them, so a density method's scores over half the users are not read as
    k-means' over all of them (issue 20).

    Parameters
    ----------
    metrics : mapping
        ``SegmentResult.metrics`` (``silhouette``, ``calinski_harabasz``, ``davies_bouldin``, ``n_segments``,
        ``n_noise``, ``stability``; ``coverage`` where the run has it).
    n_users : int

    Returns
    -------
    list of Card
        Silhouette, Calinski–Harabasz, Davies–Bouldin, segments, users in a segment, stability (the order
        of the cards before coverage was shown, "Users in a segment" in place of "Noise share").
    """
    n_noise = int(metrics.get("n_noise", 0))
    coverage = float(metrics.get("coverage", 1.0 - n_noise / n_users if n_users else 0.0))
    covered = n_users - n_noise
    partial = n_noise > 0
    on = f" ({coverage:.0%} of users)" if partial else ""
    scope = (f" Computed on the {covered:,} users in a segment only: the {n_noise:,} noise users "
             f"({1 - coverage:.0%}) are left out, which flatters a method that leaves many users out."
             if partial else " Computed on every user.")

    def number(value: float, fmt: str) -> str:
        return format(value, fmt) if value is not None and np.isfinite(value) else "–"

    return [
        Card(f"Silhouette{on}", number(metrics.get("silhouette"), ".3f"),
             "How clearly each user sits in their own segment rather than the next: -1 to 1, higher is better."
             + scope, f"How clearly apart{on}"),
        Card(f"Calinski–Harabasz{on}", number(metrics.get("calinski_harabasz"), ",.0f"),
             "Spread between segments against spread within them: higher is better." + scope,
             f"Spread between against within{on}"),
        Card(f"Davies–Bouldin{on}", number(metrics.get("davies_bouldin"), ".3f"),
             "How much each segment overlaps its most similar one: lower is better." + scope,
             f"Overlap with the nearest segment{on}"),
        Card("Segments", f"{int(metrics['n_segments'])}", "How many segments the users were split into.", "Segments"),
        Card("Users in a segment", f"{coverage:.0%}",
             f"{covered:,} of {n_users:,} users are in a segment; {n_noise:,} ({1 - coverage:.0%}) are noise, in "
             "no segment. The separation scores cover only the users in a segment.", "Users in a segment"),
        Card("Stability", number(metrics.get("stability"), ".2f"),
             "0 to 1: how alike the segments come back when the users are resampled (mean ARI).",
             "Holds when resampled"),
    ]


# Kaufman and Rousseeuw's reading of a mean silhouette (Finding Groups in Data, 1990): above 0.5 a reasonable
# structure, 0.25 to 0.5 a weak one, below 0.25 none worth the name. Text profiles mostly land in the last.
_CLEAR_SILHOUETTE, _WEAK_SILHOUETTE = 0.5, 0.25


def quality_reading(metrics: Mapping[str, float], n_users: int) -> str:
    """The Quality row in one plain sentence for a marketer: are the segments apart, do they come back when
    the users are resampled, and how many users are in none. The technical names stay on the cards."""
    parts = []
    silhouette = metrics.get("silhouette")
    if silhouette is not None and np.isfinite(silhouette):
        if silhouette >= _CLEAR_SILHOUETTE:
            parts.append("the segments are clearly apart")
        elif silhouette >= _WEAK_SILHOUETTE:
            parts.append("the segments are apart, with blurred edges")
        else:
            parts.append("the segments overlap a lot, as comments usually do: read them as leanings, not walls")
    stability = metrics.get("stability")
    if stability is not None and np.isfinite(stability):
        if stability >= STABLE_ENOUGH:
            parts.append("they come back nearly the same when the users are resampled, so they are not an "
                         "accident of this sample")
        else:
            parts.append("they change when the users are resampled: fewer segments may hold better")
    n_noise = int(metrics.get("n_noise", 0))
    if n_noise and n_users:
        parts.append(f"{n_noise / n_users:.0%} of users fit no segment")
    return ("In plain words: " + "; ".join(parts) + ".") if parts else ""


def stability_words(value: float | None) -> str:
    """A segment's clusterboot stability for a card: the number and what it means in plain words."""
    if value is None or not np.isfinite(value):
        return "not measured"
    if value < UNSTABLE_JACCARD:
        return f"{value:.2f}: unstable (resampled users often form this segment differently)"
    return f"{value:.2f}: stable (it comes back when the users are resampled)"


def comments_per_user(comments: Comments) -> pd.Series:
    """Number of comments of each user, indexed by user id."""
    return comments.frame.groupby("user_id").size().rename("comments")


def text_lengths(comments: Comments) -> pd.Series:
    """Length of each comment in characters."""
    return comments.frame["text"].str.len().rename("characters")


def text_length_summary(comments: Comments) -> dict[str, float]:
    """Comment lengths in characters: median, 90th percentile and maximum."""
    lengths = comments.frame["text"].str.len()
    if lengths.empty:
        return {"median": 0.0, "p90": 0.0, "max": 0.0}
    return {
        "median": float(lengths.median()),
        "p90": float(lengths.quantile(0.9)),
        "max": float(lengths.max()),
    }


def segment_of(assignments: pd.DataFrame, user_id: str) -> int:
    """The segment of one user in a run's assignments."""
    return int(assignments.loc[assignments["user_id"] == user_id, "segment"].iloc[0])


def membership_words(assignments: pd.DataFrame, user_id: str, labels: Mapping[int, str]) -> str | None:
    """How firmly one user belongs, in words: their segment's weight and the two next segments', and whether
    they sit between segments (:mod:`segmentation.cluster.membership`); None where the run has no such
    columns (a run saved before them, or one edited by hand outside this session)."""
    row = assignments.loc[assignments["user_id"] == user_id]
    if row.empty or "weight" not in row.columns or pd.isna(row["weight"].iloc[0]):
        return None
    row = row.iloc[0]
    if int(row["segment"]) < 0:
        return None
    others = [f"{labels.get(int(row[f'segment_{n}']), str(int(row[f'segment_{n}'])))} ({row[f'weight_{n}']:.0%})"
              for n in (2, 3) if int(row[f"segment_{n}"]) >= 0]
    own = f"{float(row['weight']):.0%} in {labels.get(int(row['segment']), str(int(row['segment'])))}"
    text = own + (f"; also near {' and '.join(others)}" if others else "")
    if bool(row["between"]):
        text += ". Between segments: their own segment is barely nearer than the next one"
    return text + "."


def user_comments(comments: Comments, user_id: str) -> pd.DataFrame:
    """One user's comments with whichever of item, rating and time the data has."""
    frame = comments.frame
    columns = [c for c in ("time", "item_id", "rating", "text") if c in frame.columns]
    mine = frame.loc[frame["user_id"] == user_id, columns]
    if "time" in mine.columns:
        mine = mine.sort_values("time", kind="stable")
    return mine.reset_index(drop=True)


# Sweep columns drawn, in panel order: stability first, as it decides k; HDBSCAN's segments, noise and
# validity where its sweep has them.
SWEEP_METRICS = (
    "stability", "silhouette", "calinski_harabasz", "davies_bouldin", "inertia",
    "n_segments", "noise_share", "largest_share", "validity",
)


def sweep_long(table: pd.DataFrame, x: str = "k") -> pd.DataFrame:
    """A sweep table in long form (one row per x and metric) for small-multiple line charts."""
    metrics = [c for c in SWEEP_METRICS if c in table]
    long = table.melt(id_vars=[x], value_vars=metrics, var_name="metric", value_name="value")
    return long.dropna(subset=["value"]).reset_index(drop=True)


@dataclass(frozen=True)
class RecommendedMethod:
    """The method whose list the Recommend page shows, and why in one sentence.

    Attributes
    ----------
    method : str
        A registered recommender name.
    why : str
        Tells the user where the choice comes from, in the answer's own terms.
    """

    method: str
    why: str


def recommended_method(evaluation: Evaluation | None) -> RecommendedMethod:
    """The recommender the answer recommends, so the page tells one story (issue 20: it answered "No: EASE
    alone does as well" and listed the user's picks from the segment method).

    The segment-aware method where the answer is "yes" (it clearly wins); otherwise the best method that
    ignores segments. Before the methods are compared, the default method, said to be the default.
    """
    from segmentation.recommend.base import RECOMMENDERS
    from segmentation.recommend.service import DEFAULT_METHOD

    if evaluation is None:
        return RecommendedMethod(DEFAULT_METHOD, f"{RECOMMENDERS[DEFAULT_METHOD].label}, the default until "
                                 "“Find out” above has compared the methods on your data")
    answer = evaluation.answer()
    if answer.verdict == "yes":
        return RecommendedMethod(answer.segment_method, f"{RECOMMENDERS[answer.segment_method].label}, as "
                                 "the answer above recommends: on your data it clearly beats ignoring segments")
    return RecommendedMethod(answer.rival, f"{RECOMMENDERS[answer.rival].label}, as the answer above "
                             "recommends: on your data segments did not clearly help")


class UserRecommendations:
    """One user's recommendations beside the global popularity list, as tables for the Recommend page.

    Parameters
    ----------
    fitted : RunRecommenders
        From :func:`segmentation.recommend.service.fit_run_recommenders` (the fitting lives there).
    item_labels : ItemLabels, optional
        How the items show (``Prepared.item_labels``: the name where the data names an item, else its id and the
        words of its comments); without it, items show by id.
    """

    def __init__(self, fitted: RunRecommenders, item_labels: ItemLabels | None = None) -> None:
        from segmentation.describe.items import ItemLabels

        self.fitted = fitted
        self.item_labels = item_labels if item_labels is not None else ItemLabels()

    @property
    def has_items(self) -> bool:
        return self.fitted.has_items

    @property
    def method(self) -> str:
        return self.fitted.method

    def for_user(self, user_id: str, n: int = 10) -> tuple[pd.DataFrame, pd.DataFrame | None, str]:
        """The method's list, the popularity list (None without items) and what answered, in words.

        Tables have ``rank``, ``item`` (the item as people read it, or the recommended comment), ``score`` and
        ``reason``.
        """
        ours, popular, answered_by = self.fitted.for_user(user_id, n)
        table = self._table(ours)
        return table, None if popular is None else self._table(popular), answered_by

    def caption(self, n: int, answered_by: str, chosen: RecommendedMethod) -> str:
        """What the user's list is, in words: the recommended method and why, or the fallback that answered
        (:meth:`for_user`'s ``answered_by``), and how items show where the data does not name them."""
        if not self.has_items:
            return f"Top {n} comments by segment peers: {answered_by}."
        if answered_by == type(self.fitted.model).label:
            text = f"Top {n} items from {chosen.why}."
        else:  # a user with comments but no items gets their segment's favourites
            text = f"Top {n} items: {answered_by}, as this user has commented on no item yet."
        if not self.item_labels.named:
            text += (" This data names no items, so each item shows its id from the file and the words that set "
                     "its comments apart.")
        return text

    def _table(self, recommendations: Sequence) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "rank": np.arange(1, len(recommendations) + 1),
                "item": [r.text if r.text is not None else self.item_labels.label(r.item_id)
                         for r in recommendations],
                "score": [round(r.score, 4) for r in recommendations],
                "reason": [r.reason for r in recommendations],
            }
        )


def lift_frame(lift_by_segment: pd.DataFrame, labels: Mapping[int, str]) -> pd.DataFrame:
    """Per-segment lift for the bar chart: saved names, lift and interval in percent, a verdict per bar.

    Parameters
    ----------
    lift_by_segment : DataFrame
        ``Evaluation.lift_by_segment()`` (segment, name, users, best_method, rival, lift, low, high, hurts,
        clear).
    labels : mapping
        Display label per segment id; segments missing from it keep the evaluation's name.

    Returns
    -------
    DataFrame
        Columns ``label``, ``users``, ``best_method``, ``lift_pct``, ``low_pct``, ``high_pct``, ``verdict``
        (``helps`` / ``hurts`` where the interval excludes zero, ``unclear`` where it spans zero), largest lift
        first. Left out: segments without a defined lift, and those where both methods made exactly the same
        hits (lift and interval all 0), which would be empty bars at 0; so an empty frame means no segment
        shows a difference, and the page then draws no chart.
    """
    frame = lift_by_segment.dropna(subset=["lift"]).copy()
    same = (frame[["lift", "low", "high"]].astype(float).abs() < 1e-12).all(axis=1)
    frame = frame[~same]
    frame["label"] = [labels.get(s, n) for s, n in zip(frame["segment"], frame["name"], strict=True)]
    for column in ("lift", "low", "high"):
        frame[f"{column}_pct" if column != "lift" else "lift_pct"] = 100.0 * frame[column].astype(float)
    frame["verdict"] = np.where(~frame["clear"].astype(bool), "unclear", np.where(frame["hurts"], "hurts", "helps"))
    frame = frame.sort_values("lift_pct", ascending=False, kind="stable")
    return frame[["label", "users", "best_method", "lift_pct", "low_pct", "high_pct", "verdict"]].reset_index(drop=True)


_HOW_NAMED = {"user": "typed", "llm": "suggested by the language model and kept", "carried": "carried over"}


def name_history_table(lineage: Mapping[int, Sequence[NameChange]]) -> pd.DataFrame:
    """One row per named segment (``segment, name, history``) from :func:`segmentation.runs.compare.name_lineage`.

    ``history`` reads oldest first, one step per line, e.g. ``2026-11-30 run 3f2a…, segment 0: typed
    “Bargain hunters”`` then ``2026-12-02 run 9c1b…, segment 2: carried over from run 3f2a…``.
    """
    rows = []
    for segment, changes in sorted(lineage.items()):
        steps = []
        for change in changes:
            step = f"{change.changed_at[:10]} run {change.run_key}, segment {change.segment_id}: "
            if change.source == "carried":
                origin = f" from run {change.from_run}" if change.from_run else ""
                step += f"{_HOW_NAMED['carried']}{origin}"
            else:
                step += f"{_HOW_NAMED.get(change.source, change.source)} “{change.new_name}”"
            steps.append(step)
        rows.append({"segment": segment, "name": changes[-1].new_name if changes else "",
                     "history": "\n".join(steps)})
    return pd.DataFrame(rows, columns=["segment", "name", "history"])
