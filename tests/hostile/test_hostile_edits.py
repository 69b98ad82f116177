"""Hostile input, round three (issue 18), cases 7, 8 and 9: names and edits bound to users, not to segment
numbers; every view of a run shows its edited state; undo that can be redone and never takes back another
session's edit unseen; hand edits that survive a restore under a newer pipeline.

Runs are computed for real (tfidf, or a local OpenAI-style server on 127.0.0.1 for ``assign``), saved in a
real workspace, and read back through the library, the real CLI in a subprocess and AppTest.
"""

from __future__ import annotations

import io
import json
import sqlite3

import numpy as np
import pandas as pd
import pytest

from segmentation.core.errors import ConfigError
from segmentation.describe.export import assignments_csv
from segmentation.ingest.io import from_frame
from segmentation.pipeline.config import PIPELINE_VERSION, SegmentConfig
from segmentation.pipeline.segment import cluster_prepared, prepare
from segmentation.runs import service
from segmentation.runs.assign import assign
from segmentation.runs.edits import EditLog, apply_edits, merge_edit, split_edit
from segmentation.runs.records import run_key
from segmentation.runs.workspace import Workspace
from tests.fixtures import labelled_comments
from tests.openai_stub_server import StubServer
from tests.pages_helpers import metric, run_segmentation, start
from tests.test_cli import run_cli

pytestmark = pytest.mark.hostile

TFIDF = SegmentConfig(encoder="tfidf", algorithm="kmeans", k=4, reduction="none")


def quick(comments, config, progress=None):
    """Compute a run without the 2-d map (UMAP is not what these tests are about)."""
    prepared = prepare(comments, config, with_map=False)
    return prepared, cluster_prepared(prepared, config), False


def group_segments(run, frame: pd.DataFrame) -> dict[str, int]:
    """The segment that holds most of each written group's users."""
    truth = frame.drop_duplicates("user_id").set_index("user_id")["true_group"]
    table = pd.DataFrame({"group": truth.loc[run.result.user_ids].to_numpy(), "segment": run.result.labels})
    found = table.groupby("group")["segment"].agg(lambda s: int(s.mode()[0])).to_dict()
    assert len(set(found.values())) == 4, found  # the run found the four groups
    return found


@pytest.fixture
def frame() -> pd.DataFrame:
    return labelled_comments(users_per_group=10, comments_per_user=3, seed=4)


@pytest.fixture
def run(frame):
    return service.run_and_save(from_frame(frame.drop(columns="true_group")), TFIDF, compute=quick)


def coffee_merged_then_lasso(run, frame):
    """Issue 18, case 9's scenario: the segment with the largest id is named "Coffee fans" and merged into
    another; then a lasso of gamers is saved as a new segment. Returns (coffee id, kept id, lasso users)."""
    workspace, log = Workspace(), EditLog()
    segment_of = group_segments(run, frame)
    coffee = int(run.result.labels.max())
    coffee_group = next(group for group, segment in segment_of.items() if segment == coffee)
    kept = next(segment for group, segment in segment_of.items() if group != coffee_group and group != "gaming")
    workspace.save_name(run.run_key, coffee, "Coffee fans")
    log.add(run.run_key, merge_edit(run.result.labels, kept, coffee), labels=run.result.labels)
    now = apply_edits(run.result.labels, run.result.user_ids, log.edits(run.run_key))
    assert coffee not in now  # merged away: the old code gave the next split this very id
    lasso = frame.loc[frame["true_group"] == "gaming", "user_id"].unique()[:6].tolist()
    log.add(run.run_key, split_edit(run.result.user_ids, lasso), labels=now)
    return coffee, kept, lasso


def test_a_lasso_saved_after_a_merge_never_inherits_the_merged_away_segments_name_in_downloads(run, frame):
    """Issue 18, case 9: names stick to segment numbers (a new segment reused a merged-away id and its name)."""
    coffee, kept, lasso = coffee_merged_then_lasso(run, frame)
    split = EditLog().edits(run.run_key)[-1]
    assert split.segment == coffee + 1  # one past the largest id the run ever had

    result = service.named_result(service.with_edits(run))
    download = pd.read_csv(io.BytesIO(assignments_csv(result.assignments)), encoding="utf-8-sig")
    assert "Coffee fans" not in set(download["segment_name"])  # the merged-away name is shown nowhere
    by_user = download.set_index(download["user_id"].astype(str))
    assert set(by_user.loc[lasso, "segment"]) == {coffee + 1}
    formerly_coffee = run.result.user_ids[run.result.labels == coffee]
    assert set(by_user.loc[formerly_coffee, "segment"]) == {kept}
    assert Workspace().history(run.run_key, coffee)[-1].new_name == "Coffee fans"  # kept in history


