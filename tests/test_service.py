"""The use cases the app and the CLI share: run and save, restore, names carried over, runs kept, assign."""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fixtures import labelled_comments
from openai_stub_server import StubServer

from segmentation.core.errors import ConfigError
from segmentation.ingest.io import from_frame
from segmentation.pipeline.config import PIPELINE_VERSION, SegmentConfig
from segmentation.runs import service
from segmentation.runs.assign import _drift, assign
from segmentation.runs.compare import compare_runs, name_lineage
from segmentation.runs.records import run_key
from segmentation.runs.warmup import seed_demo_embeddings
from segmentation.runs.workspace import Workspace
from tests.test_cli import assert_one_line_error, run_cli

TFIDF = SegmentConfig(encoder="tfidf", algorithm="kmeans", k=4)
STUB_MODEL = "stub-embed"


def labelled(users_per_group: int = 15, seed: int = 0, prefix: str = ""):
    frame = labelled_comments(users_per_group=users_per_group, seed=seed)
    frame["user_id"] = prefix + frame["user_id"]
    return from_frame(frame.drop(columns="true_group"), source="labelled.csv")


def groups_of(frame: pd.DataFrame) -> dict[str, str]:
    return dict(zip(frame["user_id"], frame["true_group"], strict=False))


# run_and_save and the runs kept ---------------------------------------------------------------------


@pytest.mark.slow
def test_run_and_save_keeps_config_record_table_and_centres_and_lists_the_run():
    comments = labelled()
    run = service.run_and_save(comments, TFIDF)
    workspace = Workspace()
    info = workspace.run(run.run_key)
    assert info.fingerprint == comments.fingerprint() and info.pipeline_version == PIPELINE_VERSION
    assert SegmentConfig.from_dict(info.config) == TFIDF
    assert info.metrics["n_segments"] == 4 and info.record["n_users"] == 60
    assert set(info.record["timings"]) >= {"encode", "profile", "cluster", "describe"}
    assert set(run.stage_times) >= {"encode", "cluster", "describe"}
    table = workspace.table(run.run_key)
    assert (workspace.runs_folder / f"{run.run_key}.parquet").is_file()
    pd.testing.assert_frame_equal(table, run.result.assignments, check_dtype=False)
    assert set(workspace.arrays(run.run_key)) == {"segment_ids", "centres", "far", "far_by_count"}

    listed = service.runs_table()
    assert listed.iloc[0][["run", "data", "users", "encoder", "algorithm", "k", "named"]].tolist() == [
        run.run_key, "labelled.csv", 60, "tfidf", "kmeans", 4, 0]
    assert listed.iloc[0]["silhouette"] == pytest.approx(run.result.metrics["silhouette"])
    assert listed.iloc[0]["stability"] == pytest.approx(run.result.metrics["stability"])


@pytest.mark.slow
def test_names_carry_to_the_next_run_of_the_same_data_by_shared_users():
    comments = labelled()
    first = service.run_and_save(comments, TFIDF)
    Workspace().save_name(first.run_key, 0, "Coffee people")
    second = service.run_and_save(comments, SegmentConfig.from_dict({**TFIDF.to_dict(), "seed": 1}))
    assert second.run_key != first.run_key
    (carried,) = second.carry.carried
    assert carried.name == "Coffee people" and carried.jaccard >= 0.5
    old = Workspace().assignments(first.run_key)
    new = Workspace().assignments(second.run_key)
    members = {user for user, segment in old.items() if segment == 0}
    assert {new[user] for user in members} == {carried.new_id}


@pytest.mark.slow
def test_restore_brings_back_the_latest_run_and_refuses_a_run_of_other_data():
    comments = labelled()
    assert service.restore(comments) is None
    saved = service.run_and_save(comments, TFIDF)
    Workspace().save_name(saved.run_key, 2, "Gardeners")
    restored = service.restore(comments)
    assert restored.run_key == saved.run_key and not restored.notes
    assert service.named_result(restored).names[2] == "Gardeners"
    other = labelled(users_per_group=5, seed=3)
    with pytest.raises(ConfigError, match="other data"):
        service.restore(other, saved.run_key)
    with pytest.raises(ConfigError, match="no saved run 'nope'"):
        service.restore(comments, "nope")


