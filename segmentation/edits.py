"""Hand edits of a run's segments: a map selection saved as a new segment, two segments merged.

Edits are kept per run in the workspace's SQLite file (table ``segment_edits``), in order, so the edited
segments come back after a restart, exports carry them, and the last edit can be undone. The run's own
clustering is never changed: the edited labels are the run's labels with the edits applied in turn.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from segmentation.errors import ConfigError
from segmentation.paths import workspace_dir

if TYPE_CHECKING:
    from segmentation.describe import SegmentDescription
    from segmentation.pipeline import Prepared, SegmentResult

NOISE = -1
SILHOUETTE_SAMPLE = 5000
_SCHEMA = """
CREATE TABLE IF NOT EXISTS segment_edits (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    run_key    TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('split', 'merge')),
    payload    TEXT NOT NULL,
    created_at TEXT NOT NULL
)
"""


@dataclass(frozen=True)
class Edit:
    """One edit. ``split``: ``users`` leave their segments for a new one. ``merge``: the users of
    ``absorbed`` join ``kept``."""

    kind: Literal["split", "merge"]
    users: tuple[str, ...] = ()
    kept: int = NOISE
    absorbed: int = NOISE
    created_at: str = ""

    def describe(self) -> str:
        """One line for the edit history."""
        if self.kind == "split":
            return f"{len(self.users):,} selected users saved as a new segment"
        return f"segment {self.absorbed} merged into segment {self.kept}"

    def payload(self) -> str:
        data = {"users": list(self.users)} if self.kind == "split" else {"kept": self.kept,
                                                                        "absorbed": self.absorbed}
        return json.dumps(data)


def split_edit(user_ids: Sequence[str], users: Sequence[str]) -> Edit:
    """An edit that saves ``users`` (a map selection) as a new segment, out of the segments they were in.

    Raises
    ------
    ConfigError
        If no user is selected, a user is unknown, or the selection is every user.
    """
    chosen = tuple(dict.fromkeys(str(u) for u in users))
    if not chosen:
        raise ConfigError("select some users on the map first")
    known = set(map(str, user_ids))
    missing = [u for u in chosen if u not in known]
    if missing:
        raise ConfigError(f"{len(missing)} selected users are not in this run (e.g. {missing[0]!r})")
    if len(chosen) == len(known):
        raise ConfigError("the selection holds every user: a new segment needs users left outside it")
    return Edit("split", users=chosen)


def merge_edit(labels: np.ndarray, kept: int, absorbed: int) -> Edit:
    """An edit that merges segment ``absorbed`` into segment ``kept``.

    Raises
    ------
    ConfigError
        If the two are the same, either is absent, or either is the noise group.
    """
    present = set(np.unique(labels).tolist())
    if kept == absorbed:
        raise ConfigError("choose two different segments to merge")
    for segment in (kept, absorbed):
        if segment not in present:
            raise ConfigError(f"segment {segment} is not in this run")
        if segment == NOISE:
            raise ConfigError("noise users are not a segment: give them to a segment with a selection")
    return Edit("merge", kept=int(kept), absorbed=int(absorbed))


def apply_edits(labels: np.ndarray, user_ids: Sequence[str], edits: Sequence[Edit]) -> np.ndarray:
    """The labels after ``edits`` in turn. A split's new segment takes the next unused id."""
    out = np.asarray(labels, dtype=int).copy()
    position = {str(u): i for i, u in enumerate(user_ids)}
    for edit in edits:
        if edit.kind == "split":
            rows = [position[u] for u in edit.users if u in position]
            out[rows] = int(out.max()) + 1 if len(out) else 0
        else:
            out[out == edit.absorbed] = edit.kept
    return out


@dataclass(frozen=True)
class EditPreview:
    """What an edit would do: sizes per segment and the mean silhouette, before and after."""

    sizes: pd.DataFrame  # segment, before, after
    silhouette_before: float | None
    silhouette_after: float | None


def preview(space: np.ndarray, before: np.ndarray, after: np.ndarray, *, seed: int = 0) -> EditPreview:
    """Sizes and mean silhouette (on a sample of at most 5,000 users) before and after an edit.

    Parameters
    ----------
    space : ndarray of shape (n_users, d)
        The run's clustering space (``Prepared.space(*config.space)``).
    before, after : ndarray of shape (n_users,)
        Labels without and with the edit.
    """
    from segmentation.metrics import silhouette_values

    ids = sorted(set(np.unique(before).tolist()) | set(np.unique(after).tolist()))
    sizes = pd.DataFrame({"segment": ids,
                          "before": [int((before == s).sum()) for s in ids],
                          "after": [int((after == s).sum()) for s in ids]})

    def mean(labels: np.ndarray) -> float | None:
        if len(set(labels[labels != NOISE].tolist())) < 2:
            return None
        values = silhouette_values(space, labels, max_points=SILHOUETTE_SAMPLE, seed=seed)
        return float(np.nanmean(values)) if np.isfinite(values).any() else None

    return EditPreview(sizes, mean(np.asarray(before)), mean(np.asarray(after)))