def test_runs_show_and_runs_compare_in_the_cli_show_the_edited_segments(run, frame, workspace):
    """Issue 18, case 9: edits were invisible to `runs show` and `runs compare`."""
    coffee, kept, lasso = coffee_merged_then_lasso(run, frame)
    Workspace().save_name(run.run_key, coffee + 1, "Headphone gamers")
    edited = service.edited_assignments(run.run_key)
    expected = pd.Series(edited).value_counts().sort_index()

    shown = run_cli("runs", "show", run.run_key, workspace=workspace)
    assert shown.returncode == 0, shown.stderr
    record = json.loads(shown.stdout)
    sizes = {segment["id"]: segment["users"] for segment in record["segments"]}
    assert sizes == {int(k): int(v) for k, v in expected.items()}
    assert coffee not in sizes and sizes[coffee + 1] == len(lasso)
    names = {segment["id"]: segment["name"] for segment in record["segments"]}
    assert names[coffee + 1] == "Headphone gamers" and "Coffee fans" not in names.values()
    assert record["edits"][0].startswith("Coffee fans merged into")
    assert record["edits"][1] == f"{len(lasso)} selected users saved as “Headphone gamers”"

    everyone = {user: 0 for user in edited}
    Workspace().save_run("together", run.fingerprint, {"k": 1}, everyone)
    compared = run_cli("runs", "compare", run.run_key, "together", workspace=workspace)
    assert compared.returncode == 0, compared.stderr
    flows = pd.read_csv(io.StringIO(compared.stdout))
    assert dict(zip(flows["first_segment"], flows["users"], strict=True)) == {
        int(k): int(v) for k, v in expected.items()}
    assert flows.loc[flows["first_segment"] == coffee + 1, "first_name"].tolist() == ["Headphone gamers"]


@pytest.mark.slow  # the CLI fits UMAP for the map in a subprocess
def test_the_cli_segment_of_a_run_edited_in_the_app_writes_the_edited_segments(run, frame, tmp_path, workspace):
    """Issue 18, case 9: the CLI's `segment` for the same run ignored the edits made on it."""
    coffee, kept, lasso = coffee_merged_then_lasso(run, frame)
    Workspace().save_name(run.run_key, coffee + 1, "Headphone gamers")
    data = tmp_path / "comments.csv"
    frame.drop(columns="true_group").to_csv(data, index=False)
    done = run_cli("segment", str(data), "--out", str(tmp_path / "out"), "--encoder", "tfidf", "--k", "4",
                   "--reduction", "none", "--k-max", "12", workspace=workspace)
    assert done.returncode == 0, done.stderr
    assert f"saved as run {run.run_key}" in done.stderr  # the same run the edits were made on
    written = pd.read_csv(tmp_path / "out" / "assignments.csv", encoding="utf-8-sig")
    by_user = written.set_index(written["user_id"].astype(str))
    assert coffee not in set(written["segment"]) and "Coffee fans" not in set(written["segment_name"])
    assert set(by_user.loc[lasso, "segment_name"]) == {"Headphone gamers"}
    assert set(by_user.loc[run.result.user_ids[run.result.labels == coffee], "segment"]) == {kept}


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch):
    with StubServer() as server:
        monkeypatch.setenv("SEGMENT_STUDIO_OPENAI_BASE_URL", server.base_url)
        yield server