@pytest.mark.slow
def test_restoring_a_run_of_an_older_pipeline_moves_names_by_users_not_by_segment_ids():
    comments = labelled()
    _, result, _ = service.compute_fresh(comments, TFIDF)
    # The same users saved by version 1 (no version in its key) under other segment ids: id j then was
    # (j + 1) % 4 now, as a changed algorithm may number its segments.
    fingerprint = comments.fingerprint()
    old_key = run_key(fingerprint, TFIDF.to_dict())
    old = {user: (int(label) - 1) % 4 for user, label in zip(result.user_ids, result.labels, strict=True)}
    workspace = Workspace()
    workspace.save_run(old_key, fingerprint, TFIDF.to_dict(), old, pipeline_version=1)
    for segment in range(4):
        workspace.save_name(old_key, segment, f"Old segment {segment}")

    restored = service.restore(comments, old_key)
    assert restored.run_key != old_key
    names = workspace.names(restored.run_key)
    assert {segment: saved.name for segment, saved in names.items()} == {
        segment: f"Old segment {(segment - 1) % 4}" for segment in range(4)}
    (note,) = restored.notes
    assert f"pipeline version 1 and recomputed with version {PIPELINE_VERSION}" in note and "4 moved" in note
    assert workspace.names(old_key)[0].name == "Old segment 0"  # the old run keeps its names


def test_config_from_dict_ignores_unknown_keys_and_reads_lists_and_numbers_as_saved():
    saved = {**TFIDF.to_dict(), "attributes": ["age"], "k": "5", "umap_neighbours": 15, "encoder": None}
    config = SegmentConfig.from_dict(saved)
    assert config.k == 5 and config.attributes == ("age",) and config.encoder == SegmentConfig().encoder
    assert SegmentConfig.from_dict(TFIDF.to_dict()) == TFIDF
    with pytest.raises(ConfigError, match="algorithm=.spectral. is not allowed"):
        SegmentConfig.from_dict({"algorithm": "spectral"})


def test_a_version_1_workspace_opens_with_its_runs_and_names_and_gains_the_new_columns(workspace: Path):
    path = workspace / "workspace.sqlite"
    workspace.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as connection:  # the schema as version 1 wrote it
        connection.executescript("""
            CREATE TABLE runs (run_key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, config TEXT NOT NULL,
                created_at TEXT NOT NULL, saved_at TEXT NOT NULL, seq INTEGER NOT NULL, assignments BLOB NOT NULL);
            CREATE TABLE segment_names (run_key TEXT NOT NULL, segment_id INTEGER NOT NULL, name TEXT NOT NULL,
                description TEXT NOT NULL DEFAULT '', source TEXT NOT NULL, updated_at TEXT NOT NULL,
                PRIMARY KEY (run_key, segment_id));
            PRAGMA user_version=1;
        """)
    old = Workspace(path)
    # Written by version 1's code path: no record, no table.
    with sqlite3.connect(path) as connection:
        connection.execute("DELETE FROM runs")
    old.save_run("oldrun", "f" * 64, {"algorithm": "kmeans", "encoder": "tfidf", "k": 3}, {"u1": 0, "u2": 1})
    old.save_name("oldrun", 0, "Loyal buyers")

    reopened = Workspace(path)
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == 3
    info = reopened.run("oldrun")
    assert info.pipeline_version == 1 and info.record == {} and reopened.table("oldrun") is None
    assert reopened.names("oldrun")[0].name == "Loyal buyers"
    row = service.runs_table(reopened).iloc[0]
    assert row["run"] == "oldrun" and row["named"] == 1 and pd.isna(row["k"])


