"""The Ray engine in local mode on ~20k generated comments: same segments as the local engine, the run
folder's schema, the embedding store, bad parts, and a worker killed mid-encode.

One Ray session (2 CPUs) and one reference run are shared by the module: Ray's start-up, its workers'
start-up and the fast encoder's distillation (once, kept in pytest's cache) dominate, not the data. Every
test that starts Ray is marked slow: the fast encoder is distilled from MiniLM and the map runs UMAP.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ray = pytest.importorskip("ray", reason="the Ray engine needs ray (pip install -r requirements-ray.txt)")

from segmentation.cli import main  # noqa: E402
from segmentation.demo import generate_demo  # noqa: E402
from segmentation.embed.cache import text_key  # noqa: E402
from segmentation.ingest.io import load_comments  # noqa: E402
from segmentation.pipeline.config import SegmentConfig  # noqa: E402
from segmentation.pipeline.segment import cluster_prepared, prepare  # noqa: E402
from segmentation.scale import store  # noqa: E402
from segmentation.scale.engine import ScaleConfig, run  # noqa: E402

CONFIG = SegmentConfig(encoder="fast", algorithm="kmeans", k=6, seed=0)
N_PARTS = 4


@pytest.fixture(scope="module")
def home(fast_home: Path) -> Path:
    """A workspace shared by the module, holding the fast encoder distilled once (``conftest.fast_home``)."""
    return fast_home


@pytest.fixture(scope="module")
def ray_session(home: Path):
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        logging_level=logging.ERROR,
        runtime_env={"env_vars": {"SEGMENT_STUDIO_HOME": str(home), "HF_HUB_OFFLINE": "1"}},
    )
    yield
    ray.shutdown()


@pytest.fixture(autouse=True)
def shared_home(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEGMENT_STUDIO_HOME", str(home))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The generated demo reviews (~20k comments, 4,000 users): one CSV and the same rows in Parquet parts."""
    folder = tmp_path_factory.mktemp("demo")
    table = generate_demo(0, n_users=4000)
    table.to_csv(folder / "reviews.csv", index=False)
    parts = folder / "parts"
    parts.mkdir()
    bounds = np.linspace(0, len(table), N_PARTS + 1).astype(int)
    for i in range(N_PARTS):
        table.iloc[bounds[i] : bounds[i + 1]].to_parquet(parts / f"part-{i}.parquet", index=False)
    return {"csv": folder / "reviews.csv", "parts": parts, "n_comments": len(table)}


def _run(source: Path, out: Path, store_dir: Path, **scale) -> object:
    options = {"fit_sample": 1_000_000, "map_sample": 300, "store": store_dir, **scale}
    return run(source, out, CONFIG, ScaleConfig(**options), report=lambda line: None)


def _encode_workers() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"EncodeBucket" in cmdline and b"ray::" in cmdline:
                pids.append(int(entry.name))
    return pids


@pytest.fixture(scope="module")
def reference(ray_session, demo, tmp_path_factory):
    """One Ray run over the Parquet parts with a fresh store, its fit sample covering every user, during
    which the encoder actor is killed (SIGKILL) as soon as it has stored its first bucket."""
    root = tmp_path_factory.mktemp("reference")
    fresh_store = root / "store"
    killed: list[int] = []

    def kill_once_encoding_started() -> None:
        deadline = time.monotonic() + 1800
        while time.monotonic() < deadline and not killed:
            workers = _encode_workers()
            if workers and list(fresh_store.glob("*/bucket=*/*.parquet")):
                os.kill(workers[0], signal.SIGKILL)
                killed.append(workers[0])
                return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_once_encoding_started, daemon=True)
    killer.start()
    # One actor works through the 256 text buckets, so a kill after its first stored bucket is mid-encode.
    result = _run(demo["parts"], root / "out", fresh_store, encode_concurrency=1)
    killer.join(timeout=5)
    return {"result": result, "out": root / "out", "store": fresh_store, "killed": killed}


def _assignments(out: Path) -> pd.DataFrame:
    frame = pd.read_parquet(out / "assignments")
    frame["segment"] = frame["segment"].astype(int)
    return frame.sort_values("user_id").reset_index(drop=True)