def test_assign_never_places_into_a_merged_away_segment_and_fills_a_lasso_segment_by_its_centre(stub):
    """Issue 18, case 9: `assign` placed new users into a segment the app shows as merged away, under its
    old name."""
    frame = labelled_comments(users_per_group=12, comments_per_user=3, seed=0)
    config = SegmentConfig(encoder="openai:stub-embed", algorithm="kmeans", k=4, reduction="none")
    run = service.run_and_save(from_frame(frame.drop(columns="true_group")), config, compute=quick)
    segment_of = group_segments(run, frame)
    workspace, log = Workspace(), EditLog()
    coffee, gaming = segment_of["coffee"], segment_of["gaming"]
    workspace.save_name(run.run_key, coffee, "Coffee fans")
    workspace.save_name(run.run_key, gaming, "Gamers")
    log.add(run.run_key, merge_edit(run.result.labels, gaming, coffee), labels=run.result.labels)
    now = apply_edits(run.result.labels, run.result.user_ids, log.edits(run.run_key))
    gardeners = frame.loc[frame["true_group"] == "gardening", "user_id"].unique()
    saved = log.add(run.run_key, split_edit(run.result.user_ids, gardeners, run.prepared.profiles.vectors),
                    labels=now)
    workspace.save_name(run.run_key, saved.segment, "Green thumbs")

    newcomers = labelled_comments(users_per_group=5, comments_per_user=3, seed=7)
    newcomers["user_id"] = "new-" + newcomers["user_id"]
    known = frame[frame["user_id"] == "cof-00"].head(1)  # a known coffee drinker, one more coffee comment
    new = pd.concat([newcomers, known], ignore_index=True)
    placed = assign(from_frame(new.drop(columns="true_group")), run.run_key)
    table = placed.assignments.set_index("user_id")
    assert coffee not in set(table["segment"]) and "Coffee fans" not in set(table["segment_name"])
    new_coffee = table.loc[newcomers.loc[newcomers["true_group"] == "coffee", "user_id"].unique()]
    assert (new_coffee["segment"] == gaming).all() and (new_coffee["segment_name"] == "Gamers").all()
    new_gardeners = table.loc[newcomers.loc[newcomers["true_group"] == "gardening", "user_id"].unique()]
    assert (new_gardeners["segment"] == saved.segment).all()
    assert (new_gardeners["segment_name"] == "Green thumbs").all()
    assert table.loc["cof-00", "previous_segment"] == gaming and table.loc["cof-00", "status"] == "kept"


def test_assign_says_so_when_a_lasso_segment_was_saved_without_profiles(stub):
    """Issue 18, case 9: a split-out segment with no centre gets no new users, and the output says why."""
    frame = labelled_comments(users_per_group=8, comments_per_user=2, seed=1)
    config = SegmentConfig(encoder="openai:stub-embed", algorithm="kmeans", k=4, reduction="none")
    run = service.run_and_save(from_frame(frame.drop(columns="true_group")), config, compute=quick)
    runners = frame.loc[frame["true_group"] == "running", "user_id"].unique()
    saved = EditLog().add(run.run_key, split_edit(run.result.user_ids, runners), labels=run.result.labels)
    placed = assign(from_frame(frame.drop(columns="true_group")), run.run_key)
    assert saved.segment not in set(placed.assignments["segment"])
    assert any(f"Segment {saved.segment}" in w and "no new user is placed in it" in w for w in placed.warnings)


USERS = np.array([f"u{i}" for i in range(8)])
LABELS = np.array([0, 0, 0, 1, 1, 1, 2, -1])


def test_undo_keeps_the_edit_redo_brings_it_back_and_a_new_edit_drops_the_redo_branch(tmp_path):
    """Issue 18, case 7: undo was final (the undone edit was deleted, with no redo)."""
    log = EditLog(tmp_path / "workspace.sqlite")
    lasso = log.add("run", split_edit(USERS, ["u0", "u1", "u3"]), labels=LABELS)
    merged = log.add("run", merge_edit(LABELS, 1, 2), labels=LABELS)
    both = apply_edits(LABELS, USERS, log.edits("run")).tolist()
    assert both == [3, 3, 0, 3, 1, 1, 1, -1]

    assert log.undo("run", merged.id).id == merged.id
    assert log.undo("run", lasso.id).id == lasso.id
    assert apply_edits(LABELS, USERS, log.edits("run")).tolist() == LABELS.tolist()
    assert [e.state for e in EditLog(tmp_path / "workspace.sqlite").history("run")] == ["undone", "undone"]
    assert log.next_redo("run").id == lasso.id  # redo brings back the earliest undone edit first
    log.redo("run", lasso.id)
    log.redo("run", merged.id)
    assert apply_edits(LABELS, USERS, log.edits("run")).tolist() == both  # the lasso of users came back

    log.undo("run", merged.id)
    other = log.add("run", merge_edit(LABELS, 0, 1), labels=LABELS)  # a new edit after an undo
    assert log.next_redo("run") is None
    with pytest.raises(ConfigError, match="no edit to redo"):
        log.redo("run", merged.id)
    assert [e.state for e in log.history("run")] == ["active", "dropped", "active"]
    assert [e.id for e in log.edits("run")] == [lasso.id, other.id]
    later = log.add("run", split_edit(USERS, ["u6"]), labels=LABELS)
    assert later.segment == 4  # 3 was the lasso's: an id is never taken twice, undone or not


