"""Nothing saved is lost: a damaged workspace is explained and kept as a backup, and a run's three output
files are replaced together or not at all."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from fixtures import labelled_comments

from segmentation.core.errors import ConfigError, DamagedWorkspaceError
from segmentation.ingest.io import from_frame
from segmentation.pipeline.config import SegmentConfig
from segmentation.pipeline.segment import segment
from segmentation.runs.workspace import WORKSPACE_FILE, Workspace


def _saved_workspace(path: Path) -> Workspace:
    workspace = Workspace(path)
    workspace.save_run("run", "fp", {"k": 2}, {"a": 0, "b": 1})
    workspace.save_name("run", 0, "Coffee lovers")
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return workspace


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: b"garbage, not a database" * 300, id="garbage"),
        pytest.param(lambda data: data[:100] + b"\x00" * (len(data) - 100), id="header-kept-pages-zeroed"),
    ],
)
def test_a_damaged_workspace_is_explained_changed_by_nothing_and_restarted_with_a_backup(
    tmp_path: Path, damage
) -> None:
    path = tmp_path / WORKSPACE_FILE
    _saved_workspace(path)
    damaged = damage(path.read_bytes())
    path.write_bytes(damaged)

    with pytest.raises(DamagedWorkspaceError) as raised:
        Workspace(path).names("run")
    message = str(raised.value)
    assert str(path) in message and "is damaged" in message and "Start a fresh workspace" in message
    assert "\n" not in message and raised.value.path == path
    assert path.read_bytes() == damaged  # explaining changed nothing

    fresh, backup = Workspace.start_fresh(path)
    assert backup.read_bytes() == damaged  # everything that was in the file is still there
    assert fresh.names("run") == {} and fresh.run("run") is None
    fresh.save_run("run2", "fp", {}, {"a": 0})
    assert fresh.latest_run("fp") == "run2"


def test_a_workspace_that_cannot_be_written_is_one_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot use the workspace /proc/self/workspace\.sqlite"):
        Workspace(Path("/proc/self/workspace.sqlite"))


def test_the_app_offers_a_fresh_workspace_and_keeps_the_damaged_one(workspace: Path) -> None:
    from pages_helpers import start, unescape_markdown

    workspace.mkdir(parents=True)
    damaged = b"garbage, not a database" * 300
    (workspace / WORKSPACE_FILE).write_bytes(damaged)
    at = start()
    at.switch_page("pages/segment.py").run()
    assert not at.exception, at.exception
    errors = [unescape_markdown(e.value) for e in at.error]
    assert len(errors) == 1 and "is damaged" in errors[0], errors
    button = next(b for b in at.button if b.label == "Start a fresh workspace")
    button.click().run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == []
    backups = [p for p in workspace.glob(f"{WORKSPACE_FILE}.corrupt-*") if not p.name.endswith(("-wal", "-shm"))]
    assert len(backups) == 1 and backups[0].read_bytes() == damaged
    assert Workspace(workspace / WORKSPACE_FILE).previous_runs("fp") == []


@pytest.fixture(scope="module")
def result():
    comments = from_frame(labelled_comments())
    return segment(comments, SegmentConfig(encoder="tfidf", k=3))


def test_results_are_written_through_a_staging_folder(tmp_path: Path, result) -> None:
    out = tmp_path / "out"
    paths = result.write(out)
    assert [p.name for p in paths] == ["assignments.csv", "segments.json", "run.json"]
    assert sorted(p.name for p in out.iterdir()) == ["assignments.csv", "run.json", "segments.json"]
    assert json.loads((out / "run.json").read_text(encoding="utf-8"))["config"]["k"] == 3
    assert len(pd.read_csv(out / "assignments.csv")) == len(result.user_ids)


def test_a_write_that_fails_midway_leaves_the_previous_set_whole(tmp_path: Path, result, monkeypatch) -> None:
    out = tmp_path / "out"
    result.write(out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken_record(*_):
        raise OSError("disk full")

    renamed = result.with_names({0: "Renamed segment"})  # a new set differs from the one on disk
    monkeypatch.setattr(renamed, "run_record", broken_record)
    with pytest.raises(OSError, match="disk full"):
        renamed.write(out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # no half-written file, no staging left
