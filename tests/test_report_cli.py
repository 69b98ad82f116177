"""``python -m segmentation report``: the report of a saved run written to a file, and bad input in one line."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from fixtures import labelled_comments
from test_cli import assert_one_line_error, run_cli

pytestmark = pytest.mark.slow  # the run it reports lays out its map with UMAP


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A workspace holding one run of a labelled file, made by ``segment`` as a user would."""
    folder = tmp_path_factory.mktemp("cli-report")
    data = folder / "labelled.csv"
    labelled_comments().to_csv(data, index=False)
    home = folder / "workspace"
    proc = run_cli("segment", str(data), "--out", str(folder / "run"), "--encoder", "tfidf", "--k", "4",
                   workspace=home)
    assert proc.returncode == 0, proc.stderr
    key = proc.stderr.split("saved as run ")[1].split(";")[0]
    return {"folder": folder, "data": data, "home": home, "key": key}


def report(saved: dict, *args: str) -> subprocess.CompletedProcess:
    return run_cli("report", *args, workspace=saved["home"])


def test_the_latest_run_is_reported_by_default_into_one_file(saved, tmp_path: Path):
    out = tmp_path / "report.html"
    proc = report(saved, "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip() == f"wrote the report of run {saved['key']} to {out}"
    document = out.read_text(encoding="utf-8")
    assert document.startswith("<!DOCTYPE html>") and f"Run {saved['key']}" in document
    assert "Plotly.newPlot" in document and "Keywords" in document
    assert "The behaviour table is not included" in document
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # written beside, renamed: nothing left over


def test_a_named_run_with_its_comments_carries_the_behaviour_table(saved, tmp_path: Path):
    out = tmp_path / "with-behaviour.html"
    proc = report(saved, "--run", saved["key"], "--out", str(out), "--input", str(saved["data"]))
    assert proc.returncode == 0, proc.stderr
    document = out.read_text(encoding="utf-8")
    assert "Who the users are" in document and "Comments per user" in document
    assert "The behaviour table is not included" not in document


def test_an_unknown_run_is_one_line_and_exit_2(saved, tmp_path: Path):
    proc = report(saved, "--run", "nope", "--out", str(tmp_path / "r.html"))
    assert_one_line_error(proc, "no saved run 'nope'", "`python -m segmentation runs` lists the saved runs")
    assert not (tmp_path / "r.html").exists()


def test_a_path_that_cannot_be_written_is_one_line_and_exit_2_and_leaves_the_earlier_report(saved, tmp_path: Path):
    earlier = tmp_path / "report.html"
    earlier.write_text("the earlier report")
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert_one_line_error(report(saved, "--out", str(blocker / "report.html")), "cannot write", "a-file")
    assert_one_line_error(report(saved, "--out", str(tmp_path)), "it is a folder")
    assert earlier.read_text() == "the earlier report"


def test_comments_of_other_data_are_refused_in_one_line(saved, tmp_path: Path):
    other = tmp_path / "other.csv"
    labelled_comments(seed=1).to_csv(other, index=False)
    proc = report(saved, "--out", str(tmp_path / "r.html"), "--input", str(other))
    assert_one_line_error(proc, f"run {saved['key']} was made on other data than other.csv")


def test_a_workspace_without_runs_says_how_to_make_one(tmp_path: Path):
    proc = run_cli("report", "--out", str(tmp_path / "r.html"), workspace=tmp_path / "empty")
    assert_one_line_error(proc, "no saved run yet", "segment FILE --out DIR")
