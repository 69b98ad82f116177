"""Hostile input, issue 18: the server reads only its own files (case 2), uploads have a quota (case 3),
the word search is capped (case 5), and a damaged run folder is one clear message (the run-folder part of
"internal errors and hangs").

Everything runs on real files: run folders written with pandas/pyarrow as the Ray engine writes them,
FIFOs, symlinks, sparse files, the real upload store, and the pages through AppTest.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pandas as pd
import pytest

from segmentation.core.errors import ConfigError, DataError, EncoderError
from segmentation.core.paths import ALLOWED_ROOTS_ENV, JSON_MAX_BYTES, allowed_path
from segmentation.embed.base import get_encoder
from segmentation.embed.minilm import check_app_model_path
from segmentation.ingest.io import from_frame
from segmentation.ingest.uploads import QUOTA_ENV, UploadStore, upload_quota_bytes
from segmentation.pipeline.config import SegmentConfig
from segmentation.present.maps import WordSearch
from segmentation.runs.workspace import Workspace
from segmentation.scale.run_folder import open_run_folder
from tests.fixtures import labelled_comments
from tests.pages_helpers import metric, run_segmentation, start, unescape_markdown

pytestmark = pytest.mark.hostile

# A call that blocks on a FIFO never returns; anything that does its work answers well within this.
HANG_S = 20


def write_run_folder(out: Path) -> Path:
    """A small run folder laid out as the Ray engine writes it: six users in two segments, four mapped."""
    out.mkdir(parents=True)
    frame = pd.DataFrame({
        "user_id": [f"u{i}" for i in range(6)], "segment": [0, 0, 0, 1, 1, 1],
        "segment_name": ["Coffee"] * 3 + ["Running"] * 3, "confidence": [0.9] * 6, "n_comments": [2] * 6,
        "x": [0.1, 0.2, None, 1.0, 1.1, None], "y": [0.1, 0.3, None, 1.0, 1.2, None],
    })
    frame.to_parquet(out / "assignments", partition_cols=["segment"])
    record = {"engine": "ray", "config": SegmentConfig(encoder="tfidf").to_dict(), "n_comments": 12,
              "n_fit_users": 6, "metrics": {"silhouette": 0.5}, "timings": {"total": 1.5}, "notes": []}
    (out / "run.json").write_text(json.dumps(record))
    segments = [{"id": i, "name": name, "size": 3, "share": 0.5, "keywords": [name.lower()],
                 "representative_comments": [f"about {name.lower()}"]} for i, name in [(0, "Coffee"), (1, "Running")]]
    (out / "segments.json").write_text(json.dumps(segments))
    return out


def parquet_file(folder: Path) -> Path:
    return next((folder / "assignments").rglob("*.parquet"))


@pytest.fixture
def allowed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A root the operator allows, beside the workspace."""
    root = tmp_path / "allowed"
    root.mkdir()
    monkeypatch.setenv(ALLOWED_ROOTS_ENV, str(root))
    return root


def finishes(call, timeout: float = HANG_S) -> BaseException | None:
    """Run ``call`` in a thread; fail when it is still running after ``timeout`` (it blocked), else return
    what it raised."""
    raised: list[BaseException | None] = [None]

    def target() -> None:
        try:
            call()
        except BaseException as error:  # noqa: BLE001 - handed back to the test to assert on
            raised[0] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"still running after {timeout} s: it blocked"
    return raised[0]


def outside_message(path: str | Path) -> str:
    with pytest.raises(ConfigError) as info:
        open_run_folder(path)
    return str(info.value).replace(repr(str(path)), "<path>")


# --------------------------------------------------------------------------- case 2: paths under roots


def test_every_path_outside_the_roots_gets_the_same_message_whether_it_exists_or_not(tmp_path: Path, allowed: Path):
    """Issue 18, case 2: /etc, /root, /proc/self, another team's run in /tmp and a missing path were opened
    or told apart; now every one gets the same words, so nothing on the server can be probed."""
    other_team = write_run_folder(tmp_path / "other-team-run")  # a valid run, outside every root
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    probes = ["/etc", "/root", "/proc/self", other_team, tmp_path / "nowhere", a_file, "/etc/passwd",
              f"{allowed}/../other-team-run", "\0"]
    messages = {outside_message(p) for p in probes}
    assert len(messages) == 1, messages
    (message,) = messages
    assert message.startswith("<path> is not in a folder this app may read") and ALLOWED_ROOTS_ENV in message


