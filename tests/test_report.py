"""The shareable report: every untrusted text comes out inert, nothing is loaded from the network, the run's map,
names, quality, cards and behaviour are in it, and a run saved before the workspace kept descriptions says
what it lacks."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from fixtures import labelled_comments

from segmentation.core.errors import ConfigError
from segmentation.ingest.io import from_frame
from segmentation.pipeline.config import SegmentConfig
from segmentation.present.report import behaviour_of, latest_run_key, run_report, save_report
from segmentation.runs.edits import EditLog, merge_edit
from segmentation.runs.service import run_and_save
from segmentation.runs.workspace import Workspace
from tests.pages_helpers import array

pytestmark = pytest.mark.slow  # every run here lays out its map with UMAP

SCRIPT = "<script>alert(1)</script>"
IMAGE = "<img src=http://x onerror=alert(2)>"
HOSTILE_USER = "<img src=x onerror=alert(3)>"
HOSTILE_NAME = "<script>alert('name')</script>"
HOSTILE_DESCRIPTION = '"><iframe src="https://example.com/x"></iframe>'
HOSTILE_SOURCE = "reviews<script>alert('file')</script>.csv"


class Tags(HTMLParser):
    """Every start tag of a document with its attributes, and the text of each script."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data


def parsed(document: str) -> Tags:
    tags = Tags()
    tags.feed(document)
    return tags


