"""Two saved runs side by side: how the users of one sit in the segments of the other, and where each
segment's name came from.

Each run is read with its hand edits applied (:func:`segmentation.runs.service.edited_assignments`), as every
view of a stored run is.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from segmentation.core.errors import ConfigError
from segmentation.core.labels import shown_name
from segmentation.runs.records import NameChange
from segmentation.runs.service import _segment_names, edited_assignments, saved_run
from segmentation.runs.workspace import Workspace


@dataclass(frozen=True)
class RunComparison:
    """How the users of two saved runs sit in each other's segments.

    Attributes
    ----------
    first, second : str
        The two runs' keys.
    overlap : DataFrame
        Users in both runs: one row per segment of ``first``, one column per segment of ``second``, each
        cell the users the two segments share (noise is segment -1, like any other).
    first_names, second_names : dict of int to str
        Each run's segment names: the saved ones, else the ones the run suggested.
    ari : float
        Adjusted Rand index between the two segmentations of the shared users: 1 the same grouping, about
        0 no more alike than chance.
    n_only_first, n_only_second : int
        Users in one run only (runs of different data may share only part of their users).
    """

    first: str
    second: str
    overlap: pd.DataFrame
    first_names: dict[int, str]
    second_names: dict[int, str]
    ari: float
    n_only_first: int
    n_only_second: int

    @property
    def n_common(self) -> int:
        return int(self.overlap.to_numpy().sum())

    @property
    def kept_together(self) -> float:
        """The share of shared users who landed in the segment of ``second`` that took most of their
        segment of ``first``: how many users a marketer would find "in the same place" again."""
        return (self.n_common - self.n_moved) / max(self.n_common, 1)

    @property
    def n_moved(self) -> int:
        """Shared users outside the segment of ``second`` that took most of their segment of ``first``: the
        users a marketer would find somewhere else (``n_common`` times one minus :attr:`kept_together`)."""
        return self.n_common - int(self.overlap.max(axis=1).sum())

    def flows(self) -> pd.DataFrame:
        """The non-empty cells of ``overlap``, largest first: ``first_segment, first_name, second_segment,
        second_name, users``."""
        long = self.overlap.stack().rename("users").reset_index()
        long.columns = ["first_segment", "second_segment", "users"]
        long = long[long["users"] > 0].sort_values("users", ascending=False, ignore_index=True)
        long.insert(1, "first_name", [shown_name(self.first_names, s) for s in long["first_segment"]])
        long.insert(3, "second_name",
                    [shown_name(self.second_names, s) for s in long["second_segment"]])
        return long


def compare_runs(first: str, second: str, workspace: Workspace | None = None) -> RunComparison:
    """Compare two saved runs on the users they share, each with its hand edits applied.

    Parameters
    ----------
    first, second : str
        Saved runs (of the same data, or of data that shares users).
    workspace : Workspace, optional

    Returns
    -------
    RunComparison

    Raises
    ------
    ConfigError
        When a run is unknown, or the two runs share no user.
    """
    from sklearn.metrics import adjusted_rand_score

    workspace = workspace if workspace is not None else Workspace()
    for key in (first, second):
        saved_run(key, workspace)
    a = pd.Series(edited_assignments(first, workspace), name="first", dtype="Int64")
    b = pd.Series(edited_assignments(second, workspace), name="second", dtype="Int64")
    both = pd.concat([a, b], axis=1, join="inner")
    if both.empty:
        raise ConfigError(f"runs {first} and {second} share no user: there is nothing to compare")
    overlap = pd.crosstab(both["first"], both["second"])
    overlap.index, overlap.columns = overlap.index.astype(int), overlap.columns.astype(int)
    return RunComparison(
        first, second, overlap, _segment_names(workspace, first), _segment_names(workspace, second),
        float(adjusted_rand_score(both["first"], both["second"])), len(a) - len(both), len(b) - len(both),
    )


def name_lineage(key: str, workspace: Workspace | None = None) -> dict[int, list[NameChange]]:
    """Each named segment's name changes across runs, oldest first (see ``Workspace.lineage``)."""
    workspace = workspace if workspace is not None else Workspace()
    return {segment: workspace.lineage(key, segment) for segment in workspace.names(key)}


__all__ = ["RunComparison", "compare_runs", "name_lineage"]
