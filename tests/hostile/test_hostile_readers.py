"""Issue 18, readers and saved runs: JSON and JSON lines bounded by the row and byte limits before they are
parsed (case 13), and a hand-damaged run that is listed as damaged, refused with one clear message, and never
breaks the listing, a page or a new run of the same data."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from segmentation.core.errors import ConfigError, DataError
from segmentation.ingest.io import load_comments
from segmentation.pipeline.config import SegmentConfig
from segmentation.pipeline.segment import cluster_prepared, prepare
from segmentation.runs import service
from segmentation.runs.workspace import Workspace
from tests.fixtures import labelled_comments
from tests.pages_helpers import start
from tests.test_cli import assert_one_line_error, run_cli

pytestmark = pytest.mark.hostile


# Case 13: JSON and JSON lines bounded before parsing ------------------------------------------------------

def _records(n: int) -> list[dict]:
    return [{"user_id": f"u{i % 7}", "text": f"comment number {i}"} for i in range(n)]


@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
def test_json_over_the_row_limit_is_refused_with_the_csv_paths_message(tmp_path: Path, suffix: str) -> None:
    """Issue 18, case 13: the row limit applies to JSON arrays and JSON lines, as to CSV."""
    rows = _records(12)
    path = tmp_path / f"rows{suffix}"
    path.write_text(json.dumps(rows) if suffix == ".json" else "\n".join(map(json.dumps, rows)) + "\n\n")
    with pytest.raises(DataError, match=rf"rows\{suffix} has (more than 10 rows, the limit|12 rows, more than the "
                                        r"limit of 10); load a sample or raise the limit \(max_rows\)"):
        load_comments(path, max_rows=10)
    assert load_comments(path, max_rows=12).n_comments == 12  # at the limit it loads


def test_a_json_array_past_the_limit_is_refused_before_its_broken_tail_is_parsed(tmp_path: Path) -> None:
    """Issue 18, case 13: a JSON array is counted as it is read, so the rows past the limit are never parsed.

    The element after the limit is not JSON: a reader that parsed the whole document first would report
    invalid JSON (or, at 5M rows, hang); this one refuses at the row limit.
    """
    path = tmp_path / "long.json"
    path.write_text("[" + ",".join(map(json.dumps, _records(11))) + ", {broken")
    with pytest.raises(DataError, match=r"long\.json has more than 10 rows, the limit;"):
        load_comments(path, max_rows=10)
    with pytest.raises(DataError, match=r"long\.json: not valid JSON at line 1"):
        load_comments(path, max_rows=20)


def test_json_lines_are_counted_before_any_line_is_parsed(tmp_path: Path) -> None:
    """Issue 18, case 13: JSON lines past the limit are refused on their line count, blank lines aside."""
    path = tmp_path / "lines.jsonl"
    path.write_text("\n".join(["{not json"] + [json.dumps(r) for r in _records(10)]) + "\n\n\n")
    with pytest.raises(DataError, match=r"lines\.jsonl has 11 rows, more than the limit of 10"):
        load_comments(path, max_rows=10)


def test_rows_of_a_table_inside_a_json_object_count_against_the_limit(tmp_path: Path) -> None:
    """Issue 18, case 13: {"data": [...]} and column-wise objects are bounded by the row limit too."""
    wrapped, columns = tmp_path / "wrapped.json", tmp_path / "columns.json"
    wrapped.write_text(json.dumps({"meta": {"v": 1}, "data": _records(12)}))
    columns.write_text(json.dumps({"text": {str(i): f"t{i}" for i in range(12)}, "user_id": {"0": "a"}}))
    for path in (wrapped, columns):
        limit = rf"{path.stem}\.json has (more than 10 rows, the|12 rows, more than the) limit"
        with pytest.raises(DataError, match=limit):
            load_comments(path, max_rows=10)
    assert load_comments(wrapped, max_rows=12).n_comments == 12


@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
def test_json_over_the_byte_limit_is_refused_before_it_is_parsed(tmp_path: Path, suffix: str) -> None:
    """Issue 18, case 13: the byte limit applies to JSON; the unparseable tail proves nothing was parsed."""
    path = tmp_path / f"big{suffix}"
    path.write_text("\n".join(map(json.dumps, _records(30_000))) + "\n{broken")
    with pytest.raises(DataError, match=rf"big\{suffix} is 1\.\d MB, more than the limit of 1\.0 MB"):
        load_comments(path, max_bytes=2**20)


def test_the_apps_upload_reader_bounds_json_rows_by_default() -> None:
    """Issue 18, case 13: the app reads an upload with read_table alone, whose default is the row limit."""
    from segmentation.ingest.formats import read_table

    with pytest.raises(DataError, match=r"upload\.jsonl has 1,000,001 rows, more than the limit of 1,000,000"):
        read_table(b"{}\n" * 1_000_001, name="upload.jsonl")


def test_json_with_many_rows_and_a_late_new_key_keeps_every_value(tmp_path: Path) -> None:
    """Issue 18, case 13: columns are padded once, when a key first appears, and every cell stays in place."""
    rows = _records(2_000)
    rows[1_500]["rating"] = 4
    path = tmp_path / "late.jsonl"
    path.write_text("\n".join(map(json.dumps, rows)))
    comments = load_comments(path)
    assert comments.n_comments == 2_000
    rating = comments.frame.set_index("text")["rating"]
    assert rating["comment number 1500"] == 4 and rating.drop("comment number 1500").isna().all()


# Damaged runs ----------------------------------------------------------------------------------------------

def _save(workspace: Workspace, key: str, fingerprint: str, users: list[str], segments: list[int]) -> None:
    table = pd.DataFrame({"user_id": users, "segment": segments, "segment_name": [f"S{s}" for s in segments]})
    centres = np.eye(max(segments) + 1, 4, dtype=np.float32)
    workspace.save_run(key, fingerprint, {"encoder": "tfidf", "algorithm": "kmeans", "k": max(segments) + 1},
                       dict(zip(users, segments, strict=True)), pipeline_version=2,
                       record={"source": f"{key}.csv", "n_users": len(users), "metrics": {"n_segments": 2}},
                       table=table, arrays={"segment_ids": np.arange(max(segments) + 1), "centres": centres})


def _sql(workspace: Workspace, statement: str, *parameters: object) -> None:
    with sqlite3.connect(workspace.path) as connection:
        connection.execute(statement, parameters)


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _run_file(workspace: Workspace, key: str, suffix: str) -> Path:
    return workspace.runs_folder / f"{key}{suffix}"


# Each kind of hand damage the issue names, applied to one run; what the listing must say about it.
DAMAGE: dict[str, tuple[Callable[[Workspace, str], None], str]] = {
    "config is garbage": (lambda ws, key: _sql(ws, "UPDATE runs SET config = 'x{' WHERE run_key = ?", key),
                          "its config is not a JSON object"),
    "config is a list": (lambda ws, key: _sql(ws, "UPDATE runs SET config = '[1, 2]' WHERE run_key = ?", key),
                         "its config is not a JSON object"),
    "record is garbage": (lambda ws, key: _sql(ws, "UPDATE runs SET record = 'nul' WHERE run_key = ?", key),
                          "its record is not a JSON object"),
    "order is not a number": (lambda ws, key: _sql(ws, "UPDATE runs SET seq = 'first' WHERE run_key = ?", key),
                              "its pipeline version or order is not a whole number"),
    "assignments are garbage": (
        lambda ws, key: _sql(ws, "UPDATE runs SET assignments = X'00ff00ff' WHERE run_key = ?", key),
        "its saved assignments are corrupt"),
    "assignments cut short": (
        lambda ws, key: _sql(ws, "UPDATE runs SET assignments = substr(assignments, 1, length(assignments) / 2)"
                                 " WHERE run_key = ?", key),
        "its saved assignments are cut short"),
    "Parquet cut short": (lambda ws, key: _truncate(_run_file(ws, key, ".parquet")), ".parquet is unreadable"),
    "npz is garbage": (lambda ws, key: _run_file(ws, key, ".npz").write_bytes(b"PK\x03\x04" + bytes(range(256)) * 8),
                       ".npz is unreadable"),
}


@pytest.fixture
def damaged(request: pytest.FixtureRequest, workspace: Path) -> tuple[Workspace, str]:
    """A workspace with run "good", then run "bad" (saved later) damaged one way; the reason expected."""
    ws = Workspace()
    _save(ws, "good", "data-a", ["a", "b", "c", "d"], [0, 0, 1, 1])
    _save(ws, "bad", "data-b", ["a", "b", "c", "d"], [1, 1, 0, 0])
    damage, reason = DAMAGE[request.param]
    damage(ws, "bad")
    return ws, reason


@pytest.mark.parametrize("damaged", list(DAMAGE), indirect=True)
def test_a_damaged_run_is_listed_as_damaged_beside_the_intact_one(damaged: tuple[Workspace, str]) -> None:
    """Issue 18, internal errors: one hand-damaged run no longer breaks the listing of every run."""
    ws, reason = damaged
    runs = {info.run_key: info for info in ws.all_runs()}
    assert set(runs) == {"good", "bad"}
    assert runs["good"].damaged == "" and runs["good"].config["k"] == 2
    assert reason in runs["bad"].damaged
    table = service.runs_table(ws).set_index("run")
    assert reason in table.loc["bad", "damaged"] and table.loc["good", "damaged"] == ""
    assert table.loc["good", "data"] == "good.csv"


@pytest.mark.parametrize("damaged", list(DAMAGE), indirect=True)
def test_a_damaged_run_is_refused_with_one_message_naming_the_damage(damaged: tuple[Workspace, str]) -> None:
    """Issue 18, internal errors: showing a damaged run is a ConfigError, never a parser's exception."""
    ws, reason = damaged
    with pytest.raises(ConfigError, match=r"run bad is damaged \(") as raised:
        service.load_run("bad", ws)
    assert reason in str(raised.value)
    assert service.load_run("good", ws).to_dict()["run"] == "good"
    assert ws.latest_run("data-b") is None  # nothing to restore: the Segment page starts fresh