def map_spec(document: str) -> dict:
    """The map's figure, read back from its inline script (JSON, with ``<``, ``>`` and ``&`` as escapes)."""
    script = parsed(document).scripts[-1]
    found = re.search(r"var f=(\{.*\});Plotly\.newPlot", script, re.S)
    assert found, script[:200]
    return json.loads(found.group(1))


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A run of 60 users in four topics whose every comment ends in a script or an image tag, one user whose
    id is a tag, a file name with a script, and a saved name and description that try to break out."""
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SEGMENT_STUDIO_HOME", str(home))
        frame = labelled_comments()
        # The loader strips tags but decodes entities: written as entities, the tags reach the comments whole.
        frame["text"] = [f"{text} {html.escape(SCRIPT if i % 2 else IMAGE)}" for i, text in enumerate(frame["text"])]
        frame.loc[frame["user_id"] == frame["user_id"].iloc[0], "user_id"] = HOSTILE_USER
        comments = from_frame(frame.drop(columns="true_group"), source=HOSTILE_SOURCE)
        workspace = Workspace()
        run = run_and_save(comments, SegmentConfig(encoder="tfidf", k=4), workspace=workspace)
        workspace.save_name(run.run_key, 0, HOSTILE_NAME, HOSTILE_DESCRIPTION)
        assert any(SCRIPT in c for s in run.result.segments for c in s.representative_comments)
        assert any(IMAGE in c for s in run.result.segments for c in s.representative_comments)
        profile = behaviour_of(run.run_key, comments, workspace)
        yield {"home": home, "workspace": workspace, "run": run, "comments": comments,
               "report": run_report(run.run_key, workspace, behaviour=profile)}


def test_hostile_comments_names_ids_and_file_names_come_out_inert(hostile):
    document = hostile["report"]
    tags = parsed(document)
    # Only the report's own markup: no tag a comment, a name, an id or the file name tried to open.
    assert {tag for tag, _ in tags.tags} <= {
        "html", "head", "meta", "title", "style", "script", "body", "main", "h1", "h2", "h3", "p", "div", "span",
        "strong", "br", "ul", "li", "section", "blockquote", "table", "thead", "tbody", "tr", "th", "td"}
    assert len(tags.scripts) == 2  # plotly.js and the map: no script from the data
    outside_scripts = re.sub(r"<script>.*?</script>", "", document, flags=re.S)
    for raw in (SCRIPT, IMAGE, HOSTILE_USER, HOSTILE_NAME, HOSTILE_DESCRIPTION, HOSTILE_SOURCE, "<iframe"):
        assert raw not in outside_scripts
    # Shown as text, escaped: the comments, the saved name and description, the file's name.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in outside_scripts
    assert "&lt;img src=http://x onerror=alert(2)&gt;" in outside_scripts
    assert "&lt;script&gt;alert(&#x27;name&#x27;)&lt;/script&gt;" in outside_scripts
    assert "&quot;&gt;&lt;iframe src=&quot;https://example.com/x&quot;&gt;&lt;/iframe&gt;" in outside_scripts
    assert "reviews&lt;script&gt;alert(&#x27;file&#x27;)&lt;/script&gt;.csv" in outside_scripts
    # Inside the map's script no text can end the script or open a tag: <, > and & are JSON escapes.
    map_script = tags.scripts[-1]
    assert "<" not in map_script and ">" not in map_script
    spec = map_spec(document)
    hover = [user for trace in spec["data"] for user in trace.get("text", [])]
    assert "&lt;img src=x onerror=alert(3)&gt;" in hover  # escaped for plotly, which renders some tags


def test_nothing_is_loaded_from_the_network_and_a_policy_forbids_it(hostile):
    document = hostile["report"]
    tags = parsed(document)
    addresses = [value for _, attrs in tags.tags for name, value in attrs.items()
                 if name in ("src", "href", "srcset", "action", "poster", "data") and value]
    assert not [a for a in addresses if re.match(r"\s*(https?:)?//", a, re.I)], addresses
    assert not [tag for tag, _ in tags.tags if tag in ("link", "img", "iframe", "object", "embed")]
    policy = next(attrs["content"] for tag, attrs in tags.tags
                  if tag == "meta" and attrs.get("http-equiv") == "Content-Security-Policy")
    assert "default-src 'none'" in policy and "img-src data:" in policy
    assert "connect-src" not in policy  # no exception to 'none' for fetches
    assert "@import" not in re.sub(r"<script>.*?</script>", "", document, flags=re.S)


def test_the_map_draws_every_user_in_the_segment_colours_with_the_names(hostile):
    run, workspace = hostile["run"], hostile["workspace"]
    spec = map_spec(hostile["report"])
    # The segments' traces: the users between segments have a trace of their own, hidden until clicked.
    points = [trace for trace in spec["data"] if trace["type"] == "scatter" and trace.get("visible", True) is True]
    assert sum(len(array(trace["x"])) for trace in points) == len(run.result.user_ids) == 60
    assert {trace["name"] for trace in points} == {
        "&lt;script&gt;alert('name')&lt;/script&gt;", *(s.name for s in run.result.segments if s.id != 0)}
    # SVG, not WebGL: the file must open in any browser, with or without a graphics card.
    assert all(trace["type"] != "scattergl" for trace in spec["data"])
    table = workspace.table(run.run_key).set_index("user_id")
    first = points[0]
    users = [html.unescape(user) for user in first["text"]]
    for axis in ("x", "y"):  # each point where the saved map put its user
        assert np.allclose(array(first[axis]), table.loc[users, axis])


def test_the_names_quality_cards_segment_cards_and_behaviour_are_in_the_report(hostile):
    run, document = hostile["run"], hostile["report"]
    text = re.sub(r"<[^>]+>", " ", re.sub(r"<script>.*?</script>", "", document, flags=re.S))
    for segment in run.result.segments:
        assert f"{segment.size:,} users" in text
        for keyword in segment.keywords[:3]:
            assert keyword in text
    for label in ("Silhouette", "Calinski–Harabasz", "Davies–Bouldin", "Stability", "Users in a segment"):
        assert label in text
    assert "In plain words:" in text
    assert "stable (it comes back when the users are resampled)" in text or "unstable" in text
    assert "Who the users are" in text and "Comments per user" in text and "Mann-Whitney U" in text
    assert "Not evaluated" in text
    assert "The behaviour table is not included" not in text
    assert f"Run {run.run_key}" in text


def test_without_the_comments_the_report_says_the_behaviour_table_is_missing(hostile):
    document = run_report(hostile["run"].run_key, hostile["workspace"])
    assert "The behaviour table is not included" in document
    assert "Comments per user" not in document


def test_a_run_saved_before_descriptions_were_kept_reports_what_it_has_and_what_is_missing(hostile):
    workspace, run = hostile["workspace"], hostile["run"]
    info = workspace.run(run.run_key)
    older = {key: value for key, value in info.record.items() if key != "descriptions"}
    workspace.save_run("older0000000000", info.fingerprint, info.config, workspace.assignments(run.run_key),
                       pipeline_version=info.pipeline_version, record=older, table=workspace.table(run.run_key))
    document = run_report("older0000000000", workspace)
    assert "not kept: the run was saved before the workspace kept them" in document
    assert "Representative comments" not in document
    assert sum(len(array(t["x"])) for t in map_spec(document)["data"]
               if t["type"] == "scatter" and t.get("visible", True) is True) == 60
    assert "Silhouette" in document


def test_a_merged_segment_is_reported_with_the_users_of_both_and_says_its_words_are_from_before(hostile):
    workspace, run = hostile["workspace"], hostile["run"]
    EditLog(workspace.path).add(run.run_key, merge_edit(run.result.labels, 1, 2))
    try:
        document = run_report(run.run_key, workspace)
    finally:
        EditLog(workspace.path).undo(run.run_key, EditLog(workspace.path).edits(run.run_key)[-1].id)
    sizes = dict(zip(*np.unique(run.result.labels, return_counts=True), strict=True))
    assert f"{sizes[1] + sizes[2]:,} users" in document
    assert "a hand edit changed its users after the run was saved" in document
    names = {t["name"] for t in map_spec(document)["data"] if t["type"] == "scatter" and t.get("visible", True) is True}
    assert len(names) == 3


def test_a_run_without_table_or_record_reports_that_it_kept_neither(tmp_path):
    workspace = Workspace(tmp_path / "ws.sqlite")
    workspace.save_run("bare000000000000", "f" * 64, {"encoder": "tfidf"}, {"u1": 0, "u2": 1})
    document = run_report("bare000000000000", workspace)
    assert "This run kept no map." in document
    assert "The scores of this run are not kept" in document
    assert "plotly" not in document.lower()  # no map to draw: no 4.8 MB of plotly.js either


def test_an_unknown_run_and_a_run_of_other_data_are_refused_in_words(hostile, tmp_path):
    with pytest.raises(ConfigError, match="no saved run 'nope'"):
        run_report("nope", hostile["workspace"])
    other = from_frame(labelled_comments(seed=1), source="other.csv")
    with pytest.raises(ConfigError, match="made on other data than other.csv"):
        behaviour_of(hostile["run"].run_key, other, hostile["workspace"])
    with pytest.raises(ConfigError, match="no saved run yet"):
        latest_run_key(Workspace(tmp_path / "empty.sqlite"))
    assert latest_run_key(hostile["workspace"]) in {hostile["run"].run_key, "older0000000000"}


def test_saving_replaces_the_file_whole_and_a_path_that_cannot_be_written_leaves_it_alone(tmp_path: Path):
    target = tmp_path / "report.html"
    target.write_text("the earlier report")
    save_report("<!DOCTYPE html><p>new</p>", target)
    assert target.read_text() == "<!DOCTYPE html><p>new</p>"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # no staging file left behind
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="cannot write the report to .*a-file/report.html"):
        save_report("<p>x</p>", blocker / "report.html")
    with pytest.raises(ConfigError, match="it is a folder"):
        save_report("<p>x</p>", tmp_path)
    assert target.read_text() == "<!DOCTYPE html><p>new</p>"
