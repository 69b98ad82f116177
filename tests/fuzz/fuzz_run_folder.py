"""Coverage-guided fuzzing of ``open_run_folder`` with atheris (libFuzzer), over every file of a run folder.

The property: whatever bytes a Ray run folder's files hold, ``open_run_folder`` returns a
:class:`RunFolder` or raises :class:`SegmentationError` with a one-line message, within libFuzzer's
per-input time and memory limits. Anything else is a finding.

    SEGMENT_STUDIO_HOME=$(mktemp -d) python tests/fuzz/fuzz_run_folder.py CORPUS_DIR -max_total_time=20

One input is the folder's files (``run.json``, ``segments.json``, one Parquet part per segment folder)
joined by ``records.SEPARATOR``; seeds: the valid folders of ``records.run_folder_files``. The folder is
written inside the workspace folder, where a server may open run folders from.
"""

from __future__ import annotations

import shutil

import atheris
from common import check_one_line, fuzz

with atheris.instrument_imports(include=["segmentation"]):
    from records import split_folder, write_folder

    from segmentation.core.errors import SegmentationError
    from segmentation.core.paths import workspace_dir
    from segmentation.scale.run_folder import RunFolder, open_run_folder

FOLDER = workspace_dir() / "fuzzed-run"


def one_input(data: bytes) -> None:
    shutil.rmtree(FOLDER, ignore_errors=True)
    FOLDER.mkdir(parents=True)
    write_folder(FOLDER, split_folder(data))
    try:
        opened = open_run_folder(FOLDER)
    except SegmentationError as error:
        check_one_line(error, "open_run_folder")
        return
    if not isinstance(opened, RunFolder):
        raise AssertionError(f"open_run_folder returned {type(opened).__name__}")
    if len(opened.result.labels) != len(opened.result.user_ids):
        raise AssertionError("an opened run has a label count that differs from its user count")


if __name__ == "__main__":
    fuzz(one_input)