@pytest.mark.slow
def test_assignments_agree_with_the_local_engine(reference, demo):
    from sklearn.metrics import adjusted_rand_score

    comments = load_comments(demo["csv"])
    local = cluster_prepared(prepare(comments, CONFIG, with_map=False), CONFIG)
    ours = _assignments(reference["out"])
    theirs = local.assignments.sort_values("user_id").reset_index(drop=True)
    assert ours["user_id"].tolist() == theirs["user_id"].tolist()
    assert adjusted_rand_score(theirs["segment"], ours["segment"]) >= 0.99
    assert (ours["n_comments"].to_numpy() == theirs["n_comments"].to_numpy()).all()
    # Segments are numbered by size in both engines, so the same segment has the same id.
    local_keywords = {s.id: s.keywords for s in local.segments}
    ray_keywords = {s["id"]: s["keywords"] for s in json.loads((reference["out"] / "segments.json").read_text())}
    assert ray_keywords == local_keywords
    assert {s["id"]: s["size"] for s in json.loads((reference["out"] / "segments.json").read_text())} == {
        s.id: s.size for s in local.segments
    }


@pytest.mark.slow
def test_run_folder_has_the_local_schema_the_map_sample_and_the_run_record(reference, demo):
    out = reference["out"]
    frame = _assignments(out)
    assert set(frame.columns) == {"user_id", "segment", "segment_name", "confidence", "n_comments", "x", "y"}
    assert len(frame) == 4000 and frame["user_id"].is_unique
    assert frame["n_comments"].sum() == demo["n_comments"]
    mapped = frame["x"].notna()
    assert 200 <= mapped.sum() <= 400  # a uniform sample of about 300 users
    assert frame.loc[mapped, "y"].notna().all() and frame.loc[~mapped, "y"].isna().all()
    assert frame["confidence"].between(0, 1).all()
    segments = json.loads((out / "segments.json").read_text())
    assert sum(s["size"] for s in segments) == 4000
    names = dict(zip(frame["segment"], frame["segment_name"], strict=True))
    assert names == {s["id"]: s["name"] for s in segments}
    record = json.loads((out / "run.json").read_text())
    assert record["versions"]["ray"] == ray.__version__
    assert record["cluster_resources"]["CPU"] == 2
    assert set(record["timings"]) >= {"read", "encode", "profile", "fit", "assign", "describe", "map", "write"}
    assert record["n_comments"] == demo["n_comments"] and record["n_mapped_users"] == mapped.sum()
    from segmentation.pipeline.config import PIPELINE_VERSION

    assert record["pipeline_version"] == PIPELINE_VERSION and record["package_version"] == record["versions"][
        "segmentation"]
    assert record["run_id"].startswith("ray-") and len(record["run_id"]) == 28
    # Scored by the local engine's cluster stage: the resample stability comes with the silhouette.
    assert 0 <= record["metrics"]["stability"] <= 1 and 0 <= record["metrics"]["moved_share"] <= 1
    assert isinstance(record["warnings"], list)


@pytest.mark.slow
def test_rerun_with_a_grown_input_encodes_only_the_new_texts(reference, demo, tmp_path):
    grown = tmp_path / "grown"
    grown.mkdir()
    for part in demo["parts"].iterdir():
        (grown / part.name).write_bytes(part.read_bytes())
    extra = generate_demo(7, n_users=300)
    extra["user_id"] = "new-" + extra["user_id"]
    extra.to_parquet(grown / "part-extra.parquet", index=False)
    # New texts as the local engine reads and cleans them, by the embedding cache's key.
    old_texts = set(load_comments(demo["csv"]).frame["text"].map(text_key))
    new_texts = set(load_comments(grown / "part-extra.parquet").frame["text"].map(text_key)) - old_texts
    # A copy of the reference run's store: the killed-worker test counts what that run stored.
    grown_store = tmp_path / "store"
    shutil.copytree(reference["store"], grown_store)
    before = store.count(grown_store, "fast")

    result = _run(grown, tmp_path / "out", grown_store, map_sample=0)

    assert result.n_users == 4300
    assert store.count(grown_store, "fast") - before == len(new_texts) > 0
    record = json.loads((tmp_path / "out" / "run.json").read_text())
    assert record["n_encoded"] == len(new_texts)