def test_a_symlink_from_inside_a_root_to_a_folder_outside_is_outside(tmp_path: Path, allowed: Path):
    """Issue 18, case 2: links are resolved before the check, so a link out of a root is refused."""
    other_team = write_run_folder(tmp_path / "other-team-run")
    link = allowed / "looks-inside"
    link.symlink_to(other_team, target_is_directory=True)
    assert outside_message(link) == outside_message(tmp_path / "nowhere")


def test_a_run_folder_in_the_workspace_or_an_allowed_root_opens(workspace: Path, allowed: Path):
    """Issue 18, case 2 (the other side): folders under the roots still open, with their full counts."""
    for folder in (write_run_folder(workspace / "runs-from-ray"), write_run_folder(allowed / "run")):
        opened = open_run_folder(f"  {folder}  ")
        assert (opened.n_users, opened.n_comments, opened.n_mapped_users) == (6, 12, 4)
        assert [s.name for s in opened.result.segments] == ["Coffee", "Running"]
        assert opened.result.assignments["segment"].tolist() == [0, 0, 0, 1, 1, 1]


def test_without_allowed_roots_only_the_workspace_is_readable(tmp_path: Path, workspace: Path,
                                                             monkeypatch: pytest.MonkeyPatch):
    """Issue 18, case 2: the default is confined to the workspace."""
    monkeypatch.delenv(ALLOWED_ROOTS_ENV, raising=False)
    with pytest.raises(ConfigError, match="not in a folder this app may read"):
        open_run_folder(write_run_folder(tmp_path / "run"))
    assert allowed_path(workspace / "x") == (workspace / "x").resolve()


def test_a_fifo_run_json_is_refused_at_once_instead_of_blocking_the_server(allowed: Path):
    """Issue 18, case 2: a run.json that is a FIFO blocked the server thread for ever."""
    folder = write_run_folder(allowed / "run")
    (folder / "run.json").unlink()
    os.mkfifo(folder / "run.json")
    error = finishes(lambda: open_run_folder(folder))
    assert isinstance(error, DataError) and "run.json is not a regular file" in str(error)


def test_a_fifo_among_the_parquet_files_is_refused_at_once(allowed: Path):
    """Issue 18, case 2: the other files of a run folder are regular files only, too."""
    folder = write_run_folder(allowed / "run")
    os.mkfifo(parquet_file(folder).with_name("part-9.parquet"))
    error = finishes(lambda: open_run_folder(folder))
    assert isinstance(error, DataError) and "part-9.parquet, which is not a regular file" in str(error)


def test_a_run_json_linked_to_dev_zero_is_refused_without_reading_it(allowed: Path, monkeypatch: pytest.MonkeyPatch):
    """Issue 18, case 2: a run.json linked to /dev/zero grew the server until memory ran out. The link leads
    outside the roots; and even with /dev allowed by a careless operator, a device is not a regular file."""
    folder = write_run_folder(allowed / "run")
    (folder / "run.json").unlink()
    (folder / "run.json").symlink_to("/dev/zero")
    assert isinstance(finishes(lambda: open_run_folder(folder)), ConfigError)
    monkeypatch.setenv(ALLOWED_ROOTS_ENV, os.pathsep.join([str(allowed), "/dev"]))
    error = finishes(lambda: open_run_folder(folder))
    assert isinstance(error, DataError) and "run.json is not a regular file" in str(error)


def test_an_oversized_run_json_is_refused_before_it_is_read(allowed: Path):
    """Issue 18, case 2: the JSON files of a run folder are read up to a size cap."""
    folder = write_run_folder(allowed / "run")
    with open(folder / "run.json", "r+b") as handle:
        handle.truncate(JSON_MAX_BYTES + 1)  # sparse: nothing written, but larger than the cap
    with pytest.raises(DataError, match=rf"run.json is larger than {JSON_MAX_BYTES:,} bytes"):
        open_run_folder(folder)


def test_a_model_folder_typed_in_the_app_must_lie_under_the_roots(tmp_path: Path, allowed: Path):
    """Issue 18, case 2: the sentence-transformers model path typed on the Segment page probed server
    folders; outside the roots every path gets the one message, existing or not."""
    (allowed / "my-model").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (allowed / "link").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    messages = set()
    for model in ["/etc", "/root", str(tmp_path / "elsewhere"), str(tmp_path / "missing"), "../../etc",
                  str(allowed / "link"), "~"]:
        with pytest.raises(ConfigError) as info:
            check_app_model_path(f"sentence-transformers:{model}")
        messages.add(str(info.value).replace(repr(model), "<path>"))
    assert len(messages) == 1, messages
    check_app_model_path(f"sentence-transformers:{allowed / 'my-model'}")  # inside a root: allowed
    check_app_model_path("sentence-transformers:someone/a-hub-model")  # a hub id names no server folder
    check_app_model_path("tfidf")  # other encoders take no path


