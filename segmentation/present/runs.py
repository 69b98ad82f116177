"""The Runs page's quality figures: two runs side by side on equal terms.

A density method's separation scores speak only for the users it put in a segment (issue 20: HDBSCAN's 0.50 on
half the users stood beside k-means' 0.12 on all of them), so each figure says which share of users it covers, as
the Segment page's cards do (:func:`~segmentation.present.views.quality_cards`, here under their plain labels with
the technical name in the tooltip), and two runs are never ranked on separation when they cover different shares.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from segmentation.cluster.selection import CLOSE_SILHOUETTE
from segmentation.present.views import Card, quality_cards, quality_reading

# Coverages closer than this are the same share of users (a rounding apart, not a method that leaves users out).
_SAME_COVERAGE = 0.005

RUNS_TABLE_HELP = {
    "k": ("Segments", "How many segments the run found (noise aside); k in the settings.", "%d"),
    "coverage": ("Users in a segment", "The share of users the run put in a segment; the rest are noise, in no "
                 "segment. The separation figure speaks only for these users.", "percent"),
    "silhouette": ("How clearly apart", "Silhouette, -1 to 1, higher is better: how clearly each user sits in their "
                   "own segment rather than the next. Computed on the users in a segment only: read it beside "
                   "'Users in a segment', never rank a run that leaves users out above one that does not on it.",
                   "%.3f"),
    "stability": ("Holds when resampled", "Stability, 0 to 1 (mean adjusted Rand index, ARI): how alike the segments "
                  "come back when the users are resampled.", "%.2f"),
}
"""Per quality column of ``runs_table``: its plain title, the tooltip with the technical name, the number format."""


@dataclass(frozen=True)
class RunQuality:
    """One saved run's quality, as the Runs page shows it.

    Attributes
    ----------
    run : str
    cards : list of Card
        :func:`~segmentation.present.views.quality_cards` (each with its ``plain`` label).
    reading : str
        :func:`~segmentation.present.views.quality_reading`: the figures in one plain sentence.
    coverage : float
        The share of users in a segment, the users the separation figures cover.
    silhouette : float or None
    """

    run: str
    cards: list[Card]
    reading: str
    coverage: float
    silhouette: float | None


def run_quality(run: str, metrics: Mapping[str, float], n_users: int) -> RunQuality:
    """The quality of saved run ``run`` from its recorded ``metrics`` (``RunInfo.metrics``) and user count."""
    cards = quality_cards(metrics, n_users)
    coverage = float(metrics.get("coverage", 1.0 - metrics.get("n_noise", 0) / n_users if n_users else 1.0))
    silhouette = metrics.get("silhouette")
    known = silhouette is not None and np.isfinite(silhouette)
    return RunQuality(run, cards, quality_reading(metrics, n_users), coverage, float(silhouette) if known else None)


def _share(quality: RunQuality) -> str:
    return "every user" if quality.coverage >= 1.0 - _SAME_COVERAGE else f"{quality.coverage:.0%} of its users"


def separation_verdict(first: RunQuality, second: RunQuality) -> str:
    """Which run's segments are more clearly apart, in one plain sentence, only where both figures cover the same
    share of users; otherwise why the two are not ranked (a partial-coverage run is never put above a full one)."""
    if first.silhouette is None or second.silhouette is None:
        return ""
    if abs(first.coverage - second.coverage) > _SAME_COVERAGE:
        partial, fuller = sorted((first, second), key=lambda q: q.coverage)
        return (f"Not ranked on how clearly apart: run {partial.run}'s figure ({partial.silhouette:.2f}) speaks only "
                f"for the {partial.coverage:.0%} of its users in a segment, run {fuller.run}'s "
                f"({fuller.silhouette:.2f}) for {_share(fuller)}. Leaving users out makes segments look further apart "
                "than they are.")
    if abs(first.silhouette - second.silhouette) < CLOSE_SILHOUETTE:
        return (f"Runs {first.run} and {second.run} are about as clearly apart ({first.silhouette:.2f} and "
                f"{second.silhouette:.2f}, on {_share(first)}).")
    better, worse = sorted((first, second), key=lambda q: q.silhouette, reverse=True)
    return (f"Run {better.run}'s segments are more clearly apart than run {worse.run}'s ({better.silhouette:.2f} "
            f"against {worse.silhouette:.2f}, both on {_share(better)}).")


def plain_runs_table(table: pd.DataFrame) -> pd.DataFrame:
    """``runs_table`` with its quality columns under their plain titles (:data:`RUNS_TABLE_HELP`), coverage beside
    the separation figure."""
    return table.rename(columns={column: title for column, (title, *_) in RUNS_TABLE_HELP.items()})


__all__ = ["RUNS_TABLE_HELP", "RunQuality", "plain_runs_table", "run_quality", "separation_verdict"]
