"""The command line, run as users run it: a subprocess, files in, files and exit codes out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from fixtures import labelled_comments

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, workspace: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "SEGMENT_STUDIO_HOME": str(workspace), "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "segmentation", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )


def assert_one_line_error(proc: subprocess.CompletedProcess, *fragments: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture
def labelled_csv(tmp_path: Path) -> Path:
    path = tmp_path / "labelled.csv"
    labelled_comments().to_csv(path, index=False)
    return path


@pytest.mark.slow  # the CLI fits UMAP for the map in a subprocess
def test_segment_writes_assignments_segments_and_run(labelled_csv, tmp_path, workspace):
    out = tmp_path / "out"
    proc = run_cli("segment", str(labelled_csv), "--out", str(out), "--encoder", "tfidf", "--k", "4",
                   workspace=workspace)
    assert proc.returncode == 0, proc.stderr
    assignments = pd.read_csv(out / "assignments.csv", dtype={"user_id": str})
    assert list(assignments.columns) == ["user_id", "segment", "segment_name", "x", "y", "n_comments", "confidence",
                                        "between", "weight", "segment_2", "weight_2", "segment_3", "weight_3"]
    assert len(assignments) == 60 and set(assignments["segment"]) == {0, 1, 2, 3}
    written = labelled_comments().drop_duplicates(["user_id", "text"])  # exact duplicates are dropped
    counts = written.groupby("user_id").size()
    assert (assignments.set_index("user_id")["n_comments"] == counts.loc[assignments["user_id"]].values).all()
    segments = json.loads((out / "segments.json").read_text(encoding="utf-8"))
    assert [s["id"] for s in segments] == [0, 1, 2, 3]
    assert {"id", "name", "size", "keywords", "representative_comments"} <= set(segments[0])
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["config"]["k"] == 4 and run["config"]["encoder"] == "tfidf"
    assert {"silhouette", "calinski_harabasz", "davies_bouldin", "n_segments", "n_noise"} <= set(run["metrics"])
    assert run["metrics"]["n_segments"] == 4
    assert run["timings"]["encode"] >= 0 and "scikit-learn" in run["versions"]
    assert "encode" in proc.stderr  # progress goes to stderr
    # The folder names its run, so `assign --run` needs nothing read off stderr.
    from importlib import metadata

    from segmentation.pipeline.config import PIPELINE_VERSION

    assert run["pipeline_version"] == PIPELINE_VERSION
    assert run["package_version"] == metadata.version("segment-studio")
    assert run["run_id"] in proc.stderr
    shown = run_cli("runs", "show", run["run_id"], workspace=workspace)
    assert shown.returncode == 0 and json.loads(shown.stdout)["config"]["k"] == 4


@pytest.mark.slow  # the CLI fits UMAP for the map in a subprocess
def test_segment_on_real_recipe_reviews_with_items_and_ratings(recipes_dir, tmp_path, workspace):
    out = tmp_path / "out"
    proc = run_cli("segment", str(recipes_dir / "recipe_reviews_users_ge2.csv.gz"), "--out", str(out),
                   "--encoder", "tfidf", "--k", "6", workspace=workspace)
    assert proc.returncode == 0, proc.stderr
    assignments = pd.read_csv(out / "assignments.csv")
    assert len(assignments) == 2112
    segments = json.loads((out / "segments.json").read_text(encoding="utf-8"))
    assert len(segments) == 6
    assert all("top_items" in s and "mean_rating" in s for s in segments)
    assert not any("&#39;" in c for s in segments for c in s["representative_comments"])


def test_missing_text_column_names_the_columns_found(tmp_path, workspace):
    path = tmp_path / "no_text.csv"
    pd.DataFrame({"user_id": ["a", "b"], "stars": [4, 5]}).to_csv(path, index=False)
    proc = run_cli("segment", str(path), "--out", str(tmp_path / "out"), "--encoder", "tfidf", workspace=workspace)
    assert_one_line_error(proc, "no_text.csv", "user_id", "--text-col NAME")


def test_text_column_override_to_a_missing_column_is_refused(labelled_csv, tmp_path, workspace):
    proc = run_cli("segment", str(labelled_csv), "--out", str(tmp_path / "out"), "--text-col", "review_body",
                   "--encoder", "tfidf", workspace=workspace)
    assert_one_line_error(proc, "review_body")


def test_empty_file_is_refused(tmp_path, workspace):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    proc = run_cli("segment", str(path), "--out", str(tmp_path / "out"), "--encoder", "tfidf", workspace=workspace)
    assert_one_line_error(proc, "empty.csv")


def test_binary_file_is_refused_as_not_text(tmp_path, workspace):
    path = tmp_path / "photo.csv"
    path.write_bytes(bytes(range(256)) * 64)
    proc = run_cli("segment", str(path), "--out", str(tmp_path / "out"), "--encoder", "tfidf", workspace=workspace)
    assert_one_line_error(proc, "photo.csv")


def test_k_larger_than_the_users_is_refused(labelled_csv, tmp_path, workspace):
    proc = run_cli("segment", str(labelled_csv), "--out", str(tmp_path / "out"), "--encoder", "tfidf",
                   "--k", "100", workspace=workspace)
    assert_one_line_error(proc, "k=100", "60 users")


def test_a_file_with_one_user_is_refused(tmp_path, workspace):
    path = tmp_path / "one_user.csv"
    pd.DataFrame({"user_id": ["u1"] * 3, "text": ["good coffee", "bad tea", "fine mug"]}).to_csv(path, index=False)
    proc = run_cli("segment", str(path), "--out", str(tmp_path / "out"), "--encoder", "tfidf", workspace=workspace)
    assert_one_line_error(proc, "1 user", "at least 2")


def test_missing_input_file_is_refused(tmp_path, workspace):
    proc = run_cli("segment", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "out"), workspace=workspace)
    assert_one_line_error(proc, "nope.csv")


def test_unknown_encoder_lists_the_known_ones(labelled_csv, tmp_path, workspace):
    proc = run_cli("segment", str(labelled_csv), "--out", str(tmp_path / "out"), "--encoder", "word2vec",
                   workspace=workspace)
    assert_one_line_error(proc, "word2vec", "tfidf")


@pytest.fixture
def demo_csv() -> Path:
    from segmentation.demo import DEMO_PATH

    return DEMO_PATH


def test_evaluate_writes_every_method_and_segment(demo_csv, tmp_path, workspace):
    out = tmp_path / "out"
    proc = run_cli("evaluate", str(demo_csv), "--out", str(out), "--encoder", "tfidf", "--k", "6", "--top-n", "10",
                   workspace=workspace)
    assert proc.returncode == 0, proc.stderr
    record = json.loads((out / "evaluation.json").read_text(encoding="utf-8"))
    from segmentation.recommend.base import item_recommenders

    assert set(record["methods"]) == set(item_recommenders())
    assert record["answer"]["sentence"].startswith(("Yes:", "No:"))
    for values in record["methods"].values():
        assert {"hit_rate", "ndcg", "mrr", "coverage"} <= set(values)
    assert len(record["per_segment"]) == 6 and record["n_users_evaluated"] > 400
    assert {"segment", "name", "users"} <= set(record["per_segment"][0])
    # The generated tastes decide what users buy, so segments must beat popularity here.
    assert record["methods"]["segment_knn"]["ndcg"] > 1.25 * record["methods"]["global_popularity"]["ndcg"]
    assert "segment_knn" in proc.stdout  # the printed table


def test_recommend_prints_the_users_segment_and_reasons(demo_csv, tmp_path, workspace):
    proc = run_cli("recommend", str(demo_csv), "--user", "u00001", "--top-n", "5", "--encoder", "tfidf", "--k", "6",
                   workspace=workspace)
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    assert payload["user_id"] == "u00001" and payload["segment"] in range(6)
    seen = set(pd.read_csv(demo_csv, dtype=str).query("user_id == 'u00001'")["item_id"])
    items = [r["item_id"] for r in payload["recommendations"]]
    assert len(items) == 5 and not seen & set(items)
    assert all(r["reason"] for r in payload["recommendations"])


def test_recommend_for_an_unknown_user_suggests_the_close_ids(demo_csv, tmp_path, workspace):
    proc = run_cli("recommend", str(demo_csv), "--user", "U00001", "--encoder", "tfidf", workspace=workspace)
    assert_one_line_error(proc, "'U00001' is not in the data", "'u00001'")


def test_unreachable_embedding_endpoint_is_one_line_naming_the_url(labelled_csv, tmp_path, workspace, monkeypatch):
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("SEGMENT_STUDIO_OPENAI_BASE_URL", f"http://127.0.0.1:{port}/v1")
    monkeypatch.setenv("SEGMENT_STUDIO_OPENAI_MAX_RETRIES", "0")
    proc = run_cli("segment", str(labelled_csv), "--out", str(tmp_path / "out"), "--encoder", "openai:embed",
                   workspace=workspace)
    assert proc.returncode == 2, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and f"127.0.0.1:{port}" in last and "Traceback" not in proc.stderr


# -- hostile arguments and environments: every one is one line and exit 2, found before any work ----------


def _cli(args: list[str], home: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "SEGMENT_STUDIO_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "segmentation", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def hostile_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess]:
    """Every hostile case run at once (each start imports the library), keyed by case name."""
    from concurrent.futures import ThreadPoolExecutor

    base = tmp_path_factory.mktemp("hostile")
    data = base / "labelled.csv"
    labelled_comments().to_csv(data, index=False)
    home = base / "home"
    a_file = base / "a_file"
    a_file.write_text("not a folder")
    fifo = base / "fifo.csv"
    os.mkfifo(fifo)
    seg = ["segment", str(data), "--encoder", "tfidf", "--k", "3"]
    cases = {
        "unknown_option": (["segment", str(data), "--out", str(base / "o"), "--colour", "red"], home),
        "no_command": ([], home),
        "k_not_a_number": ([*seg[:-1], "three", "--out", str(base / "o")], home),
        "seed_negative": ([*seg, "--seed", "-1", "--out", str(base / "o")], home),
        "seed_too_big": ([*seg, "--seed", str(2**64), "--out", str(base / "o")], home),
        "k_max_huge": ([*seg[:-2], "--k-max", "100000", "--out", str(base / "o")], home),
        "top_n_negative": (["recommend", str(data), "--user", "u0", "--top-n", "-5", "--encoder", "tfidf"], home),
        "top_n_huge": (["recommend", str(data), "--user", "u0", "--top-n", str(10**12), "--encoder", "tfidf"], home),
        "out_under_a_file": ([*seg, "--out", str(a_file / "out")], home),
        "out_name_too_long": ([*seg, "--out", str(base / ("x" * 300))], home),
        "out_read_only": ([*seg, "--out", "/proc/segment-out"], home),
        "home_is_a_file": ([*seg, "--out", str(base / "o2")], a_file),
        "home_read_only": ([*seg, "--out", str(base / "o3")], Path("/proc/segment-home")),
        "input_dev_zero": (["segment", "/dev/zero", "--out", str(base / "o4"), "--encoder", "tfidf"], home),
        "input_fifo": (["segment", str(fifo), "--out", str(base / "o5"), "--encoder", "tfidf"], home),
        "demo_bad_seed": (["demo", "--out", str(base / "d.csv"), "--seed", "-3"], home),
    }
    with ThreadPoolExecutor(max_workers=4) as pool:
        runs = pool.map(lambda case: _cli(*case, timeout=120), cases.values())
        return dict(zip(cases, runs, strict=True))


@pytest.mark.parametrize(
    ("case", "fragments"),
    [
        ("unknown_option", ["error: unrecognized arguments: --colour red"]),
        ("no_command", ["error: the following arguments are required: command"]),
        ("k_not_a_number", ["--k must be a whole number or 'auto', not 'three'"]),
        ("seed_negative", ["seed=-1 is not allowed: seed must be a whole number in [0, 4,294,967,295]"]),
        ("seed_too_big", [f"seed={2**64} is not allowed"]),
        ("k_max_huge", ["k_max=100000 is not allowed: k_max must be a whole number in [2, 100]"]),
        ("top_n_negative", ["top_n=-5 is not allowed: top_n must be a whole number in [1, 1,000]"]),
        ("top_n_huge", [f"top_n={10**12} is not allowed"]),
        ("out_under_a_file", ["cannot write to --out", "a part of it is a file, not a folder"]),
        ("out_name_too_long", ["cannot write to --out", "the name is too long"]),
        ("out_read_only", ["cannot write to --out /proc/segment-out"]),
        ("home_is_a_file", ["is a file, not a folder; set SEGMENT_STUDIO_HOME to a folder"]),
        ("home_read_only", ["cannot create the workspace folder /proc/segment-home", "SEGMENT_STUDIO_HOME"]),
        ("input_dev_zero", ["/dev/zero is not a regular file"]),
        ("input_fifo", ["fifo.csv is not a regular file (a device, pipe or socket)"]),
        ("demo_bad_seed", ["seed=-3 is not allowed"]),
    ],
)
def test_a_hostile_argument_or_environment_is_one_line_and_exit_2_before_any_work(
    hostile_runs, case: str, fragments: list[str]
) -> None:
    proc = hostile_runs[case]
    assert_one_line_error(proc, *fragments)
    # Refused before loading or encoding: no progress line ever came first.
    assert "encode" not in proc.stderr and proc.stdout == ""


def test_numeric_ids_come_back_exactly_and_a_corrupt_embedding_cache_is_rebuilt(tmp_path, workspace):
    frame = labelled_comments()
    ids = {u: (f"-{i + 1}" if i % 2 else f"{i:03d}") for i, u in enumerate(frame["user_id"].unique())}
    frame = frame.assign(user_id=frame["user_id"].map(ids))
    data = tmp_path / "numeric_ids.csv"
    frame.to_csv(data, index=False)
    workspace.mkdir(parents=True)
    (workspace / "embeddings.sqlite").write_bytes(b"this is not a database" * 100)
    out = tmp_path / "out"
    proc = run_cli("segment", str(data), "--out", str(out), "--encoder", "tfidf", "--k", "3", workspace=workspace)
    assert proc.returncode == 0, proc.stderr
    assignments = pd.read_csv(out / "assignments.csv", dtype={"user_id": str}, encoding="utf-8-sig")
    assert sorted(assignments["user_id"]) == sorted(ids.values())  # "-1" stays "-1", "007" stays "007"
    backups = list(workspace.glob("embeddings.sqlite.corrupt-*"))
    assert len(backups) == 1 and backups[0].read_bytes().startswith(b"this is not a database")
    assert "embedding cache" in proc.stderr and "rebuilt" in proc.stderr
    assert not list(out.glob(".writing-*"))  # the staging folder is gone once the files are in place


def test_demo_out_to_a_folder_writes_the_demo_inside_it(tmp_path, workspace):
    folder = tmp_path / "demo_folder"
    folder.mkdir()
    proc = run_cli("demo", "--out", str(folder), "--users", "40", workspace=workspace)
    assert proc.returncode == 0, proc.stderr
    written = folder / "demo_comments.csv"
    assert pd.read_csv(written)["user_id"].nunique() == 40
    assert str(written) in proc.stderr


# -- the CLI reaches every run parameter, and refuses what cannot fit before any comment is encoded ------


def _parsed_config(*args: str):
    from segmentation.cli import _config, build_parser

    return _config(build_parser().parse_args(["segment", "in.csv", "--out", "out", *args]))


def test_every_config_parameter_has_a_flag_derived_from_its_name() -> None:
    from dataclasses import fields

    from segmentation.cli import build_parser
    from segmentation.pipeline.config import SegmentConfig

    segment = build_parser()._subparsers._group_actions[0].choices["segment"]
    flags = {flag for action in segment._actions for flag in action.option_strings}
    names = [f.name for f in fields(SegmentConfig) if f.name != "extra"]
    assert {"--" + name.replace("_", "-") for name in names} <= flags


def test_hdbscan_settings_reach_the_config_from_the_command_line() -> None:
    config = _parsed_config("--algorithm", "hdbscan", "--min-cluster-size", "auto", "--min-samples", "3",
                            "--cluster-selection", "leaf", "--noise", "nearest")
    assert (config.min_cluster_size, config.min_samples, config.cluster_selection, config.noise) == (
        "auto", 3, "leaf", "nearest")


def test_the_common_settings_reach_the_config_and_unset_flags_keep_its_defaults() -> None:
    from segmentation.pipeline.config import SegmentConfig

    config = _parsed_config("--k", "4", "--k-min", "4", "--k-max", "9", "--n-components", "7",
                            "--attribute-weight", "0.25", "--attributes", "plan, age", "--half-life-days", "30")
    assert (config.k, config.k_min, config.k_max, config.n_components, config.attribute_weight) == (4, 4, 9, 7, 0.25)
    assert config.attributes == ("plan", "age") and config.half_life_days == 30.0
    defaults = _parsed_config()
    assert defaults == SegmentConfig()  # the app's defaults: the same file gives the same segments in both


def test_a_flag_that_cannot_be_read_says_what_it_takes(capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        _parsed_config("--min-samples", "few")
    assert stop.value.code == 2
    assert "--min-samples must be a whole number, not 'few'" in capsys.readouterr().err


@pytest.fixture
def attribute_csv(tmp_path: Path) -> Path:
    frame = labelled_comments()
    frame["mood"] = ["happy", "sad", "calm"] * (len(frame) // 3)  # changes between one user's comments
    path = tmp_path / "attributes.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("extra", "fragments"),
    [
        (["--k", "100"], ["k=100", "60 users"]),
        (["--attributes", "plan"], ["attribute column 'plan' is not in the data"]),
        (["--attributes", "mood"], ["attribute column 'mood' takes more than one value"]),
        (["--half-life-days", "30"], ["recency weighting (half_life_days) needs a time column"]),
    ],
    ids=["k_too_large", "attribute_missing", "attribute_many_valued", "recency_without_time"],
)
def test_a_setting_the_data_cannot_fit_is_refused_before_any_comment_is_encoded(
    attribute_csv, tmp_path, workspace, extra, fragments
) -> None:
    proc = run_cli("segment", str(attribute_csv), "--out", str(tmp_path / "out"), "--encoder", "tfidf", *extra,
                   workspace=workspace)
    assert_one_line_error(proc, *fragments)  # one line: no progress line came first


# Prints, as the process ends, which of the clustering's heavy libraries it imported.
IMPORTED_AT_EXIT = (
    "import atexit, sys\n"
    "atexit.register(lambda: print(sorted({name.split('.')[0] for name in sys.modules} & {'sklearn', 'umap', "
    "'hdbscan'})))\n"
    "from segmentation.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


@pytest.mark.parametrize(
    ("command", "refusal"),
    [
        ("segment", ["--k", "three"]),  # by argparse, from the declarations
        ("segment", ["--out", "{a_file}/out"]),  # before any work
        ("segment", ["--text-col", "review_body"]),  # by the loader, the file read
        ("evaluate", ["{empty}"]),  # by the loader, the file empty
        ("recommend", ["{absent}", "--user", "u0"]),  # no such file
    ],
)
def test_a_refused_run_never_imports_the_clustering(command, refusal, labelled_csv, tmp_path, workspace):
    """A refusal needs no clustering: it is one line and exit 2 without importing scikit-learn (about 1 CPU s a
    start, which every refused run of the suite used to pay)."""
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "a_file").write_text("not a folder")
    paths = {"a_file": tmp_path / "a_file", "empty": tmp_path / "empty.csv", "absent": tmp_path / "absent.csv"}
    args = [part.format(**paths) for part in refusal]
    if not args[0].startswith(str(tmp_path)):
        args.insert(0, str(labelled_csv))
    if command != "recommend" and "--out" not in args:
        args += ["--out", str(tmp_path / "out")]
    env = {**os.environ, "SEGMENT_STUDIO_HOME": str(workspace), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-c", IMPORTED_AT_EXIT, command, *args, "--encoder", "tfidf"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    assert_one_line_error(proc)
    assert proc.stdout.splitlines()[-1] == "[]", proc.stdout
