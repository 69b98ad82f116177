"""Open a run folder written by the Ray engine as the :class:`SegmentResult` the app's pages read.

The folder holds every user's assignment but coordinates only for the map sample; sizes and shares come
from the full counts in ``segments.json``. Reading needs pyarrow, not Ray.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from segmentation.describe import SegmentDescription
from segmentation.errors import DataError
from segmentation.pipeline import SegmentConfig, SegmentResult

ASSIGNMENT_COLUMNS = ("user_id", "segment", "segment_name", "confidence", "n_comments", "x", "y")


@dataclass(frozen=True)
class RunFolder:
    """A Ray run as the app shows it.

    Attributes
    ----------
    path : Path
    digest : str
        sha256 of ``run.json`` and ``segments.json``: the run's identity for saved names.
    result : SegmentResult
        Every user's assignment; ``x``/``y`` are NaN outside the map sample; no silhouette per user.
    n_comments, n_fit_users, n_mapped_users : int
        Full comment count, users the segmentation was fitted on, users on the map.
    """

    path: Path
    digest: str
    result: SegmentResult
    n_comments: int
    n_fit_users: int
    n_mapped_users: int

    @property
    def n_users(self) -> int:
        return len(self.result.user_ids)

    @property
    def mapped(self) -> pd.DataFrame:
        """The assignments of the users on the map."""
        frame = self.result.assignments
        return frame[frame["x"].notna()].reset_index(drop=True)


def open_run_folder(path: str | Path) -> RunFolder:
    """Read ``assignments/``, ``segments.json`` and ``run.json`` of a Ray run folder.

    Raises
    ------
    DataError
        The folder is missing, is not a Ray run folder, or one of its files is damaged.
    """
    folder = Path(str(path).strip()).expanduser()
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder; give the --out folder of a Ray run")
    wanted = [folder / "run.json", folder / "segments.json", folder / "assignments"]
    missing = [p.name for p in wanted if not p.exists()]
    if missing:
        raise DataError(
            f"{folder} is not a run folder of the Ray engine (missing {', '.join(missing)}); "
            "open the --out folder of `python -m segmentation segment --engine ray`"
        )
    try:
        run_bytes = wanted[0].read_bytes()
        segments_bytes = wanted[1].read_bytes()
        record = json.loads(run_bytes)
        segments = [SegmentDescription(**s) for s in json.loads(segments_bytes)]
        assignments = pd.read_parquet(wanted[2])
    except (OSError, ValueError, TypeError) as exc:
        raise DataError(f"{folder} holds a damaged run ({type(exc).__name__}: {exc})") from None
    absent = [c for c in ASSIGNMENT_COLUMNS if c not in assignments.columns]
    if absent:
        raise DataError(f"{folder}/assignments lacks the columns {', '.join(absent)}")
    assignments["segment"] = assignments["segment"].astype(np.int64)
    assignments = assignments[list(ASSIGNMENT_COLUMNS)].sort_values("user_id").reset_index(drop=True)
    data = dict(record["config"])
    data["attributes"] = tuple(data.get("attributes") or ())
    sweep = record.get("k_sweep")
    result = SegmentResult(
        config=SegmentConfig(**data),
        user_ids=assignments["user_id"].to_numpy(dtype=object),
        labels=assignments["segment"].to_numpy(),
        assignments=assignments,
        segments=segments,
        metrics=record.get("metrics", {}),
        timings=record.get("timings", {}),
        versions=record.get("versions", {}),
        notes=record.get("notes", []),
        silhouette=np.full(len(assignments), np.nan),
        sweep=None if sweep is None else pd.DataFrame(sweep),
    )
    return RunFolder(
        path=folder,
        digest=hashlib.sha256(run_bytes + b"\0" + segments_bytes).hexdigest(),
        result=result,
        n_comments=int(record.get("n_comments", 0)),
        n_fit_users=int(record.get("n_fit_users", 0)),
        n_mapped_users=int(assignments["x"].notna().sum()),
    )
