"""Well-formed run records to start fuzzing from: a Ray run folder and a workspace with one saved run.

Shared by the harnesses (which damage them) and the test (which seeds the corpus from them). Both are
written from the formats' writers' own layout: ``segmentation/scale/engine.py`` for the folder
(``run.json``, ``segments.json``, ``assignments/segment=N/*.parquet``), ``Workspace.save_run`` for the
workspace (a ``runs`` row with its config, record and assignments blob, and ``runs/<key>.npz`` and
``runs/<key>.parquet`` beside the SQLite file).
"""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd

from segmentation.pipeline.config import PIPELINE_VERSION, SegmentConfig
from segmentation.runs.records import run_key
from segmentation.runs.workspace import Workspace

# Separates the files of a run folder inside one fuzz input; long and odd enough never to occur in them.
SEPARATOR = b"\x00\xff--next file of the run folder--\xff\x00"
FOLDER_FILES = (
    "run.json",
    "segments.json",
    "assignments/segment=0/part-0.parquet",
    "assignments/segment=1/part-0.parquet",
)
# The workspace fields an input can replace, chosen by its first byte (the rest replaces the field).
WORKSPACE_FIELDS = ("config", "assignments", "record", "pipeline_version", "arrays", "table")
FINGERPRINT = "f" * 64

_USERS = [f"u{i}" for i in range(6)]
_SEGMENTS = [0, 0, 0, 1, 1, 1]


def _config() -> dict:
    return SegmentConfig(encoder="tfidf", algorithm="kmeans", k=2, seed=0).to_dict()


def _table() -> pd.DataFrame:
    """The assignments table in the engines' schema (``open_run_folder``'s ``ASSIGNMENT_COLUMNS``)."""
    return pd.DataFrame(
        {
            "user_id": _USERS,
            "segment": _SEGMENTS,
            "segment_name": ["Coffee fans"] * 3 + ["Headphone buyers"] * 3,
            "confidence": [0.9, 0.8, 0.7, 0.95, 0.6, 0.5],
            "n_comments": [2, 1, 3, 1, 1, 4],
            "x": [0.1, 0.2, np.nan, 1.0, 1.1, np.nan],  # NaN: not in the map sample
            "y": [0.3, 0.1, np.nan, 0.9, 1.2, np.nan],
        }
    )


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False, engine="pyarrow")
    return buffer.getvalue()


def run_folder_files(*, with_sweep: bool = True, with_items: bool = False) -> dict[str, bytes]:
    """The files of a small, valid Ray run folder, by path relative to the folder."""
    record = {
        "engine": "ray",
        "config": _config(),
        "metrics": {"silhouette": 0.41, "n_segments": 2},
        "timings": {"encode": 1.5, "total": 2.0},
        "versions": {"segmentation": "0"},
        "notes": ["the map shows a uniform sample of 4 of 6 users"],
        "n_users": 6,
        "n_comments": 12,
        "n_fit_users": 6,
        "n_mapped_users": 4,
        "k_sweep": [{"k": 2, "silhouette": 0.41}, {"k": 3, "silhouette": 0.2}] if with_sweep else None,
    }
    segments = [
        {"id": 0, "name": "Coffee fans", "size": 3, "share": 0.5, "keywords": ["coffee", "espresso"],
         "representative_comments": ["great espresso"]},
        {"id": 1, "name": "Headphone buyers", "size": 3, "share": 0.5, "keywords": ["bass"],
         "representative_comments": ["deep bass, comfy"]},
    ]
    if with_items:
        for segment in segments:
            segment.update(top_items=["Grinder"], top_item_ids=["i1"], mean_rating=4.5)
    table = _table()
    files = {
        "run.json": json.dumps(record, indent=2).encode("utf-8"),
        "segments.json": json.dumps(segments, ensure_ascii=False, indent=2).encode("utf-8"),
    }
    for segment in (0, 1):
        part = table[table["segment"] == segment].drop(columns="segment")  # the partition folder holds it
        files[f"assignments/segment={segment}/part-0.parquet"] = _parquet(part)
    return files


def join_folder(files: dict[str, bytes]) -> bytes:
    """One fuzz input from a run folder's files (``split_folder`` reads it back)."""
    return SEPARATOR.join(files.get(name, b"") for name in FOLDER_FILES)


def split_folder(data: bytes) -> dict[str, bytes]:
    """The files one fuzz input stands for; a missing part is a missing file, an extra part is ignored."""
    return dict(zip(FOLDER_FILES, data.split(SEPARATOR), strict=False))


def write_folder(folder: Path, files: dict[str, bytes]) -> None:
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def saved_workspace(path: Path) -> tuple[Workspace, str]:
    """A workspace at ``path`` holding one run saved the way the app saves it, with a name; its key."""
    workspace = Workspace(path)
    config = _config()
    key = run_key(FINGERPRINT, config)
    arrays = {
        "segment_ids": np.array([0, 1]),
        "centres": np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=np.float32),
        "far": np.array([0.8, 0.9], dtype=np.float32),
    }
    workspace.save_run(
        key,
        FINGERPRINT,
        config,
        dict(zip(_USERS, _SEGMENTS, strict=True)),
        pipeline_version=PIPELINE_VERSION,
        record={"metrics": {"silhouette": 0.41}, "timings": {"total": 2.0}, "notes": [], "n_users": 6},
        table=_table(),
        arrays=arrays,
    )
    workspace.save_name(key, 0, "Coffee fans")
    return workspace, key


def _field_file(workspace: Workspace, key: str, field: str) -> Path:
    return workspace.runs_folder / f"{key}{'.npz' if field == 'arrays' else '.parquet'}"


def read_field(workspace: Workspace, key: str, field: str) -> bytes:
    """The stored bytes of one of a saved run's ``WORKSPACE_FIELDS``."""
    if field in ("arrays", "table"):
        return _field_file(workspace, key, field).read_bytes()
    with sqlite3.connect(workspace.path) as connection:
        (value,) = connection.execute(f"SELECT {field} FROM runs WHERE run_key = ?", (key,)).fetchone()
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


def write_field(workspace: Workspace, key: str, field: str, content: bytes) -> None:
    """Replace one field of a saved run by ``content``, as a hand edit or a damaged disk would.

    A column gets text where the bytes are UTF-8 (a hand edit), a blob otherwise (SQLite keeps either in
    any column); a file gets the bytes.
    """
    if field in ("arrays", "table"):
        _field_file(workspace, key, field).write_bytes(content)
        return
    try:
        value: str | bytes = content.decode("utf-8") if field != "assignments" else content
    except UnicodeDecodeError:
        value = content
    connection = sqlite3.connect(workspace.path, isolation_level=None)
    try:
        connection.execute("PRAGMA synchronous=OFF")  # thousands of edits a run; durability is not tested here
        connection.execute(f"UPDATE runs SET {field} = ? WHERE run_key = ?", (value, key))
    finally:
        connection.close()