def test_cli_lists_every_kind_of_damaged_run_as_damaged_and_runs_show_exits_2(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 18, internal errors: with one run damaged each way, `runs` exits 0 listing all of them (the
    intact one undamaged), and `runs show` of each damaged one exits 2 with one line naming the damage."""
    from segmentation.cli import main

    ws = Workspace()
    _save(ws, "good", "data-a", ["a", "b", "c", "d"], [0, 0, 1, 1])
    keys = {kind: f"bad{i}" for i, kind in enumerate(DAMAGE)}
    for kind, key in keys.items():
        _save(ws, key, "data-b", ["a", "b", "c", "d"], [1, 1, 0, 0])
        DAMAGE[kind][0](ws, key)
    listed = run_cli("runs", workspace=workspace)
    assert listed.returncode == 0, listed.stderr
    header, *rows = listed.stdout.splitlines()
    assert header.split()[-1] == "damaged"
    by_key = {row.split()[0]: row for row in rows}
    assert set(by_key) == {"good", *keys.values()}
    assert by_key["good"].split()[-1] == "0"  # its named count ends the row: nothing in the damaged column
    for kind, key in keys.items():
        assert DAMAGE[kind][1] in by_key[key], kind
        # In process, the same entry point as `python -m segmentation` (one subprocess below proves it).
        assert main(["runs", "show", key]) == 2, kind
        error = capsys.readouterr().err.strip()
        assert error.startswith(f"error: run {key} is damaged (") and DAMAGE[kind][1] in error and "\n" not in error
    assert_one_line_error(run_cli("runs", "show", keys["npz is garbage"], workspace=workspace), "is damaged")
    assert run_cli("runs", "show", "good", workspace=workspace).returncode == 0


def test_a_run_without_an_id_is_listed_and_the_others_still_show(workspace: Path) -> None:
    """Issue 18, internal errors: a runs row whose id is NULL is listed as damaged, not a crash."""
    ws = Workspace()
    _save(ws, "good", "data-a", ["a", "b"], [0, 1])
    _save(ws, "bad", "data-a", ["a", "b"], [1, 0])
    _sql(ws, "UPDATE runs SET run_key = NULL WHERE run_key = 'bad'")
    runs = ws.all_runs()
    assert [(info.run_key, info.damaged) for info in runs] == [
        ("", "its run id is missing or not an id"), ("good", "")]
    assert ws.latest_run("data-a") == "good"


def test_corrupt_pages_inside_a_run_parquet_give_one_message_when_the_run_is_shown(workspace: Path) -> None:
    """Issue 18, internal errors: corrupt compressed data in a run's Parquet (its footer intact, so the listing
    cannot tell) is reported as damage when the table is read: `runs show` exits 2 with one line."""
    import pyarrow.parquet as pq

    ws = Workspace()
    _save(ws, "bad", "data-a", [f"user-{i}" for i in range(500)], [i % 2 for i in range(500)])
    path = _run_file(ws, "bad", ".parquet")
    column = pq.read_metadata(path).row_group(0).column(0)
    data = bytearray(path.read_bytes())
    start = column.data_page_offset
    data[start : start + 64] = b"\xff" * 64  # the first page's header and the start of its compressed data
    path.write_bytes(bytes(data))
    assert run_cli("runs", workspace=workspace).returncode == 0
    with pytest.raises(ConfigError, match=r"run bad is damaged \(bad\.parquet is unreadable"):
        ws.table("bad")
    assert_one_line_error(run_cli("runs", "show", "bad", workspace=workspace), "run bad is damaged")


def test_a_segment_column_that_is_not_numbers_is_damage_not_an_internal_error(workspace: Path) -> None:
    """Issue 18, internal errors: a run Parquet rewritten with text segments is refused by name."""
    ws = Workspace()
    _save(ws, "bad", "data-a", ["a", "b"], [0, 1])
    pd.DataFrame({"user_id": ["a", "b"], "segment": ["x", "y"]}).to_parquet(_run_file(ws, "bad", ".parquet"))
    assert_one_line_error(run_cli("runs", "show", "bad", workspace=workspace), "run bad is damaged",
                          "lacks whole-number segments")


def _without_map(comments, config, progress=None):
    """The pipeline as the app runs it, without the 2-d map (UMAP's first fit costs a minute here)."""
    prepared = prepare(comments, config, progress=progress, with_map=False)
    return prepared, cluster_prepared(prepared, config, progress=progress), False


@pytest.mark.parametrize("damage", ["assignments are garbage", "config is garbage"])
def test_a_new_run_of_the_same_data_saves_and_carries_nothing_from_a_damaged_run(damage: str) -> None:
    """Issue 18, internal errors: a damaged earlier run used to block every later run of the same data
    (carrying names read it); now the new run is saved and a note says why no name came with it."""
    from segmentation.ingest.io import from_frame

    comments = from_frame(labelled_comments(users_per_group=10).drop(columns="true_group"), source="l.csv")
    ws = Workspace()
    first = service.run_and_save(comments, SegmentConfig(encoder="tfidf", k=4), workspace=ws, compute=_without_map)
    for segment in range(4):
        ws.save_name(first.run_key, segment, f"Group {segment}")
    _sql(ws, {"assignments are garbage": "UPDATE runs SET assignments = X'00ff' WHERE run_key = ?",
              "config is garbage": "UPDATE runs SET config = '{' WHERE run_key = ?"}[damage], first.run_key)

    second = service.run_and_save(comments, SegmentConfig(encoder="tfidf", k=3), workspace=ws, compute=_without_map)
    assert second.carry.carried == [] and ws.names(second.run_key) == {}
    (note,) = second.notes
    assert note.startswith(f"No names were carried over from run {first.run_key}: it is damaged")
    listed = {info.run_key: info.damaged for info in ws.all_runs()}
    assert listed[second.run_key] == "" and listed[first.run_key] != ""
    assert ws.latest_run(comments.fingerprint()) == second.run_key


def test_saving_after_a_run_with_a_damaged_order_still_makes_the_new_run_the_latest(workspace: Path) -> None:
    """Issue 18, internal errors: an order (seq) hand-set to text once ranked every later run below the
    others, so that the Segment page restored an older run."""
    ws = Workspace()
    _save(ws, "old", "data-a", ["a", "b"], [0, 1])
    _sql(ws, "UPDATE runs SET seq = 'x' WHERE run_key = 'old'")
    _save(ws, "mid", "data-a", ["a", "b"], [1, 0])
    _save(ws, "new", "data-a", ["a", "b"], [0, 0])
    assert ws.latest_run("data-a") == "new"


# Pages with a damaged run present -------------------------------------------------------------------------

def _demo_fingerprint() -> str:
    from segmentation.demo import DEMO_PATH

    return load_comments(DEMO_PATH).fingerprint()


def test_runs_and_segment_pages_render_with_a_damaged_run_of_the_open_data(workspace: Path) -> None:
    """Issue 18, internal errors: the Runs page lists a damaged run as damaged, and the Segment and Segments
    pages, which restore the latest run of the open data, open without it instead of crashing."""
    ws = Workspace()
    _save(ws, "other", "data-a", ["a", "b"], [0, 1])
    _save(ws, "bad", _demo_fingerprint(), ["a", "b"], [1, 0])
    _sql(ws, "UPDATE runs SET config = '[1]' WHERE run_key = 'bad'")

    at = start()
    at.switch_page("pages/runs.py").run()
    assert not at.exception, at.exception
    listed = at.dataframe[0].value.set_index("run")
    assert listed.loc["bad", "damaged"] == "its config is not a JSON object" and listed.loc["bad", "this data"]
    assert listed.loc["other", "damaged"] == ""

    for page in ("pages/segment.py", "pages/segments.py"):
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        assert not at.error, (page, [e.value for e in at.error])