def test_the_cli_still_takes_a_local_model_folder_anywhere(tmp_path: Path):
    """Issue 18, case 2: the CLI is the operator's own shell, so its model paths are not confined."""
    with pytest.raises(EncoderError, match="does not exist"):
        get_encoder(f"sentence-transformers:{tmp_path / 'nowhere'}")
    model = tmp_path / "model"
    model.mkdir()
    assert get_encoder(f"sentence-transformers:{model}").name == f"sentence-transformers:{model.resolve()}"


# --------------------------------------------------------------------------- damaged run folders


def _truncate_parquet(folder: Path) -> None:
    path = parquet_file(folder)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _garbage_parquet(folder: Path) -> None:
    parquet_file(folder).write_bytes(os.urandom(2048))


def _record(change):
    def damage(folder: Path) -> None:
        record = json.loads((folder / "run.json").read_text())
        (folder / "run.json").write_text(json.dumps(change(record)))
    return damage


def _non_numeric_segment(folder: Path) -> None:
    (folder / "assignments" / "segment=1").rename(folder / "assignments" / "segment=abc")


def _segments(text: str):
    def damage(folder: Path) -> None:
        (folder / "segments.json").write_text(text)
    return damage


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_truncate_parquet, "assignments holds damaged Parquet"),
        (_garbage_parquet, "assignments holds damaged Parquet"),
        (_record(lambda r: {k: v for k, v in r.items() if k != "config"}), 'run.json is damaged: it must be an object'),
        (_record(lambda r: [r]), "run.json is damaged: it must be an object"),
        (_record(lambda r: {**r, "config": {"k": "many"}}), "run.json holds a config this version cannot use"),
        (_record(lambda r: {**r, "metrics": ["a"]}), "'metrics' must be an object"),
        (_record(lambda r: {**r, "n_comments": "12"}), "'n_comments' must be a whole number"),
        (_segments("{not json"), "segments.json is damaged: not JSON"),
        (_segments('{"id": 0}'), "segments.json is damaged: it must be a list"),
        (_segments('[{"id": 0}]'), "segments.json is damaged: a segment is not an object"),
        (_segments('[{"id": 0, "name": "A", "size": 3, "share": 0.5, "keywords": [1], "representative_comments": []}]'),
         "segments.json is damaged: a segment is not an object"),
        (_segments("[" * 100_000 + "]" * 100_000), "segments.json is damaged: not JSON"),
        (_non_numeric_segment, "not numeric where numbers belong"),
        (_record(lambda r: {**r, "run_id": "../../etc/passwd"}), "'run_id' must be up to 80 letters"),
        (_record(lambda r: {**r, "run_id": ["ray-1"]}), "'run_id' must be up to 80 letters"),
    ],
    ids=["truncated_parquet", "garbage_parquet", "no_config", "record_is_a_list", "bad_config_value",
         "metrics_a_list", "count_a_string", "segments_not_json", "segments_not_a_list", "segment_lacks_fields",
         "keyword_not_text", "segments_nested_deep", "non_numeric_segment", "run_id_a_path", "run_id_a_list"],
)
def test_a_damaged_run_folder_is_one_clear_data_error(allowed: Path, damage, message: str):
    """Issue 18, internal errors: truncated Parquet, garbage bytes, run.json lacking config or being a
    list, a non-numeric segment column ended in an internal error; each is now one DataError naming it."""
    folder = write_run_folder(allowed / "run")
    damage(folder)
    with pytest.raises(DataError) as info:
        open_run_folder(folder)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_unknown_keys_in_run_json_are_ignored_so_a_newer_engines_run_still_opens(allowed: Path):
    """Issue 18, internal errors (run.json with an unknown key): ignored at the top and in its config, as
    saved runs ignore them, since they do not change what the folder's assignments say."""
    folder = write_run_folder(allowed / "run")
    _record(lambda r: {**r, "from_the_future": 1, "config": {**r["config"], "new_knob": True}})(folder)
    opened = open_run_folder(folder)
    assert opened.n_users == 6 and opened.result.config.encoder == "tfidf"


def test_a_run_folder_is_known_by_the_id_its_run_json_names_and_an_older_one_by_its_digest(allowed: Path):
    """A folder written before runs named themselves keeps the key its saved names were stored under."""
    folder = write_run_folder(allowed / "run")
    _record(lambda r: {k: v for k, v in r.items() if k != "run_id"})(folder)
    older = open_run_folder(folder)
    assert older.run_id == f"ray-folder-{older.digest[:32]}"
    _record(lambda r: {**r, "run_id": "ray-0123456789abcdef01234567"})(folder)
    assert open_run_folder(folder).run_id == "ray-0123456789abcdef01234567"


