"""Hand edits of a run's segments: a map selection saved as a new segment, two segments merged.

Edits are kept per run in the workspace's SQLite file (table ``segment_edits``), in order, so the edited
segments come back after a restart and exports carry them. The run's own clustering is never changed: the
edited labels are the run's labels with the active edits applied in turn.

Edits are bound to users, and segment ids are never reused within a run: a split lists its users and the new
segment takes one past the largest id the run has ever had (its own labels, or any edit's), so a name saved
for (run, segment id) always means the same users. Undo is reversible: an undone edit is kept (``undone``)
until redone, and a new edit after an undo drops the redo branch (``dropped``, kept for the record). Undo and
redo name the edit the user saw, so one session never takes back another's edit unawares.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from segmentation.cluster.metrics import SILHOUETTE_SAMPLE
from segmentation.core.errors import ConfigError
from segmentation.core.labels import shown_name
from segmentation.core.paths import workspace_dir
from segmentation.runs.workspace import WORKSPACE_FILE, transaction

if TYPE_CHECKING:
    from segmentation.cluster.metrics import SilhouetteSums
    from segmentation.describe.segments import SegmentDescription
    from segmentation.pipeline.segment import Prepared, SegmentResult

NOISE = -1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS segment_edits (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    run_key    TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('split', 'merge')),
    payload    TEXT NOT NULL,
    created_at TEXT NOT NULL
)
"""
ACTIVE, UNDONE, DROPPED = "active", "undone", "dropped"
# Columns added after the first edits were kept, added in place (as ``workspace.py`` adds its own): an edit
# saved before is active and was made in no known session.
_ADDED_COLUMNS = {"state": f"TEXT NOT NULL DEFAULT '{ACTIVE}'", "session": "TEXT"}


@dataclass(frozen=True)
class Edit:
    """One edit. ``split``: ``users`` leave their segments for segment ``segment``. ``merge``: the users of
    ``absorbed`` join ``kept``.

    ``segment`` is set when the edit log saves a split (None on a split not yet saved, and on one saved
    before ids were kept). ``centre`` and ``far`` are the split segment's mean member profile and the 95th
    percentile of its members' distances to it, kept so that new users can be placed in it. ``id``,
    ``state`` and ``session`` come from the edit log.
    """

    kind: Literal["split", "merge"]
    users: tuple[str, ...] = ()
    kept: int = NOISE
    absorbed: int = NOISE
    created_at: str = ""
    segment: int | None = None
    centre: tuple[float, ...] | None = None
    far: float | None = None
    id: int | None = None
    state: str = ACTIVE
    session: str | None = None

    def describe(self, names: Mapping[int, str] | None = None) -> str:
        """One line for the edit history, with the segments' names (``names``; "Segment 3" without one)."""
        if self.kind == "split":
            made = "a new segment" if self.segment is None else f"“{shown_name(names, self.segment)}”"
            return f"{len(self.users):,} selected users saved as {made}"
        return f"{shown_name(names, self.absorbed)} merged into {shown_name(names, self.kept)}"

    def payload(self) -> str:
        if self.kind == "merge":
            return json.dumps({"kept": self.kept, "absorbed": self.absorbed})
        data: dict = {"users": list(self.users), "segment": self.segment}
        if self.centre is not None:
            data.update(centre=list(self.centre), far=self.far)
        return json.dumps(data)