def test_an_undo_that_names_an_edit_another_session_replaced_is_refused_and_changes_nothing(tmp_path):
    """Issue 18, case 7: with two sessions on one run, A's "Undo the last edit" undid B's edit."""
    log = EditLog(tmp_path / "workspace.sqlite")
    names = {0: "Runners", 1: "Coffee fans", 2: "Gamers"}
    seen_by_a = log.add("run", merge_edit(LABELS, 0, 2), labels=LABELS, session="A")
    by_b = log.add("run", merge_edit(LABELS, 0, 1), labels=LABELS, session="B")
    with pytest.raises(ConfigError) as refused:
        log.undo("run", seen_by_a.id, names, "A")
    message = str(refused.value)
    assert "nothing was changed" in message and "\n" not in message
    assert "Coffee fans merged into Runners, made just now in another session" in message
    assert [e.id for e in log.edits("run")] == [seen_by_a.id, by_b.id]
    assert log.undo("run", by_b.id, names, "A").id == by_b.id  # once A has seen B's edit, A may undo it


def test_a_run_restored_under_a_newer_pipeline_keeps_its_hand_edits_and_names_them_when_they_cannot_apply():
    """Issue 18, case 8: a run restored after a pipeline version change silently dropped its hand edits."""
    frame = labelled_comments(users_per_group=10, comments_per_user=3, seed=4)
    comments = from_frame(frame.drop(columns="true_group"))
    _, result, _ = quick(comments, TFIDF)
    # The same users saved by version 1 under other segment ids (j then is (j + 1) % 4 now), plus two users
    # no longer in the data.
    fingerprint = comments.fingerprint()
    old_key = run_key(fingerprint, TFIDF.to_dict())
    old = {user: (int(label) - 1) % 4 for user, label in zip(result.user_ids, result.labels, strict=True)}
    old.update({"gone-1": 0, "gone-2": 0})
    workspace, log = Workspace(), EditLog()
    workspace.save_run(old_key, fingerprint, TFIDF.to_dict(), old, pipeline_version=1)
    users, labels = list(old), np.array(list(old.values()))
    gamers = frame.loc[frame["true_group"] == "gaming", "user_id"].unique()[:5].tolist()
    lasso = log.add(old_key, split_edit(users, gamers), labels=labels)
    labels = apply_edits(labels, users, [lasso])
    merge = log.add(old_key, merge_edit(labels, 1, 2), labels=labels)
    ghosts = log.add(old_key, split_edit(users, ["gone-1", "gone-2"]), labels=apply_edits(labels, users, [merge]))
    workspace.save_name(old_key, lasso.segment, "Keen gamers")
    workspace.save_name(old_key, 1, "Kept one")
    before = service.edited_assignments(old_key)

    restored = service.restore(comments, old_key, compute=quick)
    assert restored.run_key != old_key
    after = service.edited_assignments(restored.run_key)
    # Same grouping of the users still in the data: each old edited segment is one new edited segment.
    pairs = {(before[user], after[user]) for user in after}
    assert len(pairs) == len({old for old, _ in pairs}) == len({new for _, new in pairs})
    new_lasso = after[gamers[0]]
    assert {after[user] for user in gamers} == {new_lasso} and sum(v == new_lasso for v in after.values()) == 5
    names = {segment: saved.name for segment, saved in workspace.names(restored.run_key).items()}
    assert names[new_lasso] == "Keen gamers"  # the name followed the lasso's users
    kept_user = next(user for user, segment in old.items() if segment == 1 and user not in gamers)
    assert names[after[kept_user]] == "Kept one"
    assert f"recomputed with version {PIPELINE_VERSION}" in restored.notes[0]
    (left_out,) = [note for note in restored.notes[1:] if "could not be applied" in note]
    assert "2 selected users" in left_out and "none of its 2 users are in the data now" in left_out
    assert [e.id for e in log.edits(old_key)] == [lasso.id, merge.id, ghosts.id]  # the old run keeps all