# --------------------------------------------------------------------------- case 2 in the app


def open_in_app(path: str):
    at = start()
    at.radio(key="data_choice").set_value("run").run()
    at.text_input(key="run_folder_path").set_value(path).run()
    next(b for b in at.button if b.label == "Open").click().run()
    assert not at.exception, at.exception
    return at


def test_the_data_page_shows_the_one_message_for_a_folder_outside_and_opens_one_inside(allowed: Path):
    """Issue 18, case 2: "Open a run folder" on the Data page displayed /etc probes and other teams' runs."""
    at = open_in_app("/etc")
    assert [unescape_markdown(e.value) for e in at.error] == [
        f"'/etc' is not in a folder this app may read: use a folder inside the workspace or one the operator "
        f"lists in {ALLOWED_ROOTS_ENV}"
    ]
    at = open_in_app(str(write_run_folder(allowed / "run")))
    assert not at.error and metric(at, "Users") == "6"


def test_the_data_page_refuses_a_fifo_run_json_at_once(allowed: Path):
    """Issue 18, case 2: the FIFO that blocked the server thread, through the page."""
    folder = write_run_folder(allowed / "run")
    (folder / "run.json").unlink()
    os.mkfifo(folder / "run.json")
    at = open_in_app(str(folder))
    assert len(at.error) == 1 and f"{folder}/run.json is not a regular file" in unescape_markdown(at.error[0].value)


def test_the_segment_page_shows_the_message_for_a_model_folder_outside_the_roots():
    """Issue 18, case 2: the sentence-transformers model path typed on the Segment page."""
    at = start()
    at.switch_page("pages/segment.py").run()
    at.selectbox(key="seg_encoder").set_value("sentence-transformers").run()
    at.text_input(key="seg_encoder_arg_sentence-transformers").set_value("/root").run()
    assert not at.exception, at.exception
    assert len(at.error) == 1 and "'/root' is not in a folder this app may read" in unescape_markdown(at.error[0].value)
    assert not [b for b in at.button if b.label == "Run"]  # nothing can be run with it


# --------------------------------------------------------------------------- case 3: the upload quota


def kept_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if len(p.name) == 64)


