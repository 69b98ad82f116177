"""The report's last two sections (issue 23 item 6): the segments over time, and the recommendation answer kept
from an evaluation of the run's data and settings, in the library, from the command line and safe to open."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

from segmentation.cli import main
from segmentation.demo import generate_demo
from segmentation.ingest.io import load_comments
from segmentation.pipeline.config import SegmentConfig
from segmentation.present.over_time import change_sentence
from segmentation.present.report import NOT_EVALUATED, over_time_of, run_report
from segmentation.runs.service import kept_evaluation, run_and_save
from segmentation.runs.workspace import Workspace
from tests.test_report import parsed

pytestmark = pytest.mark.slow  # a run lays out its map with UMAP; an evaluation fits every recommender
HOSTILE_NAME = "<script>alert('name')</script>"
NOT_KEPT = html.escape(NOT_EVALUATED, quote=True)  # as the page writes it
CONFIG = SegmentConfig(encoder="tfidf", k=4)
DEMO_USERS = 300  # the demo's shape (items, ratings, times over months) at a size that evaluates in seconds


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "reviews.csv"
    generate_demo(0, n_users=DEMO_USERS).to_csv(path, index=False)
    return path


def plot_spec(document: str, element_id: str) -> dict:
    """The figure drawn into ``element_id``, read back from its inline script."""
    script = next(s for s in parsed(document).scripts if f"Plotly.newPlot('{element_id}'" in s)
    return json.loads(re.search(r"var f=(\{.*\});Plotly\.newPlot", script, re.S).group(1))


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory, demo_file: Path):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SEGMENT_STUDIO_HOME", str(tmp_path_factory.mktemp("home")))
        comments = load_comments(demo_file)
        workspace = Workspace()
        run = run_and_save(comments, CONFIG, workspace=workspace)
        workspace.save_name(run.run_key, 0, HOSTILE_NAME)
        yield comments, workspace, run


def test_the_report_follows_the_segments_over_time_with_names_kept_inert(demo_run):
    comments, workspace, run = demo_run
    found = over_time_of(run.run_key, comments, workspace)
    document = run_report(run.run_key, workspace, over_time=found)
    assert "<h2>Segments over time</h2>" in document
    names = {segment: name.name for segment, name in workspace.names(run.run_key).items()}
    labels = {s.id: names.get(s.id, s.name) for s in run.result.segments}
    sentence = change_sentence(found, labels)
    assert html.escape(sentence, quote=True) in document
    figure = plot_spec(document, "over-time")
    assert len(figure["data"]) == len(run.result.segments)  # one line per segment
    assert [len(trace["x"]) for trace in figure["data"]] == [len(found.periods)] * len(run.result.segments)
    assert HOSTILE_NAME not in document  # the typed name is escaped in the legend as everywhere else
    assert any("&lt;script&gt;" in trace["name"] for trace in figure["data"])
    without = run_report(run.run_key, workspace)
    assert "needs the comments the run was made on, with their times" in without


def test_an_evaluation_from_the_command_line_is_kept_and_is_the_reports_answer(tmp_path: Path, demo_file: Path,
                                                                               capsys):
    demo = str(demo_file)
    assert main(["segment", demo, "--encoder", "tfidf", "--k", "4", "--out", str(tmp_path / "run")]) == 0
    key = json.loads((tmp_path / "run" / "run.json").read_text())["run_id"]
    out = tmp_path / "report.html"
    assert main(["report", "--run", key, "--out", str(out)]) == 0
    assert NOT_KEPT in out.read_text(encoding="utf-8")
    capsys.readouterr()

    assert main(["evaluate", demo, "--encoder", "tfidf", "--k", "4", "--out", str(tmp_path / "eval")]) == 0
    printed = capsys.readouterr()
    assert f"report of run {key}" in printed.err
    kept = kept_evaluation(key)
    assert kept["answer"]["sentence"] == printed.out.splitlines()[0]  # the answer the command printed
    assert main(["report", "--run", key, "--input", demo, "--out", str(out)]) == 0
    document = out.read_text(encoding="utf-8")
    assert NOT_KEPT not in document and "How this was measured" in document
    assert html.escape(kept["answer"]["sentence"], quote=True) in document
    for method in kept["methods"].values():  # every method's NDCG, as the Recommend page's table has it
        assert f"{method['ndcg']:.3f}" in document
    assert plot_spec(document, "over-time")["data"]  # with the comments, the times are in it too

    # A damaged evaluation file is said in the report; the rest of the report is still there.
    (Workspace().runs_folder / f"{key}.evaluation.json").write_text("{not json", encoding="utf-8")
    assert main(["report", "--run", key, "--out", str(out)]) == 0
    damaged = out.read_text(encoding="utf-8")
    assert "unreadable" in damaged and "<h2>Quality</h2>" in damaged
