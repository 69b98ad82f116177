"""A run's coarse layer in the workspace: the tree (each segment's parent) and the names of the broad groups.

The fine layer's names are the run's own segment names (:meth:`Workspace.save_name`). The coarse layer's are kept
apart, by run and broad-group id, in the same SQLite file and under the same rules (one write transaction per
call, a cleaned one-line name); a broad group's name may not repeat a name of the fine layer, so that a name on a
card or in an export says which layer it is. Saving another tree for a run moves each broad group's name to the
new group that shares most of its users, and a tree saved for a new run takes the names of the latest named
tree of the same data the same way (as fine names carry over, :mod:`segmentation.runs.matching`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from segmentation.cluster.hierarchy import Hierarchy, build_hierarchy
from segmentation.core.constraints import Interval, Text, validate
from segmentation.core.errors import ConfigError
from segmentation.core.labels import NOISE
from segmentation.describe.layers import describe_coarse
from segmentation.describe.segments import SegmentDescription, describe_segments
from segmentation.pipeline.config import SegmentConfig
from segmentation.pipeline.segment import Prepared, prepare
from segmentation.runs.matching import match_segments
from segmentation.runs.records import SegmentName, _clean_name, _unpack
from segmentation.runs.workspace import Workspace, _now

_SCHEMA = """
CREATE TABLE IF NOT EXISTS hierarchies (
    run_key   TEXT PRIMARY KEY REFERENCES runs (run_key) ON DELETE CASCADE,
    tree      TEXT NOT NULL,
    saved_at  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS coarse_names (
    run_key     TEXT NOT NULL REFERENCES runs (run_key) ON DELETE CASCADE,
    segment_id  INTEGER NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    source      TEXT NOT NULL CHECK (source IN ('user', 'carried', 'llm')),
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (run_key, segment_id)
);
"""
# Least share of users (Jaccard) a new broad group must share with a named one to take its name.
CARRY_THRESHOLD = 0.5


class Layers:
    """The hierarchies and broad-group names kept in a :class:`~segmentation.runs.workspace.Workspace`.

    Parameters
    ----------
    workspace : Workspace, optional
        Defaults to the workspace of ``workspace_dir()``.
    """

    def __init__(self, workspace: Workspace | None = None) -> None:
        self.workspace = workspace if workspace is not None else Workspace()
        with self.workspace._write() as connection:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    connection.execute(statement)

    def save_tree(self, run_key: str, tree: Mapping) -> list[str]:
        """Keep ``tree`` (:meth:`Hierarchy.to_dict`) as the run's hierarchy, replacing any earlier one.

        Names of the earlier tree's broad groups move to the new groups sharing most of their users; without an
        earlier tree, the latest named tree of the same data gives its names.

        Returns
        -------
        list of str
            Plain sentences saying which names were carried and which were dropped.
        """
        validate("run_key", run_key, [Text()])
        parent = _parents(tree)
        with self.workspace._write() as connection:
            row = connection.execute("SELECT fingerprint, assignments FROM runs WHERE run_key = ?",
                                     (run_key,)).fetchone()
            if row is None:
                raise ConfigError(f"Run {run_key!r} was never saved; run the segmentation before building layers.")
            fingerprint, users = row[0], _unpack(row[1], run_key)
            earlier = connection.execute("SELECT tree FROM hierarchies WHERE run_key = ?", (run_key,)).fetchone()
            source_key, old_users, old_parent = run_key, users, None
            if earlier is not None:
                old_parent = _parents(json.loads(earlier[0]))
            else:
                other = connection.execute(
                    "SELECT h.run_key, h.tree, r.assignments FROM hierarchies h JOIN runs r USING (run_key)"
                    " WHERE r.fingerprint = ? AND h.run_key != ?"
                    " AND EXISTS (SELECT 1 FROM coarse_names n WHERE n.run_key = h.run_key)"
                    " ORDER BY r.seq DESC LIMIT 1",
                    (fingerprint, run_key),
                ).fetchone()
                if other is not None:
                    source_key, old_parent = other[0], _parents(json.loads(other[1]))
                    old_users = _unpack(other[2], other[0])
            old_names = {row[0]: SegmentName(*row[1:]) for row in connection.execute(
                "SELECT segment_id, name, description, source, updated_at FROM coarse_names WHERE run_key = ?",
                (source_key,))}
            connection.execute(
                "INSERT INTO hierarchies (run_key, tree, saved_at) VALUES (?, ?, ?) ON CONFLICT (run_key)"
                " DO UPDATE SET tree = excluded.tree, saved_at = excluded.saved_at",
                (run_key, json.dumps(dict(tree), sort_keys=True), _now()),
            )
            connection.execute("DELETE FROM coarse_names WHERE run_key = ?", (run_key,))
            if old_parent is None or not old_names:
                return []
            matches = match_segments(_through(old_users, old_parent), _through(users, parent), CARRY_THRESHOLD)
            carried = {m.old_id: m.new_id for m in matches if m.old_id in old_names}
            for old_id, new_id in carried.items():
                old = old_names[old_id]
                connection.execute(
                    "INSERT INTO coarse_names (run_key, segment_id, name, description, source, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (run_key, new_id, old.name, old.description, "carried" if source_key != run_key else old.source,
                     _now()),
                )
        notes = [f"{len(carried)} broad-group name{'s' if len(carried) != 1 else ''} carried over"] if carried else []
        dropped = sorted(set(old_names) - set(carried))
        if dropped:
            notes.append(f"{len(dropped)} named broad group{'s' if len(dropped) != 1 else ''} match no group now; "
                         "their names were not carried")
        return notes

    def tree(self, run_key: str) -> dict | None:
        """The run's saved hierarchy (:meth:`Hierarchy.to_dict`, ``parent`` keyed by int), or None."""
        with self.workspace._read() as connection:
            row = connection.execute("SELECT tree FROM hierarchies WHERE run_key = ?", (run_key,)).fetchone()
        if row is None:
            return None
        tree = json.loads(row[0])
        return {**tree, "parent": _parents(tree)}

    def names(self, run_key: str) -> dict[int, SegmentName]:
        """The saved names of the run's broad groups, by id."""
        with self.workspace._read() as connection:
            rows = connection.execute(
                "SELECT segment_id, name, description, source, updated_at FROM coarse_names WHERE run_key = ?"
                " ORDER BY segment_id", (run_key,)).fetchall()
        return {row[0]: SegmentName(*row[1:]) for row in rows}

    def save_name(self, run_key: str, segment_id: int, name: str, description: str = "", source: str = "user",
                  *, taken: Iterable[str] = ()) -> None:
        """Name a broad group of the run's saved hierarchy.

        Parameters
        ----------
        run_key, segment_id, name, description, source
            As :meth:`Workspace.save_name`.
        taken : iterable of str
            The names the fine layer shows (saved or suggested): a broad group may not take one of them.

        Raises
        ------
        ConfigError
            As :meth:`Workspace.save_name`; when the run has no hierarchy or no such broad group; when the name
            is one of ``taken`` (any case).
        """
        validate("run_key", run_key, [Text()])
        segment_id = validate("segment_id", segment_id, [Interval(int, 0, None)])
        name, description = _clean_name(name, description, source)
        if name.casefold() in {str(other).strip().casefold() for other in taken}:
            raise ConfigError(f"“{name}” already names a segment of the fine layer; give the broad group a name of "
                              "its own, so that each name says which layer it is.")
        with self.workspace._write() as connection:
            row = connection.execute("SELECT tree FROM hierarchies WHERE run_key = ?", (run_key,)).fetchone()
            if row is None:
                raise ConfigError(f"Run {run_key!r} has no coarse layer yet; build it before naming its groups.")
            if segment_id not in set(_parents(json.loads(row[0])).values()):
                raise ConfigError(f"Run {run_key!r} has no broad group {segment_id}.")
            connection.execute(
                "INSERT INTO coarse_names (run_key, segment_id, name, description, source, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (run_key, segment_id) DO UPDATE SET name = excluded.name,"
                " description = excluded.description, source = excluded.source, updated_at = excluded.updated_at",
                (run_key, segment_id, name, description, source, _now()),
            )


@dataclass
class BuiltLayers:
    """A coarse layer built over a saved run, in the order of the prepared users (``prepared.profiles.user_ids``).

    Attributes
    ----------
    prepared : Prepared
        The run's data and profiles.
    hierarchy : Hierarchy
        The two layers and the tree, users in the prepared order.
    coarse : list of SegmentDescription
        The broad groups described (suggested names apart from the fine layer's).
    notes : list of str
        What was carried over or left out, in plain sentences.
    """

    prepared: Prepared
    hierarchy: Hierarchy
    coarse: list[SegmentDescription]
    notes: list[str] = field(default_factory=list)

    def fine_segments(self) -> list[SegmentDescription]:
        """The run's segments described as the run describes them (for an export that adds their parent)."""
        prepared = self.prepared
        return describe_segments(prepared.comments, prepared.profiles, self.hierarchy.fine_labels,
                                 prepared.embeddings, terms=prepared.terms, item_labels=prepared.item_labels)


def build_layers(
    prepared: Prepared,
    run_key: str,
    user_ids: np.ndarray,
    labels: np.ndarray,
    coarse_k: int | str = "auto",
    *,
    fine_names: Iterable[str] = (),
    layers: Layers | None = None,
) -> BuiltLayers:
    """Build the coarse layer over a saved run's segments, keep its tree in the workspace and describe it.

    Parameters
    ----------
    prepared : Prepared
        The run's prepared data (its encoder and profile settings; a map is not needed).
    run_key : str
        The saved run.
    user_ids, labels : ndarray of shape (n_users,)
        The run's users and their segments as shown (hand edits applied), in any order.
    coarse_k : int or "auto"
        As :func:`~segmentation.cluster.hierarchy.build_hierarchy`.
    fine_names : iterable of str
        The names the fine layer shows; no suggested broad-group name repeats one.
    layers : Layers, optional
        Where the tree is kept; the default workspace's when None.

    Raises
    ------
    ConfigError
        When the users are not the run's, or as :func:`~segmentation.cluster.hierarchy.check_coarse_k`.
    """
    layers = layers if layers is not None else Layers()
    order = prepared.profiles.user_ids
    by_user = dict(zip(np.asarray(user_ids).astype(str), np.asarray(labels, dtype=np.int64), strict=True))
    if set(by_user) != set(np.asarray(order).astype(str)):
        raise ConfigError(f"the users of run {run_key} are not the users of these comments; run it again")
    aligned = np.array([by_user[str(user)] for user in order], dtype=np.int64)
    config = prepared.config
    method, dims = config.space
    hierarchy = build_hierarchy(prepared.space(method, dims), aligned, coarse_k, settings=config.to_dict(),
                                runs=prepared.runs(method, dims))
    notes = layers.save_tree(run_key, hierarchy.to_dict())
    coarse = describe_coarse(prepared.comments, prepared.profiles, hierarchy.coarse_labels, prepared.embeddings,
                             fine_names=fine_names, terms=prepared.terms, item_labels=prepared.item_labels)
    return BuiltLayers(prepared, hierarchy, coarse, notes)


def prepare_saved(comments, config: Mapping) -> Prepared:
    """The prepared data of a saved run of ``comments`` (its ``config``), without a map: what a layer needs."""
    run_config = SegmentConfig.from_dict(dict(config))
    return prepare(comments, run_config, with_map=False)


def _parents(tree: Mapping) -> dict[int, int]:
    """The tree's ``parent`` with int keys and values (JSON keeps keys as text)."""
    try:
        return {int(fine): int(coarse) for fine, coarse in dict(tree["parent"]).items()}
    except (KeyError, TypeError, ValueError):
        raise ConfigError("a saved hierarchy lacks its parent per segment; build it again") from None


def _through(users: Mapping[str, int], parent: Mapping[int, int]) -> dict[str, int]:
    """Each user's broad group: their segment's parent (noise, and a segment outside the tree, stay noise)."""
    return {user: parent.get(int(segment), NOISE) for user, segment in users.items()}


__all__ = ["CARRY_THRESHOLD", "BuiltLayers", "Layers", "build_layers", "prepare_saved"]
