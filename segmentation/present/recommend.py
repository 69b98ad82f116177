"""The Recommend page's figures in plain words: every title readable by a marketer, every technical name (EASE,
NDCG, recall@N, the bootstrap interval) in the tooltip beside it (issue 20: "jargon for a marketer … with no plain
reading beside it")."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import pandas as pd

from segmentation.recommend.base import RECOMMENDERS
from segmentation.recommend.evaluate import METRIC_HELP

if TYPE_CHECKING:
    from segmentation.recommend.evaluate import Evaluation

METHOD = "Method"
"""The column naming each method in plain words (:attr:`label`); the technical names are in :func:`methods_help`."""

WHERE_HELP = {
    "Users": ("users", "How many tested users are in the group.", "%d"),
    "Difference": ("lift", "The best method that uses segments against the best that ignores them, in this group: "
                   "relative NDCG@N (for users with comments but no items, relative recall@N against popularity's).",
                   "percent"),
    "At least": ("low", "Lower end of the 95 % interval of the difference (paired bootstrap over users).", "percent"),
    "At most": ("high", "Upper end of the 95 % interval of the difference (paired bootstrap over users).", "percent"),
    "Clear": ("clear", "Whether the interval leaves out 0: the difference is then unlikely to be chance.", None),
}
"""Per plain column of :func:`where_table`: the :meth:`Evaluation.where_segments_help` column, its tooltip and its
number format (None: a yes/no box)."""


def methods_help(methods: Iterable[str]) -> str:
    """One tooltip naming each method technically: ``<plain label>: <technical name>``, separated by semicolons."""
    return "Technical names. " + "; ".join(
        f"{RECOMMENDERS[m].label}: {RECOMMENDERS[m].technical or m}" for m in dict.fromkeys(methods))


def method_columns() -> dict[str, tuple[str, str]]:
    """The tooltip and number format of each figure column of :func:`method_table`, by its plain title."""
    return {title: (help_text, fmt) for title, help_text, fmt in METRIC_HELP.values()}


def method_table(evaluation: Evaluation) -> pd.DataFrame:
    """One row per method, in plain words: :data:`METHOD` then the :data:`METRIC_HELP` titles (the tooltips give
    each figure's technical name). The settings each method chose on its validation split stay in the evaluation's
    record (``evaluation.json``): parameter names such as ``l2`` mean nothing to a marketer."""
    table = evaluation.table()
    shown = [column for column in METRIC_HELP if column in table.columns]
    plain = table[shown].rename(columns={column: METRIC_HELP[column][0] for column in shown})
    plain.insert(0, METHOD, [RECOMMENDERS[m].label for m in table.index])
    return plain.reset_index(drop=True)


def where_table(evaluation: Evaluation) -> pd.DataFrame:
    """Where segments help, by group of users, under the plain titles of :data:`WHERE_HELP`."""
    frame = evaluation.where_segments_help()
    plain = frame.rename(columns={"group": "Group"} | {source: title for title, (source, *_) in WHERE_HELP.items()})
    return plain[["Group", *WHERE_HELP]]


def evaluation_reading(evaluation: Evaluation) -> tuple[str, str]:
    """How the answer was measured, in one plain sentence, and its tooltip: the protocol, the figures' technical
    names and the technical verdict (:attr:`Evaluation.verdict`)."""
    n = evaluation.top_n
    text = (f"How this was measured: each tested user's latest item was hidden, and each method had to find it among "
            f"its top {n} picks, made from the user's other items.")
    tooltip = (f"Leave-last-out evaluation: hit rate@{n} (the same as recall@{n} with one hidden item per user) "
               "and NDCG, with a 95 % paired-bootstrap interval over users. " + methods_help(evaluation.methods)
               + ". " + evaluation.verdict)
    return text, tooltip


__all__ = ["METHOD", "WHERE_HELP", "evaluation_reading", "method_table", "methods_help", "where_table"]
