"""The workspace database: runs, names, history, carry-over, and safety across threads and processes."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from segmentation.core.errors import ConfigError
from segmentation.runs.matching import CarriedName, Match, match_segments
from segmentation.runs.records import SegmentName, run_key
from segmentation.runs.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]
FINGERPRINT = "f" * 64


def assign(groups: dict[int, range]) -> dict[str, int]:
    """User ids u0, u1, ... assigned to segments by ranges of their numbers."""
    return {f"u{user}": segment for segment, users in groups.items() for user in users}


def saved_run(
    workspace: Workspace, key: str, assignments: dict[str, int], fingerprint: str = FINGERPRINT
) -> str:
    workspace.save_run(key, fingerprint, {"algorithm": "kmeans", "key": key}, assignments)
    return key


# run_key and match_segments --------------------------------------------------------------------


def test_run_key_is_stable_short_hex_and_ignores_config_key_order() -> None:
    first = run_key("abc", {"k": 4, "encoder": "tfidf"})
    assert first == run_key("abc", {"encoder": "tfidf", "k": 4})
    assert len(first) == 16 and int(first, 16) >= 0
    assert first != run_key("abd", {"k": 4, "encoder": "tfidf"})
    assert first != run_key("abc", {"k": 5, "encoder": "tfidf"})


def test_match_segments_follows_relabelled_segments() -> None:
    old = assign({0: range(0, 10), 1: range(10, 20)})
    new = assign({7: range(0, 10), 3: range(10, 20)})
    assert match_segments(old, new) == [Match(0, 7, 1.0), Match(1, 3, 1.0)]


def test_match_segments_requires_jaccard_of_at_least_the_threshold() -> None:
    old = assign({0: range(0, 10)})
    # 5 shared of 10 in either: Jaccard exactly 0.5 counts; 4 of 11 does not.
    assert match_segments(old, assign({1: range(5, 10)})) == [Match(0, 1, 0.5)]
    assert match_segments(old, assign({1: range(0, 4), 2: range(4, 11)})) == [Match(0, 2, 6 / 11)]
    assert match_segments(old, assign({1: range(6, 11)})) == []


def test_match_segments_gives_an_old_segment_to_only_one_of_two_equal_halves() -> None:
    old = assign({0: range(0, 10)})
    new = assign({1: range(0, 5), 2: range(5, 10)})
    matches = match_segments(old, new)
    assert len(matches) == 1
    assert matches[0].old_id == 0 and matches[0].jaccard == 0.5


def test_match_segments_is_one_to_one_maximising_total_overlap() -> None:
    # Below 0.5 one new segment can overlap two old ones. New 5 is mostly old 0 (J=7/15) but also
    # takes part of old 1 (J=5/17); new 6 is the rest of old 0 (J=0.3). Giving new 5 to old 0 would
    # leave old 1 unmatched; the assignment pairs both (total 0.59 instead of 0.47).
    old = assign({0: range(0, 10), 1: range(10, 20)})
    new = {**assign({5: range(0, 7), 6: range(7, 10)}), **assign({5: range(10, 15)})}
    matches = match_segments(old, new, threshold=0.29)
    assert matches == [Match(0, 6, 0.3), Match(1, 5, 5 / 17)]


def test_match_segments_edge_cases() -> None:
    old = assign({0: range(0, 4)})
    assert match_segments({}, old) == []
    assert match_segments(old, {}) == []
    # Noise never matches, even when it is the same users.
    assert match_segments(assign({-1: range(0, 4)}), assign({-1: range(0, 4)})) == []
    # Users missing from one run count in the union, so they lower the Jaccard.
    assert match_segments(old, assign({0: range(2, 4)})) == [Match(0, 0, 0.5)]
    # Disjoint users: nothing shared, nothing matched.
    assert match_segments(old, assign({0: range(10, 14)})) == []
    with pytest.raises(ConfigError):
        match_segments(old, old, threshold=0)
    with pytest.raises(ConfigError):
        match_segments(old, old, threshold=1.5)


# Runs and names ---------------------------------------------------------------------------------


def test_workspace_lives_in_the_workspace_folder_by_default(workspace: Path) -> None:
    assert Workspace().path == workspace / "workspace.sqlite"
    assert (workspace / "workspace.sqlite").is_file()


def test_saved_names_and_runs_survive_reopening_from_a_new_workspace_object() -> None:
    first = Workspace()
    key = saved_run(first, "run-a", assign({0: range(0, 3), 1: range(3, 5), -1: range(5, 6)}))
    first.save_name(key, 0, "  Espresso   lovers\n ", description=" Buy beans weekly. ")
    first.save_name(key, 1, "Runners", source="llm")

    reopened = Workspace()
    names = reopened.names(key)
    assert set(names) == {0, 1}
    assert names[0].name == "Espresso lovers" and names[0].description == "Buy beans weekly."
    assert (names[0].source, names[1].source) == ("user", "llm")
    assert isinstance(names[0], SegmentName) and names[0].updated_at
    assert reopened.assignments(key) == {"u0": 0, "u1": 0, "u2": 0, "u3": 1, "u4": 1, "u5": -1}
    info = reopened.run(key)
    assert info is not None and info.config == {"algorithm": "kmeans", "key": key} and info.n_named == 2
    assert reopened.run("missing") is None and reopened.assignments("missing") == {}


def test_renaming_replaces_the_name_and_records_history() -> None:
    workspace = Workspace()
    key = saved_run(workspace, "run-a", assign({0: range(0, 3)}))
    workspace.save_name(key, 0, "Coffee")
    workspace.save_name(key, 0, "Coffee")  # no change, no history row
    workspace.save_name(key, 0, "Espresso fans", description="Home baristas")

    assert workspace.names(key)[0].name == "Espresso fans"
    history = workspace.history(key, 0)
    assert [(h.old_name, h.new_name) for h in history] == [(None, "Coffee"), ("Coffee", "Espresso fans")]
    assert history[1].new_description == "Home baristas"


@pytest.mark.parametrize(
    ("name", "description", "source"),
    [
        ("", "", "user"),
        ("   \n\t ", "", "user"),
        ("x" * 81, "", "user"),
        ("ok", "d" * 501, "user"),
        ("bell\x07", "", "user"),
        ("ok", "", "robot"),
    ],
)
def test_invalid_names_are_refused_with_a_config_error(name: str, description: str, source: str) -> None:
    workspace = Workspace()
    key = saved_run(workspace, "run-a", assign({0: range(0, 3)}))
    with pytest.raises(ConfigError):
        workspace.save_name(key, 0, name, description, source=source)
    assert workspace.names(key) == {}


def test_names_at_the_length_limits_are_accepted() -> None:
    workspace = Workspace()
    key = saved_run(workspace, "run-a", assign({0: range(0, 3)}))
    workspace.save_name(key, 0, "n" * 80, "d" * 500)
    assert workspace.names(key)[0].name == "n" * 80


def test_naming_a_run_that_was_never_saved_is_refused() -> None:
    with pytest.raises(ConfigError, match="never saved"):
        Workspace().save_name("nope", 0, "Name")


def test_latest_and_previous_runs_are_per_data_set_newest_first() -> None:
    workspace = Workspace()
    saved_run(workspace, "a", assign({0: range(3)}))
    saved_run(workspace, "b", assign({0: range(3)}))
    saved_run(workspace, "other", assign({0: range(3)}), fingerprint="other")
    assert workspace.latest_run(FINGERPRINT) == "b"
    assert [run.run_key for run in workspace.previous_runs(FINGERPRINT)] == ["b", "a"]
    assert workspace.latest_run("unknown") is None

    saved_run(workspace, "a", assign({0: range(3)}))  # re-running "a" makes it the latest again
    assert workspace.latest_run(FINGERPRINT) == "a"


# Carry-over -------------------------------------------------------------------------------------


def test_carry_over_copies_names_to_matching_segments_of_the_next_run() -> None:
    workspace = Workspace()
    old = saved_run(workspace, "old", assign({0: range(0, 10), 1: range(10, 20), 2: range(20, 30)}))
    workspace.save_name(old, 0, "Coffee", "Beans and espresso")
    workspace.save_name(old, 1, "Running")
    workspace.save_name(old, 2, "Gardening")
    # New run: old 0 → new 4 (identical), old 1 → new 5 (8 of 10 kept), old 2 split in three
    # (J = 0.4, 0.4 and 0.1 with new users), so it matches nothing.
    new = saved_run(
        workspace,
        "new",
        assign({4: range(0, 10), 5: range(12, 20), 6: range(20, 24), 7: range(24, 28), 8: range(28, 40)}),
    )

    report = workspace.carry_over(None, new)

    assert report.from_run_key == old
    assert report.carried == [CarriedName(0, 4, "Coffee", 1.0), CarriedName(1, 5, "Running", 0.8)]
    assert report.dropped == [2]
    assert report.new == [6, 7, 8]
    names = workspace.names(new)
    assert names[4].name == "Coffee" and names[4].description == "Beans and espresso"
    assert names[4].source == names[5].source == "carried"
    assert set(names) == {4, 5}


def test_carry_over_gives_an_old_name_to_only_one_of_two_overlapping_new_segments() -> None:
    workspace = Workspace()
    old = saved_run(workspace, "old", assign({0: range(0, 10)}))
    workspace.save_name(old, 0, "Coffee")
    new = saved_run(workspace, "new", assign({1: range(0, 5), 2: range(5, 10)}))

    report = workspace.carry_over(old, new)

    assert len(report.carried) == 1
    assert list(workspace.names(new).values())[0].name == "Coffee"
    assert len(workspace.names(new)) == 1


def test_carry_over_never_overwrites_a_name_the_user_already_set() -> None:
    workspace = Workspace()
    old = saved_run(workspace, "old", assign({0: range(0, 10), 1: range(10, 20)}))
    workspace.save_name(old, 0, "Coffee")
    workspace.save_name(old, 1, "Running")
    new = saved_run(workspace, "new", assign({3: range(0, 10), 4: range(10, 20)}))
    workspace.save_name(new, 3, "My own name")

    report = workspace.carry_over(old, new)

    assert report.kept == [3]
    assert [c.new_id for c in report.carried] == [4]
    assert workspace.names(new)[3].name == "My own name"
    assert workspace.names(new)[3].source == "user"


def test_carry_over_uses_the_most_recent_named_run_of_the_same_data_only() -> None:
    workspace = Workspace()
    users = assign({0: range(0, 10)})
    older = saved_run(workspace, "older", users)
    workspace.save_name(older, 0, "Older name")
    recent = saved_run(workspace, "recent", users)
    workspace.save_name(recent, 0, "Recent name")
    saved_run(workspace, "unnamed", users)
    foreign = saved_run(workspace, "foreign", users, fingerprint="other data")
    workspace.save_name(foreign, 0, "Other data's name")
    new = saved_run(workspace, "new", users)

    report = workspace.carry_over(None, new)

    assert report.from_run_key == recent
    assert workspace.names(new)[0].name == "Recent name"


def test_carry_over_without_an_earlier_named_run_does_nothing() -> None:
    workspace = Workspace()
    new = saved_run(workspace, "new", assign({0: range(0, 10)}))
    report = workspace.carry_over(None, new)
    assert report.carried == [] and report.from_run_key is None
    assert workspace.names(new) == {}
    with pytest.raises(ConfigError):
        workspace.carry_over(None, "never-saved")


# Concurrency and crashes ------------------------------------------------------------------------


SAVE_NAMES = textwrap.dedent(
    """
    import sys
    from segmentation.runs.workspace import Workspace

    workspace = Workspace(sys.argv[1])
    first = int(sys.argv[3])
    for segment in range(first, first + 10):
        workspace.save_name(sys.argv[2], segment, f"name {segment}")
    """
)


def test_ten_threads_saving_names_of_one_run_lose_none() -> None:
    workspace = Workspace()
    key = saved_run(workspace, "run", assign({0: range(10)}))
    errors: list[BaseException] = []

    def save(first: int) -> None:
        try:
            for segment in range(first, first + 10):
                workspace.save_name(key, segment, f"name {segment}")
        except BaseException as error:  # surfaced by the assert below, not swallowed
            errors.append(error)

    threads = [threading.Thread(target=save, args=(10 * t,)) for t in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    names = Workspace().names(key)
    assert {segment: n.name for segment, n in names.items()} == {s: f"name {s}" for s in range(100)}
    assert len(workspace.history(key)) == 100


def test_ten_processes_saving_names_of_one_run_lose_none() -> None:
    workspace = Workspace()
    key = saved_run(workspace, "run", assign({0: range(10)}))
    # Separate interpreters rather than multiprocessing: spawn re-imports ``__main__``, which an
    # earlier AppTest in the same session may have left pointing at a page script.
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    processes = [
        subprocess.Popen([sys.executable, "-c", SAVE_NAMES, str(workspace.path), key, str(10 * p)], env=env)
        for p in range(10)
    ]
    for process in processes:
        process.wait(timeout=120)

    assert [process.returncode for process in processes] == [0] * 10
    names = Workspace().names(key)
    assert {segment: n.name for segment, n in names.items()} == {s: f"name {s}" for s in range(100)}


CHILD = textwrap.dedent(
    """
    import sys
    from segmentation.runs.workspace import Workspace

    workspace = Workspace(sys.argv[1])
    segment = 0
    while True:
        workspace.save_name(sys.argv[2], segment, f"name {segment}", "description " * 20)
        segment += 1
        sys.stdout.write(f"{segment}\\n")
        sys.stdout.flush()
    """
)


def test_a_process_killed_mid_save_leaves_every_completed_name_and_a_sound_database() -> None:
    workspace = Workspace()
    key = saved_run(workspace, "run", assign({0: range(10)}))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(workspace.path), key], stdout=subprocess.PIPE, text=True, env=env
    )
    completed = 0
    try:
        assert child.stdout is not None
        for line in child.stdout:
            completed = int(line)
            if completed >= 40:
                break
        os.kill(child.pid, signal.SIGKILL)
        # Saves reported between our last read and the kill count as completed too.
        for line in child.stdout:
            completed = int(line)
    finally:
        child.kill()
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    assert completed >= 40

    names = Workspace(workspace.path).names(key)
    assert all(names[segment].name == f"name {segment}" for segment in range(completed))
    with sqlite3.connect(workspace.path) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    # The database stays writable after the crash.
    workspace.save_name(key, 10_000, "after the crash")
    assert workspace.names(key)[10_000].name == "after the crash"
