"""Coverage-guided fuzzing of the workspace's run records with atheris (libFuzzer).

A real :class:`Workspace` holds one saved run (config, record, assignments blob, the ``.npz`` arrays and
the Parquet table beside it). Each input replaces one of those fields, picked by its first byte, with
the rest of its bytes, as a hand edit or a damaged disk would. The property: ``all_runs``, ``run``,
``assignments``, ``arrays`` and ``table`` each return what they document or raise
:class:`SegmentationError` with a one-line message, within libFuzzer's per-input time and memory
limits; anything else is a finding. The field is put back after each input.

    SEGMENT_STUDIO_HOME=$(mktemp -d) python tests/fuzz/fuzz_workspace.py CORPUS_DIR -max_total_time=20

Seeds: each field's own valid bytes behind its selector byte (``records.WORKSPACE_FIELDS``).
"""

from __future__ import annotations

from collections.abc import Callable

import atheris
import numpy as np
import pandas as pd
from common import check_one_line, fuzz

with atheris.instrument_imports(include=["segmentation"]):
    from records import WORKSPACE_FIELDS, read_field, saved_workspace, write_field

    from segmentation.core.errors import SegmentationError
    from segmentation.core.paths import workspace_dir
    from segmentation.runs.records import RunInfo

WORKSPACE, KEY = saved_workspace(workspace_dir() / "workspace.sqlite")
ORIGINAL = {field: read_field(WORKSPACE, KEY, field) for field in WORKSPACE_FIELDS}


def _runs(runs: object) -> None:
    if not isinstance(runs, list) or not all(isinstance(info, RunInfo) for info in runs):
        raise AssertionError(f"all_runs returned {runs!r:.200}")
    for info in runs:
        if not isinstance(info.config, dict) or not isinstance(info.record, dict):
            raise AssertionError(f"a listed run has config {info.config!r:.100} and record {info.record!r:.100}")


def _run(info: object) -> None:
    if info is not None:
        _runs([info])


def _assignments(assignments: object) -> None:
    if not isinstance(assignments, dict) or not all(
        isinstance(user, str) and isinstance(segment, int) for user, segment in assignments.items()
    ):
        raise AssertionError(f"assignments returned {assignments!r:.200}, not users to segment numbers")


def _arrays(arrays: object) -> None:
    if arrays is not None and not (
        isinstance(arrays, dict) and all(isinstance(value, np.ndarray) for value in arrays.values())
    ):
        raise AssertionError(f"arrays returned {arrays!r:.200}")


def _table(table: object) -> None:
    if table is not None and not isinstance(table, pd.DataFrame):
        raise AssertionError(f"table returned {type(table).__name__}")


READS: dict[str, tuple[Callable[[], object], Callable[[object], None]]] = {
    "all_runs": (WORKSPACE.all_runs, _runs),
    "run": (lambda: WORKSPACE.run(KEY), _run),
    "assignments": (lambda: WORKSPACE.assignments(KEY), _assignments),
    "arrays": (lambda: WORKSPACE.arrays(KEY), _arrays),
    "table": (lambda: WORKSPACE.table(KEY), _table),
}


def one_input(data: bytes) -> None:
    if not data:
        return
    field = WORKSPACE_FIELDS[data[0] % len(WORKSPACE_FIELDS)]
    write_field(WORKSPACE, KEY, field, data[1:])
    try:
        for name, (read, check) in READS.items():
            try:
                value = read()
            except SegmentationError as error:
                check_one_line(error, name)
                continue
            check(value)
    finally:
        write_field(WORKSPACE, KEY, field, ORIGINAL[field])


if __name__ == "__main__":
    fuzz(one_input)