def test_a_workspace_whose_edits_were_saved_before_undo_was_reversible_still_opens_and_applies(tmp_path):
    """Issue 18, cases 7-9: the edit table gains columns in place; edits saved before keep working."""
    path = tmp_path / "workspace.sqlite"
    with sqlite3.connect(path) as connection:  # the table as the previous version created it
        connection.execute("CREATE TABLE segment_edits (id INTEGER PRIMARY KEY AUTOINCREMENT, run_key TEXT NOT "
                           "NULL, kind TEXT NOT NULL CHECK (kind IN ('split', 'merge')), payload TEXT NOT NULL, "
                           "created_at TEXT NOT NULL)")
        connection.execute("INSERT INTO segment_edits (run_key, kind, payload, created_at) VALUES "
                           "('run', 'merge', '{\"kept\": 0, \"absorbed\": 2}', '2026-12-01T10:00:00+00:00'), "
                           "('run', 'split', '{\"users\": [\"u3\"]}', '2026-12-01T10:01:00+00:00')")
    log = EditLog(path)
    merge, split = log.edits("run")
    assert (merge.kept, merge.absorbed, split.segment, split.state) == (0, 2, None, "active")
    assert apply_edits(LABELS, USERS, [merge, split]).tolist() == [0, 0, 0, 3, 1, 1, 0, -1]
    assert log.undo("run", split.id).id == split.id
    new = log.add("run", split_edit(USERS, ["u4"]), labels=LABELS)
    assert new.segment == 3 and Workspace(path).all_runs() == []  # the workspace opens on the same file


def test_the_segment_page_shows_what_undo_and_redo_will_do_and_redo_brings_a_lasso_back():
    """Issue 18, case 7: the Segment page's redo control, and an undo that names another session's edit."""
    frame = labelled_comments(users_per_group=8, comments_per_user=2, seed=12)
    at = start()
    at.radio(key="data_choice").set_value("upload").run()
    at.file_uploader(key="upload").set_value(("redo.csv", frame.to_csv(index=False).encode(), "text/csv")).run()
    at = run_segmentation(at, encoder="tfidf", k=3)
    run = at.session_state["run"]
    runners = frame.loc[frame["true_group"] == "running", "user_id"].unique()[:5]
    log = EditLog()
    # What the page's "Save as a new segment" stores for a lasso around these users.
    lasso = log.add(run.run_key, split_edit(run.result.user_ids, runners), labels=run.result.labels,
                    session=at.session_state["edit_session"])
    at.run()
    assert metric(at, "Segments") == "4"
    assert any(c.value.startswith("Undo: 5 selected users saved as") for c in at.caption)

    undo = next(b for b in at.button if b.key == "edit_undo")
    undo.click().run()
    assert not at.exception, at.exception
    assert metric(at, "Segments") == "3"
    assert any(c.value.startswith("Redo: 5 selected users saved as") for c in at.caption)
    next(b for b in at.button if b.key == "edit_redo").click().run()
    assert metric(at, "Segments") == "4" and any("Redone" in t.value for t in at.toast)
    assert [e.id for e in log.edits(run.run_key)] == [lasso.id]

    # Another session merges two segments after this page was drawn: this page's Undo still points at the
    # lasso it showed, so the click is refused and the other session's merge stays.
    segments = sorted(set(run.result.labels.tolist()))
    now = apply_edits(run.result.labels, run.result.user_ids, log.edits(run.run_key))
    theirs = log.add(run.run_key, merge_edit(now, segments[0], segments[1]), labels=now, session="another")
    next(b for b in at.button if b.key == "edit_undo").click().run()
    assert any("nothing was changed" in e.value and "another session" in e.value for e in at.error)
    assert [e.id for e in log.edits(run.run_key)] == [lasso.id, theirs.id]
    assert any(c.value.startswith("Undo: ") and "in another session" in c.value for c in at.caption)
