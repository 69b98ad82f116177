"""What the Segments page, the command line and the downloads show of a run's two layers: the labels of the layer
chosen, the users coloured by it, the tree as a table, and the layers as JSON."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from segmentation.cluster.hierarchy import Hierarchy
from segmentation.cluster.membership import MEMBERSHIP_COLUMNS
from segmentation.core.labels import NOISE
from segmentation.describe.segments import SegmentDescription
from segmentation.present.views import segment_labels

COARSE, FINE = "coarse", "fine"
LAYERS = {COARSE: "Broad groups", FINE: "Segments"}
"""The two layers as the page names them (one name per layer everywhere: ``coarse`` and ``fine``)."""


def named(segments: Sequence[SegmentDescription], saved: Mapping[int, object]) -> dict[int, str]:
    """A unique display label per segment of one layer: its saved name where it has one, else the suggested one."""
    return segment_labels([replace(s, name=getattr(saved.get(s.id), "name", None) or s.name) for s in segments])


def layer_assignments(assignments: pd.DataFrame, coarse: np.ndarray) -> pd.DataFrame:
    """The run's assignments with each user's broad group in place of their segment (for the map's colours).

    ``coarse`` is aligned with ``assignments`` (one broad group per row). The soft-membership columns are left out:
    they say how near a user is to another *segment*, which may be in the same broad group.
    """
    out = assignments.drop(columns=[c for c in MEMBERSHIP_COLUMNS if c in assignments.columns])
    out["segment"] = np.asarray(coarse, dtype=np.int64)
    return out


def tree_table(parent: Mapping[int, int], fine_labels: np.ndarray, fine: Mapping[int, str],
               coarse: Mapping[int, str]) -> pd.DataFrame:
    """One row per segment: its broad group, its name and its users; broad groups largest first.

    ``parent`` is the saved tree (``Hierarchy.parent``) and ``fine_labels`` each user's segment.
    """
    sizes = pd.Series(np.asarray(fine_labels)).value_counts()
    coarse_sizes = pd.Series({group: sum(int(sizes.get(s, 0)) for s, p in parent.items() if p == group)
                              for group in set(parent.values())})
    rows = [{"broad group": coarse[group], "segment": fine[segment], "users": int(sizes.get(segment, 0)),
             "_order": (-int(coarse_sizes[group]), group, -int(sizes.get(segment, 0)))}
            for segment, group in parent.items()]
    table = pd.DataFrame(rows, columns=["broad group", "segment", "users", "_order"])
    return table.sort_values("_order", kind="stable").drop(columns="_order").reset_index(drop=True)


def summary(tree: Mapping) -> str:
    """One sentence from a tree (``Hierarchy.to_dict``): how many broad groups over how many segments, and why that
    many where the number was chosen."""
    reason = f" ({tree['reason']})" if tree.get("reason") else ""
    return f"{tree['coarse_k']} broad groups over {len(tree['parent'])} segments{reason}."


def for_json(hierarchy: Hierarchy, coarse: Sequence[SegmentDescription], coarse_names: Mapping[int, object],
             fine_names: Mapping[int, str]) -> dict:
    """The two layers and the tree as the ``hierarchy`` command prints them."""
    return {
        "coarse_k": hierarchy.coarse_k,
        "reason": hierarchy.choice.reason if hierarchy.choice else "",
        "coarse": [
            {"id": s.id, "name": getattr(coarse_names.get(s.id), "name", None) or s.name, "suggested_name": s.name,
             "size": s.size, "share": round(s.share, 4), "keywords": s.keywords, "children": hierarchy.children(s.id)}
            for s in coarse if s.id != NOISE
        ],
        "segments": [{"id": segment, "name": fine_names.get(segment), "parent": parent}
                     for segment, parent in sorted(hierarchy.parent.items())],
    }


__all__ = ["COARSE", "FINE", "LAYERS", "for_json", "layer_assignments", "named", "summary", "tree_table"]