@pytest.mark.slow
def test_an_encoder_killed_mid_encode_is_retried_and_the_output_is_complete(reference, demo):
    """The reference run lost its encoder actor after the first stored bucket; Ray restarted it and retried
    the bucket: every text is in the store once at least, every user is assigned, and the agreement with
    the local engine (the test above) holds for this very run."""
    assert reference["killed"], "no encode actor was found to kill while encoding"
    comments = load_comments(demo["csv"])
    distinct = comments.frame["text"].nunique()
    hashes = set()
    for part in Path(reference["store"]).glob("*/bucket=*/*.parquet"):
        hashes.update(pd.read_parquet(part, columns=["text_hash"])["text_hash"])
    assert len(hashes) == distinct
    assert len(_assignments(reference["out"])) == comments.n_users


@pytest.mark.slow
@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("broken_encoding", "part-bad.csv is not a text table"),
        ("missing_column", "part-bad.csv: column 'text' (chosen as text column) is not in the file"),
        ("empty", "part-bad.csv is empty"),
    ],
)
def test_a_bad_part_exits_2_with_one_line_naming_it(ray_session, demo, tmp_path, capsys, case, message):
    parts = tmp_path / "parts"
    parts.mkdir()
    good = pd.read_parquet(demo["parts"] / "part-0.parquet").head(200)
    good.to_csv(parts / "part-a.csv", index=False)
    bad = parts / "part-bad.csv"
    if case == "broken_encoding":
        # A UTF-16 byte-order mark, then an odd number of bytes: no UTF-16 text ends like that.
        bad.write_bytes(b"\xff\xfe" + "user_id,text\nu1,good\n".encode("utf-16-le") + b"\x00\xd8\x41")
    elif case == "missing_column":
        good.drop(columns=["text"]).to_csv(bad, index=False)
    else:
        bad.write_bytes(b"")

    code = main(["segment", str(parts), "--engine", "ray", "--encoder", "fast", "--k", "2",
                 "--out", str(tmp_path / "out"), "--map-sample", "0"])

    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]
    assert not (tmp_path / "out" / "assignments").exists()


def test_an_encoder_fitted_on_the_corpus_is_refused_before_ray_starts(tmp_path, capsys, demo):
    code = main(["segment", str(demo["csv"]), "--engine", "ray", "--encoder", "tfidf", "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "fitted on the whole corpus" in err[0]


@pytest.mark.slow
def test_the_app_opens_the_run_folder_with_full_counts_names_and_the_sample_map(reference, monkeypatch):
    from segmentation.core.paths import ALLOWED_ROOTS_ENV
    from tests.pages_helpers import array, figure, metric, start

    # The run was written outside the test's workspace: the operator allows its folder.
    monkeypatch.setenv(ALLOWED_ROOTS_ENV, str(reference["out"]))
    at = start()
    at.radio(key="data_choice").set_value("run").run()
    at.text_input(key="run_folder_path").set_value(str(reference["out"])).run()
    next(b for b in at.button if b.label == "Open").click().run()
    assert not at.exception, at.exception
    assert metric(at, "Users") == "4,000"
    mapped = _assignments(reference["out"])["x"].notna().sum()
    spec = figure(at, f"A uniform sample of {mapped:,} of 4,000 users")
    assert sum(len(array(trace["x"])) for trace in spec["data"]) == mapped

    at.switch_page("pages/segments.py").run()
    assert not at.exception, at.exception
    segments = json.loads((reference["out"] / "segments.json").read_text())
    shown = sorted(int(m.value.replace(",", "")) for m in at.metric if m.label == "Users")
    assert shown == sorted(s["size"] for s in segments)
    name_box = next(t for t in at.text_input if t.label == "Name")
    name_box.set_value("Coffee people").run()
    assert not at.exception, at.exception
    assert "Coffee people" in [t.value for t in at.text_input if t.label == "Name"]
    assert len([b for b in at.get("download_button")]) == 4