def test_a_version_2_history_gains_the_origin_columns_and_keeps_its_rows(workspace: Path):
    path = workspace / "workspace.sqlite"
    Workspace(path).save_run("r", "f" * 64, {"k": 2}, {"u1": 0, "u2": 1})
    Workspace(path).save_name("r", 0, "Night owls")
    with sqlite3.connect(path) as connection:  # name_history as version 2 wrote it
        connection.executescript("""
            ALTER TABLE name_history DROP COLUMN from_run;
            ALTER TABLE name_history DROP COLUMN from_segment;
            PRAGMA user_version=2;
        """)
    reopened = Workspace(path)
    (change,) = reopened.history("r", 0)
    assert change.new_name == "Night owls" and change.from_run is None
    assert reopened.lineage("r", 0) == [change]


# Comparing runs and tracing names ------------------------------------------------------------------


def saved(workspace: Workspace, key: str, assignments: dict[str, int]) -> str:
    workspace.save_run(key, "f" * 64, {"k": len(set(assignments.values()))}, assignments)
    return key


def test_compare_runs_counts_the_users_each_pair_of_segments_shares():
    workspace = Workspace()
    # Ten users: run a splits them 5/5; run b keeps a's segment 0 whole, splits segment 1 into 3 + 1 and
    # leaves one user as noise; one more user is in b only.
    a = saved(workspace, "a", {f"u{i}": int(i >= 5) for i in range(10)})
    b = saved(workspace, "b", {**{f"u{i}": 0 for i in range(5)}, "u5": 1, "u6": 1, "u7": 1, "u8": 2,
                               "u9": -1, "extra": 2})
    workspace.save_name("a", 0, "Early birds")
    comparison = compare_runs(a, b, workspace)
    assert comparison.overlap.to_dict() == {-1: {0: 0, 1: 1}, 0: {0: 5, 1: 0}, 1: {0: 0, 1: 3}, 2: {0: 0, 1: 1}}
    assert comparison.n_common == 10 and comparison.n_only_first == 0 and comparison.n_only_second == 1
    assert comparison.kept_together == pytest.approx((5 + 3) / 10)
    from sklearn.metrics import adjusted_rand_score
    assert comparison.ari == pytest.approx(adjusted_rand_score([0] * 5 + [1] * 5, [0] * 5 + [1, 1, 1, 2, -1]))
    flows = comparison.flows()
    assert flows.iloc[0].tolist() == [0, "Early birds", 0, "Segment 0", 5]
    assert flows["users"].sum() == 10 and (flows["users"] > 0).all()
    assert "Noise / unassigned" in set(flows["second_name"])


def test_compare_runs_refuses_unknown_runs_and_runs_without_a_common_user():
    workspace = Workspace()
    saved(workspace, "a", {"u1": 0, "u2": 1})
    saved(workspace, "b", {"v1": 0, "v2": 1})
    with pytest.raises(ConfigError, match="share no user"):
        compare_runs("a", "b", workspace)
    with pytest.raises(ConfigError, match="no saved run 'nope'"):
        compare_runs("a", "nope", workspace)