def split_edit(user_ids: Sequence[str], users: Sequence[str], vectors: np.ndarray | None = None) -> Edit:
    """An edit that saves ``users`` (a map selection) as a new segment, out of the segments they were in.

    Parameters
    ----------
    user_ids : sequence of str
        The run's users.
    users : sequence of str
        The selection.
    vectors : ndarray of shape (n_users, d), optional
        The users' profiles (rows in the order of ``user_ids``): with them the edit keeps the new segment's
        centre and far distance, so that ``assign`` can place new users in it.

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
    if vectors is None:
        return Edit("split", users=chosen)
    centre, far = _centre(np.asarray(vectors), user_ids, chosen)
    return Edit("split", users=chosen, centre=centre, far=far)


def _centre(vectors: np.ndarray, user_ids: Sequence[str], users: Sequence[str]) -> tuple[tuple[float, ...], float]:
    from segmentation.cluster.placement import FAR_QUANTILE

    chosen = set(users)
    members = vectors[[str(u) in chosen for u in user_ids]]
    centre = members.mean(axis=0)
    far = float(np.quantile(np.linalg.norm(members - centre, axis=1), FAR_QUANTILE))
    return tuple(round(float(v), 7) for v in centre), round(far, 7)


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
    """The labels after the active ``edits`` in turn (undone and dropped ones are skipped).

    A split goes to the segment the edit log gave it; one not yet saved (a preview) takes one past the
    largest id seen so far, so it never lands on an existing segment either.
    """
    out = np.asarray(labels, dtype=int).copy()
    position = {str(u): i for i, u in enumerate(user_ids)}
    top = int(out.max()) if len(out) else NOISE
    for edit in edits:
        if edit.state != ACTIVE:
            continue
        if edit.kind == "split":
            segment = edit.segment if edit.segment is not None else top + 1
            out[[position[u] for u in edit.users if u in position]] = segment
            top = max(top, segment)
        else:
            out[out == edit.absorbed] = edit.kept
    return out


@dataclass(frozen=True)
class EditPreview:
    """What an edit would do: sizes per segment and the mean silhouette, before and after."""

    sizes: pd.DataFrame  # segment, before, after
    silhouette_before: float | None
    silhouette_after: float | None


def preview(space: np.ndarray, before: np.ndarray, after: np.ndarray, *, seed: int = 0,
            sums: SilhouetteSums | None = None) -> EditPreview:
    """Sizes and mean silhouette (on a sample of at most 5,000 users) before and after an edit.

    Parameters
    ----------
    space : ndarray of shape (n_users, d)
        The run's clustering space (``Prepared.space(*config.space)``).
    before, after : ndarray of shape (n_users,)
        Labels without and with the edit.
    sums : SilhouetteSums, optional
        ``silhouette_sums(space, before, max_points=SILHOUETTE_SAMPLE, seed=seed)``, kept by the caller across
        previews: both means then come from it and the distances of the users the edit moves, the same
        figures at a fraction of the cost.
    """
    from segmentation.cluster.metrics import silhouette_values

    ids = sorted(set(np.unique(before).tolist()) | set(np.unique(after).tolist()))
    sizes = pd.DataFrame({"segment": ids,
                          "before": [int((before == s).sum()) for s in ids],
                          "after": [int((after == s).sum()) for s in ids]})

    def mean(labels: np.ndarray) -> float | None:
        if len(set(labels[labels != NOISE].tolist())) < 2:
            return None
        values = silhouette_values(space, labels, max_points=SILHOUETTE_SAMPLE, seed=seed)
        return float(np.nanmean(values)) if np.isfinite(values).any() else None

    ours = sums is not None and np.array_equal(sums.labels, before)
    edited = sums.edited(space, after) if ours else None
    if edited is not None:
        return EditPreview(sizes, sums.mean(), edited.mean())
    return EditPreview(sizes, mean(np.asarray(before)), mean(np.asarray(after)))


def selection_description(prepared: Prepared, users: Sequence[str]) -> SegmentDescription:
    """What a selection of users is about, against all other users: its size, share, distinctive
    keywords (c-TF-IDF, selection against the rest) and representative comments."""
    from segmentation.describe.segments import describe_segments

    chosen = set(map(str, users))
    if not chosen:
        raise ConfigError("select some users on the map first")
    inside = np.array([str(u) in chosen for u in prepared.profiles.user_ids], dtype=int)
    described = describe_segments(prepared.comments, prepared.profiles, inside, prepared.embeddings,
                                  terms=prepared.terms, item_labels=prepared.item_labels)
    return next(d for d in described if d.id == 1)


def edited_result(prepared: Prepared, result: SegmentResult, labels: np.ndarray) -> SegmentResult:
    """``result`` with new labels: segments described again, quality and silhouettes recomputed."""
    from segmentation.cluster.membership import membership_columns
    from segmentation.cluster.metrics import quality, silhouette_values
    from segmentation.describe.segments import describe_segments

    labels = np.asarray(labels, dtype=int)
    config = result.config
    space = prepared.space(*config.space)
    silhouette = silhouette_values(space, labels, max_points=SILHOUETTE_SAMPLE, seed=config.seed)
    mean = float(np.nanmean(silhouette)) if np.isfinite(silhouette).any() else None
    segments = describe_segments(prepared.comments, prepared.profiles, labels, prepared.embeddings,
                                 terms=prepared.terms, item_labels=prepared.item_labels)
    names = {s.id: s.name for s in segments}
    assignments = result.assignments.copy()
    assignments["segment"] = labels
    assignments["segment_name"] = [names[label] for label in labels]
    for column, values in membership_columns(space, labels).items():  # against the edited segments
        assignments[column] = values
    metrics = quality(space, labels, seed=config.seed, silhouette=mean)
    # Stability (and the share of users a resample moves) says how reproducible the algorithm's clustering is;
    # hand edits are not resampled, so the run's figures stay (with a note), and only segments the edits left
    # as they were keep theirs.
    for key in ("stability", "moved_share"):
        if key in result.metrics:
            metrics[key] = result.metrics[key]
    untouched = {s: v for s, v in result.segment_stability.items()
                 if np.array_equal(labels == s, np.asarray(result.labels) == s)}
    notes = [*result.notes, "Segments edited by hand: stability is the clustering's before the edits"]
    return replace(result, labels=labels, assignments=assignments, segments=segments, metrics=metrics,
                   silhouette=silhouette, tree=None, notes=notes, segment_stability=untouched)


def ago(created_at: str, now: datetime | None = None) -> str:
    """How long ago an edit was made, in words ("just now", "2 minutes ago", "3 hours ago", "5 days ago")."""
    try:
        then = datetime.fromisoformat(created_at)
    except ValueError:
        return "at an unknown time"
    if then.tzinfo is None:  # the log writes UTC; a time without a zone is read as UTC too
        then = then.replace(tzinfo=timezone.utc)
    seconds = ((now or datetime.now(timezone.utc)) - then).total_seconds()
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count > 1 else ''} ago"
    return "just now"


def summary(edit: Edit, names: Mapping[int, str] | None = None, session: str | None = None,
            now: datetime | None = None) -> str:
    """The edit, when it was made and, when ``session`` is given and another one made it, that it was
    another session: "Coffee fans merged into Runners, made 2 minutes ago in another session"."""
    where = " in another session" if session is not None and edit.session not in (None, session) else ""
    return f"{edit.describe(names)}, made {ago(edit.created_at, now)}{where}"


class EditLog:
    """The edits of every run, in order, in the workspace's SQLite file.

    Parameters
    ----------
    path : str or Path, optional
        The database file; defaults to the workspace's ``workspace.sqlite``.

    Notes
    -----
    Rows are never deleted: undo marks an edit ``undone``, a new edit after undos marks them ``dropped``.
    Every change is one ``BEGIN IMMEDIATE`` transaction, so two sessions editing one run queue, and a new
    split's segment id is chosen with every earlier edit in view.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else workspace_dir() / WORKSPACE_FILE
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._write() as connection:
            connection.execute(_SCHEMA)
            present = {row[1] for row in connection.execute("PRAGMA table_info(segment_edits)")}
            for column, declaration in _ADDED_COLUMNS.items():
                if column not in present:
                    connection.execute(f"ALTER TABLE segment_edits ADD COLUMN {column} {declaration}")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30, isolation_level=None)) as connection, \
                transaction(connection):
            yield connection

    def add(self, run_key: str, edit: Edit, *, labels: np.ndarray | None = None,
            session: str | None = None) -> Edit:
        """Save an edit as the run's last; edits undone before it can no longer be redone.

        Parameters
        ----------
        run_key : str
        edit : Edit
        labels : ndarray, optional
            The run's labels as the user saw them (edits applied). A split's new segment takes one past
            the largest id among them and among every edit the run ever had, so no id is reused; required
            for a split.
        session : str, optional
            Who made the edit, so that another session's undo can say it was not theirs.

        Returns
        -------
        Edit
            The edit as saved (with its ``id``, ``segment`` and time).
        """
        if edit.kind == "split" and labels is None:
            raise ValueError("a split needs the run's labels to choose a segment id no one used")
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self._write() as connection:
            if edit.kind == "split":
                used = [int(np.max(labels)) if len(labels) else NOISE]
                used += [i for e in self._rows(connection, run_key) for i in (e.segment, e.kept, e.absorbed)
                         if i is not None]
                edit = replace(edit, segment=max(used) + 1)
            connection.execute("UPDATE segment_edits SET state = ? WHERE run_key = ? AND state = ?",
                               (DROPPED, run_key, UNDONE))
            cursor = connection.execute(
                "INSERT INTO segment_edits (run_key, kind, payload, created_at, state, session) VALUES (?,?,?,?,?,?)",
                (run_key, edit.kind, edit.payload(), now, ACTIVE, session))
        return replace(edit, id=cursor.lastrowid, created_at=now, state=ACTIVE, session=session)

    def edits(self, run_key: str) -> list[Edit]:
        """The run's active edits, oldest first: what its edited labels apply."""
        return [e for e in self.history(run_key) if e.state == ACTIVE]

    def history(self, run_key: str) -> list[Edit]:
        """Every edit the run ever had, undone and dropped ones included, oldest first."""
        with closing(sqlite3.connect(self.path, timeout=30)) as connection:
            return self._rows(connection, run_key)

    @staticmethod
    def _rows(connection: sqlite3.Connection, run_key: str) -> list[Edit]:
        rows = connection.execute("SELECT id, kind, payload, created_at, state, session FROM segment_edits "
                                  "WHERE run_key = ? ORDER BY id", (run_key,)).fetchall()
        out = []
        for row_id, kind, payload, created_at, state, session in rows:
            data = json.loads(payload)
            common = {"created_at": created_at, "id": row_id, "state": state, "session": session}
            if kind == "split":
                centre = data.get("centre")
                out.append(Edit("split", users=tuple(data["users"]), segment=data.get("segment"),
                                centre=None if centre is None else tuple(centre), far=data.get("far"), **common))
            else:
                out.append(Edit("merge", kept=int(data["kept"]), absorbed=int(data["absorbed"]), **common))
        return out

    def next_undo(self, run_key: str) -> Edit | None:
        """The edit an undo would take back now (the last active one), or None."""
        active = self.edits(run_key)
        return active[-1] if active else None

    def next_redo(self, run_key: str) -> Edit | None:
        """The edit a redo would bring back now (the earliest undone one), or None."""
        return next((e for e in self.history(run_key) if e.state == UNDONE), None)

    def undo(self, run_key: str, edit_id: int, names: Mapping[int, str] | None = None,
             session: str | None = None) -> Edit:
        """Take back the run's last edit, which must be ``edit_id`` (the one the user saw); it can be redone.

        Raises
        ------
        ConfigError
            When the last edit is another one (another session edited since, or undid it already): nothing
            is changed, and the message names the edit that is last now (``names`` and ``session`` word it).
        """
        return self._flip(run_key, edit_id, ACTIVE, UNDONE, names, session)

    def redo(self, run_key: str, edit_id: int, names: Mapping[int, str] | None = None,
             session: str | None = None) -> Edit:
        """Bring back the earliest undone edit, which must be ``edit_id`` (the one the user saw).

        Raises
        ------
        ConfigError
            When that is another edit now, or nothing can be redone (a new edit dropped it).
        """
        return self._flip(run_key, edit_id, UNDONE, ACTIVE, names, session)

    def _flip(self, run_key: str, edit_id: int, old: str, new: str, names: Mapping[int, str] | None,
              session: str | None) -> Edit:
        verb = "undo" if new == UNDONE else "redo"
        with self._write() as connection:
            candidates = [e for e in self._rows(connection, run_key) if e.state == old]
            target = (candidates[-1] if new == UNDONE else candidates[0]) if candidates else None
            if target is None or target.id != edit_id:
                now = (f"the edit to {verb} is now: {summary(target, names, session)}" if target is not None
                       else f"there is no edit to {verb} now")
                raise ConfigError(f"nothing was changed: the run was edited since this page was drawn, and {now}; "
                                  f"look at the history and {verb} again if you mean it")
            connection.execute("UPDATE segment_edits SET state = ? WHERE id = ?", (new, edit_id))
        return replace(target, state=new)


