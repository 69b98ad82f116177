"""Moving the library into rooms by stage changed no result: the command line at the commit before the move
and the one checked out now write the same assignments, segments and metrics, on the demo and on a real
labelled set (issue 19's check that the move was a move)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import SHARED_DATA

ROOT = Path(__file__).resolve().parents[1]
BEFORE = "9dc8c74"
"""main before the move (and before the hostile-input round that preceded it), read from git history."""
DEMO = ROOT / "segmentation" / "data" / "demo_reviews.csv"
FORUMS = SHARED_DATA / "se_closed_sites" / "comments.csv.gz"

pytestmark = pytest.mark.slow  # four CLI runs, each with its 2-d map (UMAP)


@pytest.fixture(scope="module")
def before(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project as it was at ``BEFORE``, unpacked from git (skips where the clone has no history)."""
    found = subprocess.run(["git", "-C", str(ROOT), "cat-file", "-e", f"{BEFORE}^{{commit}}"], capture_output=True)
    if found.returncode != 0:
        pytest.skip(f"commit {BEFORE} is not in this clone's history (a shallow clone?)")
    folder = tmp_path_factory.mktemp("before")
    archive = folder / "before.tar"
    subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", "-o", str(archive), BEFORE], check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(folder / "tree", filter="data")
    return folder / "tree"


def _segment(tree: Path, data: Path, out: Path, home: Path, *options: str) -> Path:
    env = {**os.environ, "PYTHONPATH": str(tree), "SEGMENT_STUDIO_HOME": str(home)}
    command = [sys.executable, "-m", "segmentation", "segment", str(data), "--out", str(out), "--encoder", "tfidf",
               "--seed", "0", *options]
    proc = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


@pytest.mark.parametrize(
    ("data", "options"),
    [
        pytest.param(FORUMS, ("--algorithm", "kmeans", "--k", "auto"), id="forum-sites-kmeans-auto"),
        pytest.param(DEMO, ("--algorithm", "agglomerative", "--k", "5"), id="demo-agglomerative-5"),
    ],
)
def test_the_cli_writes_what_it_wrote_before_the_move(before: Path, tmp_path: Path, data: Path, options):
    if not data.is_file():
        pytest.skip(f"{data} not found (the shared data folder is absent)")
    old = _segment(before, data, tmp_path / "old", tmp_path / "home-old", *options)
    new = _segment(ROOT, data, tmp_path / "new", tmp_path / "home-new", *options)

    pd.testing.assert_frame_equal(pd.read_csv(new / "assignments.csv"), pd.read_csv(old / "assignments.csv"))
    assert json.loads((new / "segments.json").read_text()) == json.loads((old / "segments.json").read_text())
    old_run, new_run = (json.loads((folder / "run.json").read_text()) for folder in (old, new))
    assert new_run["metrics"] == old_run["metrics"]
    assert new_run["config"] == old_run["config"]
    assert new_run["segment_stability"] == old_run["segment_stability"]
