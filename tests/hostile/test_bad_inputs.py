"""The bad-input corpus (tests/bad_inputs/generate.py): every file ends in one specific message or a correct result.

Library: each case raises exactly the expected error type with its distinctive message (one line), or loads
with the expected counts, texts, ids and notes. CLI: a representative subset exits 2 with one stderr line.
App: a few uploads show the loader's message with ``st.error`` (or the loader's note), never an exception.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from bad_inputs.generate import MANIFEST, Case, cases, manifest, write

from segmentation.core.errors import ConfigError, DataError, SegmentationError
from segmentation.ingest.io import MAX_BYTES, MAX_ROWS, Comments, load_comments
from segmentation.pipeline.config import SegmentConfig
from segmentation.pipeline.segment import cluster_prepared, prepare

pytestmark = pytest.mark.hostile
ROOT = Path(__file__).resolve().parents[2]
CASES = cases()
LOADING = [c for c in CASES if c.segment is None]
SEGMENTING = [c for c in CASES if c.segment is not None]
ERRORS = {"DataError": DataError, "ConfigError": ConfigError}
LOAD_CHECKS = {
    "users", "comments", "texts", "first_texts", "user_ids", "item_ids", "user_id_lengths", "ratings",
    "missing_times", "roles", "note", "max_text_length",
}
SEGMENT_CHECKS = {"segments", "noise", "segment_note"}


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_once(tmp_path_factory.mktemp("bad_inputs"))


def _write_once(folder: Path) -> Path:
    write(folder)
    return folder


def _ids(selection: list[Case]) -> list[str]:
    return [c.name for c in selection]


def test_the_corpus_has_at_least_a_hundred_cases_and_the_committed_manifest_is_current() -> None:
    assert len(CASES) >= 100
    committed = json.loads(MANIFEST.read_text(encoding="utf-8"))
    assert committed == manifest(), "run: python tests/bad_inputs/generate.py --manifest-only"
    for record in committed:
        assert record["outcome"] in ("ok", *ERRORS), record
        unknown = set(record) - {"name", "about", "load", "segment", "outcome", "match"} - LOAD_CHECKS - SEGMENT_CHECKS
        assert not unknown, f"{record['name']}: unknown expectation keys {unknown}"


def _expect_error(case: Case, call) -> None:
    expected = ERRORS[case.expect["outcome"]]
    with pytest.raises(SegmentationError) as raised:
        call()
    error = raised.value
    assert type(error) is expected, f"{case.name}: {type(error).__name__}: {error}"
    message = str(error)
    assert re.search(case.expect["match"], message), f"{case.name}: {message!r}"
    assert "\n" not in message and "Traceback" not in message


def _check_comments(case: Case, comments: Comments) -> None:
    expect = case.expect
    frame = comments.frame
    assert (comments.n_users, comments.n_comments) == (expect["users"], expect["comments"]), case.name
    if "texts" in expect:
        assert frame["text"].tolist() == expect["texts"]
    if "first_texts" in expect:
        assert frame["text"].tolist()[: len(expect["first_texts"])] == expect["first_texts"]
    if "user_ids" in expect:
        assert frame["user_id"].tolist() == expect["user_ids"]
    if "item_ids" in expect:
        assert frame["item_id"].tolist() == expect["item_ids"]
    if "user_id_lengths" in expect:
        assert frame["user_id"].str.len().tolist() == expect["user_id_lengths"]
    if "ratings" in expect:
        got = [None if math.isnan(r) else r for r in frame["rating"].tolist()]
        assert got == expect["ratings"]
    if "missing_times" in expect:
        assert int(frame["time"].isna().sum()) == expect["missing_times"]
    for role, column in expect.get("roles", {}).items():
        assert comments.roles[role] == column, (role, dict(comments.roles))
    if "max_text_length" in expect:
        assert int(frame["text"].str.len().max()) == expect["max_text_length"]
    if "note" in expect:
        notes = " | ".join(comments.notes)
        assert re.search(expect["note"], notes), f"{case.name}: {notes!r}"
    # The contract's canonical columns and index hold for every odd file that loads.
    assert frame.index.tolist() == list(range(len(frame)))
    assert (frame["text"] != "").all()


@pytest.mark.parametrize("case", LOADING, ids=_ids(LOADING))
def test_each_file_loads_correctly_or_gives_its_one_specific_error(corpus: Path, case: Case) -> None:
    path = corpus / case.name
    if case.expect["outcome"] == "ok":
        _check_comments(case, load_comments(path, **case.load))
    else:
        _expect_error(case, lambda: load_comments(path, **case.load))


@pytest.mark.parametrize("case", LOADING, ids=_ids(LOADING))
def test_an_upload_of_each_file_ends_the_same_way_as_the_file(corpus: Path, case: Case) -> None:
    data = (corpus / case.name).read_bytes()
    if case.expect["outcome"] == "ok":
        comments = load_comments(data, name=case.name, **case.load)
        assert comments.fingerprint() == load_comments(corpus / case.name, **case.load).fingerprint()
    else:
        _expect_error(case, lambda: load_comments(data, name=case.name, **case.load))


def _segment(comments: Comments, settings: dict[str, Any]):
    config = SegmentConfig(encoder="tfidf", **settings)
    # No 2-d map: it adds nothing to what these cases check and UMAP's first fit costs ~20 s per process.
    prepared = prepare(comments, config, with_map=False)
    return cluster_prepared(prepared, config)


# Cases that expose a bug in a module another engineer is still changing: strict, so the fix is noticed.
@pytest.mark.parametrize("case", SEGMENTING, ids=lambda c: c.name)
def test_segmenting_an_odd_but_loadable_file_gives_a_result_or_one_config_error(corpus: Path, case: Case) -> None:
    comments = load_comments(corpus / case.name, **case.load)
    if case.expect["outcome"] != "ok":
        _expect_error(case, lambda: _segment(comments, case.segment))
        return
    _check_comments(case, comments)
    result = _segment(comments, case.segment)
    expect = case.expect
    assert result.metrics["n_segments"] == expect["segments"]
    assert sorted(set(result.labels.tolist()) - {-1}) == list(range(expect["segments"]))
    assert int((result.labels == -1).sum()) == expect.get("noise", 0)
    assert len(result.assignments) == comments.n_users
    if "segment_note" in expect:
        assert re.search(expect["segment_note"], " | ".join(result.notes)), result.notes


def test_the_apps_upload_limit_is_below_the_loaders_byte_limit() -> None:
    # A file the app accepts is never refused for its size by the loader; Streamlit itself refuses bigger
    # uploads ("File must be 200.0MB or smaller"), and the CLI meets the loader's own limit.
    config = (ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8")
    megabytes = int(re.search(r"^maxUploadSize\s*=\s*(\d+)", config, re.MULTILINE).group(1))
    assert megabytes * 2**20 <= MAX_BYTES
    assert MAX_ROWS == 1_000_000


# -- the command line: a representative subset, run concurrently (each start imports the library) --------

CLI_CASES = {
    "empty.csv": [],
    "random_0.csv": [],
    "header_only.csv": [],
    "truncated_50.parquet": [],
    "csv_named.parquet": [],
    "sheets_all_empty.xlsx": [],
    "no_text_column.csv": [],
    "ragged_row.csv": [],
    "all_comments_blank.csv": [],
    "override_missing.csv": ["--text-col", "comments"],
    "one_user.csv": [],
    "k_over_users.csv": ["--k", "5"],
    "names_equal_once_trimmed.csv": [],
    "deeply_nested.json": [],
    "lone_surrogate.jsonl": [],
    "cell_at_xfd.xlsx": [],
    "shifted_header_text_first.csv": [],
}


@pytest.fixture(scope="module")
def cli_runs(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("cli_out")

    def run(name: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "segmentation", "segment", str(corpus / name), "--out", str(out / name),
                   "--encoder", "tfidf", *CLI_CASES[name]]
        return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(CLI_CASES, pool.map(run, CLI_CASES), strict=True))


@pytest.mark.parametrize("name", list(CLI_CASES))
def test_cli_exits_2_with_one_stderr_line_naming_the_problem(cli_runs, name: str) -> None:
    case = next(c for c in CASES if c.name == name)
    run = cli_runs[name]
    lines = run.stderr.splitlines()
    assert run.returncode == 2, run.stderr
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("error: ")
    assert re.search(case.expect["match"], lines[0]), lines[0]
    assert run.stdout == ""


# -- the app: a few uploads through the Data page ---------------------------------------------------------

APP_CASES = ["truncated_50.parquet", "csv_named.xlsx", "all_comments_html.csv", "sheets_readme_first.xlsx",
             "comment_1mb_unbroken.csv", "cell_at_xfd60000.xlsx", "mixed_utf8_latin1.csv"]


@pytest.mark.parametrize("name", APP_CASES)
def test_the_data_page_shows_the_loaders_message_for_an_upload(corpus: Path, name: str) -> None:
    from pages_helpers import start, texts, unescape_markdown

    case = next(c for c in CASES if c.name == name)
    at = start()
    at.radio(key="data_choice").set_value("upload").run()
    at.file_uploader(key="upload").set_value((name, (corpus / name).read_bytes(), "application/octet-stream")).run()
    assert not at.exception, at.exception
    errors = [unescape_markdown(e.value) for e in at.error]
    if case.expect["outcome"] == "ok":
        assert errors == []
        assert any(re.search(case.expect["note"], t) for t in texts(at)), texts(at)
    else:
        assert len(errors) == 1 and re.search(case.expect["match"], errors[0]), errors