def carry_edits(log: EditLog, from_key: str, to_key: str, old: tuple[Sequence[str], np.ndarray],
                new: tuple[Sequence[str], np.ndarray], *, vectors: np.ndarray | None = None,
                names: Mapping[int, str] | None = None) -> list[str]:
    """Re-apply a run's active edits to a recomputed run of the same data, by user, and say what did not apply.

    A split moves the same users (those still in the data); a merge joins the new segments that share most
    users (Jaccard) with the two old ones at that point of the history. The old run keeps every edit.

    Parameters
    ----------
    log : EditLog
    from_key, to_key : str
        The saved run and its recomputation (which must have no edits of its own yet).
    old, new : (user ids, labels)
        The two runs' own labels, without edits.
    vectors : ndarray of shape (n_new_users, d), optional
        The recomputed run's profiles (rows as ``new``'s users), for the centres of split segments.
    names : mapping of int to str, optional
        The old run's segment names, for the notes.

    Returns
    -------
    list of str
        One line per edit that could not apply, or applied only in part (empty when all applied).
    """
    from segmentation.runs.matching import match_segments

    edits = log.edits(from_key)
    if not edits:
        return []
    if log.history(to_key):
        return [f"Run {to_key} has edits of its own: the {len(edits)} edits of run {from_key} were not applied "
                "to it again (they are kept on that run)."]
    old_users, old_state = list(map(str, old[0])), np.asarray(old[1], dtype=int)
    new_users, new_state = list(map(str, new[0])), np.asarray(new[1], dtype=int)
    present = set(new_users)
    notes = []
    for edit in edits:
        moved: Edit | None = None
        try:
            if edit.kind == "split":
                there = [u for u in edit.users if u in present]
                if not there:
                    raise ConfigError(f"none of its {len(edit.users):,} users are in the data now")
                moved = split_edit(new_users, there, vectors)
                if len(there) < len(edit.users):
                    notes.append(f"Edit “{edit.describe(names)}” applied to the {len(there):,} of its users "
                                 f"still in the data ({len(edit.users) - len(there):,} are gone).")
            else:
                matches = match_segments(dict(zip(old_users, old_state.tolist(), strict=True)),
                                         dict(zip(new_users, new_state.tolist(), strict=True)))
                pairs = {m.old_id: m.new_id for m in matches}
                if edit.kept not in pairs or edit.absorbed not in pairs:
                    raise ConfigError("a segment it joins matches no segment of the recomputed run")
                moved = merge_edit(new_state, pairs[edit.kept], pairs[edit.absorbed])
        except ConfigError as error:
            notes.append(f"Edit “{edit.describe(names)}” could not be applied to the recomputed run ({error}); "
                         f"it is kept on run {from_key}.")
        old_state = apply_edits(old_state, old_users, [edit])
        if moved is not None:
            saved = log.add(to_key, moved, labels=new_state, session=edit.session)
            new_state = apply_edits(new_state, new_users, [saved])
    return notes


def edits_key(edits: Sequence[Edit]) -> str:
    """A short content key of a list of edits (for caches)."""
    import hashlib

    return hashlib.sha256("\n".join(f"{e.id}:{e.kind}:{e.payload()}" for e in edits).encode()).hexdigest()[:16]