def test_a_carried_name_is_traced_back_through_every_run_to_where_it_was_typed():
    from segmentation.present.views import name_history_table

    workspace = Workspace()
    users = [f"u{i}" for i in range(8)]
    saved(workspace, "a", {u: i % 2 for i, u in enumerate(users)})
    workspace.save_name("a", 1, "Odd ones")
    workspace.save_name("a", 1, "Odd <i>ones</i>")
    saved(workspace, "b", {u: 1 - i % 2 for i, u in enumerate(users)})  # the same groups, ids swapped
    workspace.carry_over("a", "b")
    saved(workspace, "c", {u: 5 if i % 2 else 3 for i, u in enumerate(users)})
    workspace.carry_over("b", "c")
    workspace.save_name("c", 3, "Evens")  # typed on c: its history starts there

    lineage = name_lineage("c", workspace)
    assert [(c.run_key, c.segment_id, c.source, c.new_name) for c in lineage[5]] == [
        ("a", 1, "user", "Odd ones"), ("a", 1, "user", "Odd <i>ones</i>"),
        ("b", 0, "carried", "Odd <i>ones</i>"), ("c", 5, "carried", "Odd <i>ones</i>")]
    assert [(c.run_key, c.source) for c in lineage[3]] == [("c", "user")]

    table = name_history_table(lineage).set_index("segment")
    assert table.loc[5, "name"] == "Odd <i>ones</i>"
    steps = table.loc[5, "history"].splitlines()
    assert steps[0].endswith("run a, segment 1: typed “Odd ones”")
    assert steps[2].endswith("run b, segment 0: carried over from run a")
    assert steps[3].endswith("run c, segment 5: carried over from run b")


# The command line ------------------------------------------------------------------------------------


@pytest.mark.slow  # the CLI fits UMAP for the map in a subprocess
def test_cli_segment_saves_its_run_and_runs_lists_and_shows_it(tmp_path: Path, workspace: Path):
    data = tmp_path / "labelled.csv"
    labelled_comments().to_csv(data, index=False)
    done = run_cli("segment", str(data), "--out", str(tmp_path / "out"), "--encoder", "tfidf", "--k", "4",
                   workspace=workspace)
    assert done.returncode == 0, done.stderr
    (info,) = Workspace(workspace / "workspace.sqlite").all_runs()
    assert f"saved as run {info.run_key}" in done.stderr
    listed = run_cli("runs", workspace=workspace)
    assert listed.returncode == 0
    header, row = listed.stdout.strip().splitlines()
    assert header.split() == list(service.RUN_COLUMNS)
    assert row.split()[0] == info.run_key and "labelled.csv" in row and " tfidf " in row
    shown = run_cli("runs", "show", info.run_key, workspace=workspace)
    record = json.loads(shown.stdout)
    assert record["run"] == info.run_key and record["config"]["k"] == 4 and record["n_users"] == 60
    assert sum(segment["users"] for segment in record["segments"]) == 60
    assert record["file_sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()  # the app can open it again
    assert_one_line_error(run_cli("runs", "show", "0123456789abcdef", workspace=workspace), "no saved run")

    # A second run of the same users, every one in one segment: each of the first run's segments flows into it.
    everyone = {user: 0 for user in Workspace(workspace / "workspace.sqlite").assignments(info.run_key)}
    Workspace(workspace / "workspace.sqlite").save_run("together", info.fingerprint, {"k": 1}, everyone)
    compared = run_cli("runs", "compare", info.run_key, "together", workspace=workspace)
    assert compared.returncode == 0, compared.stderr
    assert "60 users in both runs; adjusted Rand index 0.000" in compared.stderr
    flows = pd.read_csv(io.StringIO(compared.stdout))
    assert list(flows.columns) == ["first_segment", "first_name", "second_segment", "second_name", "users"]
    assert sorted(flows["first_segment"]) == [0, 1, 2, 3] and set(flows["second_segment"]) == {0}
    assert flows["users"].sum() == 60
    assert_one_line_error(run_cli("runs", "compare", info.run_key, "nope", workspace=workspace), "no saved run")


# New users into saved segments -----------------------------------------------------------------------


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch):
    with StubServer() as server:
        monkeypatch.setenv("SEGMENT_STUDIO_OPENAI_BASE_URL", server.base_url)
        yield server