def selection_description(prepared: Prepared, users: Sequence[str]) -> SegmentDescription:
    """What a selection of users is about, against all other users: its size, share, distinctive
    keywords (c-TF-IDF, selection against the rest) and representative comments."""
    from segmentation.describe import describe_segments

    chosen = set(map(str, users))
    if not chosen:
        raise ConfigError("select some users on the map first")
    inside = np.array([str(u) in chosen for u in prepared.profiles.user_ids], dtype=int)
    described = describe_segments(prepared.comments, prepared.profiles, inside, prepared.embeddings,
                                  terms=prepared.terms)
    return next(d for d in described if d.id == 1)


def edited_result(prepared: Prepared, result: SegmentResult, labels: np.ndarray) -> SegmentResult:
    """``result`` with new labels: segments described again, quality and silhouettes recomputed."""
    from segmentation.describe import describe_segments
    from segmentation.metrics import quality, silhouette_values

    labels = np.asarray(labels, dtype=int)
    config = result.config
    space = prepared.space(*config.space)
    silhouette = silhouette_values(space, labels, max_points=SILHOUETTE_SAMPLE, seed=config.seed)
    mean = float(np.nanmean(silhouette)) if np.isfinite(silhouette).any() else None
    segments = describe_segments(prepared.comments, prepared.profiles, labels, prepared.embeddings,
                                 terms=prepared.terms)
    names = {s.id: s.name for s in segments}
    assignments = result.assignments.copy()
    assignments["segment"] = labels
    assignments["segment_name"] = [names[label] for label in labels]
    metrics = quality(space, labels, seed=config.seed, silhouette=mean)
    # Stability says how reproducible the algorithm's clustering is; hand edits are not resampled, so the
    # run's figure stays (with a note), and only segments the edits left as they were keep theirs.
    for key in ("stability",):
        if key in result.metrics:
            metrics[key] = result.metrics[key]
    untouched = {s: v for s, v in result.segment_stability.items()
                 if np.array_equal(labels == s, np.asarray(result.labels) == s)}
    notes = [*result.notes, "Segments edited by hand: stability is the clustering's before the edits"]
    return replace(result, labels=labels, assignments=assignments, segments=segments, metrics=metrics,
                   silhouette=silhouette, tree=None, notes=notes, segment_stability=untouched)


class EditLog:
    """The edits of every run, in order, in the workspace's SQLite file.

    Parameters
    ----------
    path : str or Path, optional
        The database file; defaults to the workspace's ``workspace.sqlite``.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        from segmentation.workspace import WORKSPACE_FILE

        self.path = Path(path) if path is not None else workspace_dir() / WORKSPACE_FILE
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as connection:
            connection.execute(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30)) as connection, connection:
            yield connection

    def add(self, run_key: str, edit: Edit) -> None:
        with self._connect() as connection:
            connection.execute("INSERT INTO segment_edits (run_key, kind, payload, created_at) VALUES (?,?,?,?)",
                               (run_key, edit.kind, edit.payload(),
                                datetime.now(timezone.utc).isoformat(timespec="seconds")))

    def edits(self, run_key: str) -> list[Edit]:
        """The run's edits, oldest first."""
        with self._connect() as connection:
            rows = connection.execute("SELECT kind, payload, created_at FROM segment_edits WHERE run_key = ? "
                                      "ORDER BY id", (run_key,)).fetchall()
        out = []
        for kind, payload, created_at in rows:
            data = json.loads(payload)
            if kind == "split":
                out.append(Edit("split", users=tuple(data["users"]), created_at=created_at))
            else:
                out.append(Edit("merge", kept=int(data["kept"]), absorbed=int(data["absorbed"]),
                                created_at=created_at))
        return out

    def undo(self, run_key: str) -> Edit | None:
        """Remove the run's last edit and return it (None when there is none)."""
        edits = self.edits(run_key)
        if not edits:
            return None
        with self._connect() as connection:
            connection.execute("DELETE FROM segment_edits WHERE id = (SELECT MAX(id) FROM segment_edits "
                               "WHERE run_key = ?)", (run_key,))
        return edits[-1]


def edits_key(edits: Sequence[Edit]) -> str:
    """A short content key of a list of edits (for caches)."""
    import hashlib

    return hashlib.sha256("\n".join(f"{e.kind}:{e.payload()}" for e in edits).encode()).hexdigest()[:16]