def distinct_upload(i: int, size: int = 3_000) -> bytes:
    row = f"user{i},comment number {i}\n".encode()
    return b"user_id,text\n" + row * (size // len(row))


def test_uploads_past_the_quota_evict_the_least_recently_used_and_keep_the_latest(tmp_path: Path):
    """Issue 18, case 3: 40 uploads of 5 MB were all kept; now the kept files stay under the quota, the
    oldest unused go first, the latest is kept and one loaded recently survives."""
    folder = tmp_path / "uploads"
    quota = 10_000
    store = UploadStore(folder, quota_bytes=quota)
    first, second, third = (store.save(f"f{i}.csv", distinct_upload(i)) for i in range(3))
    assert store.load(first) is not None  # used again: now the most recent of the three
    fourth = store.save("f3.csv", distinct_upload(3))
    assert store.load(second) is None  # the least recently used went first
    assert all(store.load(d) is not None for d in (first, third, fourth))
    latest = fourth
    for i in range(4, 40):
        latest = store.save(f"f{i}.csv", distinct_upload(i))
        assert kept_bytes(folder) <= quota
        assert store.load(latest).data == distinct_upload(i)
    assert store.load(first) is None and store.load(third) is None
    assert not [p for p in folder.iterdir() if p.name.endswith(".json") and not (folder / p.stem).exists()]


def test_an_upload_larger_than_the_whole_quota_is_still_kept_alone(tmp_path: Path):
    """Issue 18, case 3: the file just saved is never evicted, even when it alone exceeds the quota."""
    store = UploadStore(tmp_path, quota_bytes=1_000)
    older = store.save("small.csv", distinct_upload(1, 500))
    big = store.save("big.csv", distinct_upload(2, 5_000))
    assert store.load(big) is not None and store.load(older) is None


def test_the_quota_comes_from_the_environment_and_a_bad_value_is_one_clear_message(
        workspace: Path, monkeypatch: pytest.MonkeyPatch):
    """Issue 18, case 3: the operator sets the quota in megabytes; 500 MB by default."""
    assert upload_quota_bytes() == 500 * 2**20
    monkeypatch.setenv(QUOTA_ENV, "0.01")  # 10,485 bytes
    store = UploadStore()
    for i in range(10):
        store.save(f"f{i}.csv", distinct_upload(i))
    assert 0 < kept_bytes(workspace / "uploads") <= 10_485
    for bad in ("lots", "0", "-5", "inf", "nan"):
        monkeypatch.setenv(QUOTA_ENV, bad)
        with pytest.raises(ConfigError, match=rf"^{QUOTA_ENV}='{bad}' is not a number of megabytes above 0"):
            upload_quota_bytes()


def test_eviction_keeps_the_runs_and_names_saved_for_an_evicted_upload(workspace: Path):
    """Issue 18, case 3: names and runs live in the workspace database; evicting a file leaves them."""
    store = UploadStore(quota_bytes=4_000)
    digest = store.save("named.csv", distinct_upload(0))
    saved = Workspace()
    saved.save_run("run-1", digest, SegmentConfig(encoder="tfidf").to_dict(), {"user0": 0})
    saved.save_name("run-1", 0, "Coffee fans")
    store.save("next.csv", distinct_upload(1))
    assert store.load(digest) is None  # evicted
    again = Workspace()
    assert again.run("run-1") is not None and again.names("run-1")[0].name == "Coffee fans"


def test_uploads_through_the_data_page_stay_under_the_quota(workspace: Path, monkeypatch: pytest.MonkeyPatch):
    """Issue 18, case 3: any visitor could fill the server's disk through the upload box."""
    monkeypatch.setenv(QUOTA_ENV, "0.01")
    at = start()
    at.radio(key="data_choice").set_value("upload").run()
    for i in range(6):
        at.file_uploader(key="upload").set_value((f"f{i}.csv", distinct_upload(i), "text/csv")).run()
        assert not at.exception and not at.error
    assert kept_bytes(workspace / "uploads") <= 10_485
    assert UploadStore().load(at.query_params["data"]).name == "f5.csv"  # the latest, shown now, is kept


# --------------------------------------------------------------------------- case 5: the word search


@pytest.fixture(scope="module")
def many_comments():
    frame = labelled_comments(users_per_group=500, comments_per_user=5, seed=3)  # 10,000 comments
    return from_frame(frame), frame["user_id"].drop_duplicates().to_numpy(), frame


@pytest.mark.parametrize("query", ["ab " * 500_000, "x" * 1_000_000], ids=["a_million_words", "one_huge_word"])
def test_a_megabyte_word_search_is_refused_at_once_with_a_clear_message(many_comments, query: str):
    """Issue 18, case 5: a 1 MB word search blocked a worker for 120 s."""
    comments, users, _ = many_comments
    with pytest.raises(ConfigError, match=rf"^the word search is {len(query):,} characters long; type at most 200$"):
        WordSearch(comments, users).matches(query)


def test_more_than_twenty_distinct_words_are_refused_and_twenty_are_searched(many_comments):
    """Issue 18, case 5: the word count is capped too; within the caps the search is exact and quick."""
    comments, users, frame = many_comments
    with pytest.raises(ConfigError, match=r"^the word search has 21 words; type at most 20$"):
        WordSearch(comments, users).matches(" ".join(f"w{i}" for i in range(21)))
    assert WordSearch(comments, users).matches("crema " * 33).sum() > 0  # one distinct word, repeated
    words = ["the", *"aeionrstlucdhmpgwyk"]  # twenty distinct words that some comments hold all of
    found = WordSearch(comments, users).matches(" ".join(words))
    texts = frame["text"].str.casefold()
    wrote_all = set(frame.loc[texts.map(lambda t: all(w in t for w in words)), "user_id"])
    assert set(users[found]) == wrote_all and 0 < len(wrote_all) < len(users)


def test_the_segment_page_shows_the_message_for_a_huge_word_search_and_still_draws_the_map():
    """Issue 18, case 5: through the page, the search box of the map."""
    at = run_segmentation(start())
    at.text_input(key="map_words").set_value("coffee " * 150_000).run()
    assert not at.exception, at.exception
    assert [unescape_markdown(e.value) for e in at.error] == [
        "the word search is 1,050,000 characters long; type at most 200"
    ]
    assert at.get("plotly_chart")  # the map is still there, with no search applied


def test_the_segment_page_refuses_a_pasted_book_as_a_meaning_search_and_still_draws_the_map():
    """Issue 18, case 5 (the box beside it): a meaning search is encoded by the run's encoder, so it is capped too."""
    at = run_segmentation(start())
    at.text_input(key="map_meaning").set_value("arrived broken " * 40_000).run()
    assert not at.exception, at.exception
    assert [unescape_markdown(e.value) for e in at.error] == [
        "the meaning search is 599,999 characters long; type at most 500"
    ]
    assert at.get("plotly_chart")