@pytest.mark.slow
def test_assign_places_new_users_with_their_group_and_keeps_or_moves_known_ones(stub):
    frame = labelled_comments(users_per_group=15, seed=0)
    config = SegmentConfig(encoder=f"openai:{STUB_MODEL}", algorithm="kmeans", k=4)
    run = service.run_and_save(from_frame(frame.drop(columns="true_group")), config)
    segment_of_group = (
        pd.DataFrame({"user_id": run.result.user_ids, "segment": run.result.labels})
        .assign(group=lambda t: t["user_id"].map(groups_of(frame)))
        .groupby("group")["segment"].agg(lambda s: s.mode()[0])
    )
    assert segment_of_group.nunique() == 4  # the run found the four groups
    Workspace().save_name(run.run_key, int(segment_of_group["coffee"]), "Coffee people")

    newcomers = labelled_comments(users_per_group=5, seed=7)
    newcomers["user_id"] = "new-" + newcomers["user_id"]
    # A known coffee drinker who writes one more coffee comment stays; a known gamer who writes six
    # comments about gardening (twice their earlier three) moves.
    known = pd.DataFrame({
        "user_id": ["cof-00"] + ["gam-00"] * 6,
        "text": [frame[frame["true_group"] == "coffee"]["text"].iloc[5]]
        + frame[frame["true_group"] == "gardening"]["text"].iloc[:6].tolist(),
        "true_group": ["coffee"] + ["gardening"] * 6,
    })
    new = pd.concat([newcomers, known], ignore_index=True)
    requests_before = stub.embedding_requests
    placed = assign(from_frame(new.drop(columns="true_group")), run.run_key)
    table = placed.assignments.set_index("user_id")
    fresh = table[table["status"] == "new"]
    expected = fresh.index.map(groups_of(newcomers)).map(segment_of_group)
    assert (fresh["segment"].to_numpy() == expected.to_numpy()).mean() >= 0.9
    assert (fresh["confidence"].between(0, 1)).all() and fresh["confidence"].median() > 0.1
    coffee = fresh[fresh["segment"] == segment_of_group["coffee"]]
    assert len(coffee) and (coffee["segment_name"] == "Coffee people").all()
    assert table.loc["cof-00", "status"] == "kept"
    assert table.loc["gam-00", "status"] == "moved"
    assert table.loc["gam-00", "segment"] == segment_of_group["gardening"]
    assert table.loc["gam-00", "previous_segment"] == segment_of_group["gaming"]
    assert placed.n_moved == 1 and placed.n_known == 2
    # The run's comments came from the cache: only texts it had never seen went to the endpoint.
    unseen = set(new["text"]) - set(frame["text"])
    assert stub.embedding_requests - requests_before == (1 if unseen else 0)
    assert placed.drift["new_users"].sum() == len(fresh) and not placed.warnings


def test_drift_needs_more_far_new_users_than_chance_gives_not_just_a_large_share():
    # Per segment: new users and how many of them lie beyond the line 5 % of its members cross by chance.
    cases = {0: (1, 1), 1: (2, 1), 2: (2, 2), 3: (3, 2), 4: (10, 3), 5: (10, 4), 6: (40, 6)}
    rows = [{"user_id": f"u{segment}-{i}", "segment": segment, "segment_name": f"S{segment}", "far": i < far,
             "status": "new"} for segment, (n, far) in cases.items() for i in range(n)]
    drift = _drift(pd.DataFrame(rows)).set_index("segment")
    # P(at least `far` of n beyond a 5 % line) is under 1 % for 2 of 2 (0.0025), 2 of 3 (0.0073) and 4 of 10
    # (0.0010); not for 1 of 1 (0.05), 1 of 2 (0.0975) or 3 of 10 (0.0115); 6 of 40 is 15 %, under 20 %.
    assert drift["drifting"].to_dict() == {0: False, 1: False, 2: True, 3: True, 4: False, 5: True, 6: False}
    json.dumps(drift.reset_index().to_dict(orient="records"))  # drift.json takes it as it is


@pytest.mark.slow
def test_assign_warns_when_new_users_lie_far_from_every_segment(stub):
    frame = labelled_comments(users_per_group=15, seed=0)
    config = SegmentConfig(encoder=f"openai:{STUB_MODEL}", algorithm="kmeans", k=4)
    run = service.run_and_save(from_frame(frame.drop(columns="true_group")), config)
    # Three comments each, as the run's members wrote: a user is judged against members with as many
    # comments (one stub comment alone is too short to tell a stranger from a member).
    strangers = pd.DataFrame({
        "user_id": [f"x{i}" for i in range(12) for _ in range(3)],
        "text": [text for i in range(12) for text in (
            f"Quantum annealing lattice {i} decoherence spintronics cryostat",
            f"Qubit entanglement photon {i} boson fermion", f"Superconducting cryostat lattice {i} qubit noise")],
    })
    placed = assign(from_frame(strangers), run.run_key)
    assert placed.assignments["far"].all()
    assert placed.warnings and "drifting" in placed.warnings[0]
    assert (placed.drift["far_share"] == 1.0).all()


@pytest.mark.slow  # the CLI fits UMAP for the map in a subprocess
def test_cli_assign_writes_named_assignments_and_refuses_bad_input(stub, tmp_path: Path, workspace: Path):
    frame = labelled_comments(users_per_group=10, seed=0)
    data, new_file, empty = tmp_path / "data.csv", tmp_path / "new.csv", tmp_path / "empty.csv"
    frame.to_csv(data, index=False)
    newcomers = labelled_comments(users_per_group=3, seed=5)
    newcomers["user_id"] = "new-" + newcomers["user_id"]
    newcomers.to_csv(new_file, index=False)
    empty.write_text("user_id,text\n", encoding="utf-8")
    env_workspace = workspace
    done = run_cli("segment", str(data), "--out", str(tmp_path / "seg"), "--encoder", f"openai:{STUB_MODEL}",
                   "--k", "4", workspace=env_workspace)
    assert done.returncode == 0, done.stderr
    (info,) = Workspace(workspace / "workspace.sqlite").all_runs()
    out = tmp_path / "assigned"
    placed = run_cli("assign", str(new_file), "--run", info.run_key, "--out", str(out), workspace=workspace)
    assert placed.returncode == 0, placed.stderr
    assert "12 users placed" in placed.stderr and "0 moved" in placed.stderr
    table = pd.read_csv(out / "assignments.csv", encoding="utf-8-sig")
    assert len(table) == 12 and set(table["status"]) == {"new"}
    assert {"segment", "segment_name", "confidence", "far"} <= set(table.columns)
    assert json.loads((out / "drift.json").read_text(encoding="utf-8"))["run"] == info.run_key

    assert_one_line_error(run_cli("assign", str(new_file), "--run", "feedfacefeedface", "--out", str(out),
                                  workspace=workspace), "no saved run")
    assert_one_line_error(run_cli("assign", str(new_file), "--run", info.run_key, "--out", str(out),
                                  "--encoder", "minilm", workspace=workspace), "not minilm")
    assert_one_line_error(run_cli("assign", str(empty), "--run", info.run_key, "--out", str(out),
                                  workspace=workspace))


@pytest.mark.slow
def test_assign_refuses_a_run_whose_encoder_depends_on_the_whole_file():
    run = service.run_and_save(labelled(), TFIDF)
    with pytest.raises(ConfigError, match="depend on the whole"):
        assign(labelled(users_per_group=2, seed=4, prefix="n"), run.run_key)


# Warm-up ---------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_seeded_demo_vectors_make_the_first_run_encode_nothing():
    from segmentation.demo import DEMO_PATH, demo_texts
    from segmentation.embed.cache import EmbeddingCache
    from segmentation.ingest.io import load_comments
    from segmentation.pipeline.segment import prepare

    cache = EmbeddingCache()
    assert seed_demo_embeddings(cache) == len(demo_texts())
    assert seed_demo_embeddings(cache) == 0
    prepared = prepare(load_comments(DEMO_PATH), SegmentConfig(encoder="minilm", k=6), cache=cache, with_map=False)
    assert prepared.n_encoded == 0 and prepared.n_cached == len(demo_texts())
    assert np.isnan(prepared.coords).all()
