"""The Runs page: saved runs listed, one shown again with its data and settings, two compared, names
traced back across runs."""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from segmentation.runs.workspace import Workspace
from tests.fixtures import labelled_comments
from tests.pages_helpers import array, figure, metric, run_segmentation, start, unescape_markdown
from tests.test_pages_data import upload


def runs_page(at):
    at.switch_page("pages/runs.py").run()
    assert not at.exception, at.exception
    return at


def select(at, *runs: str):
    """Tick the table rows of these runs, as a click on their row boxes does."""
    listed = list(at.dataframe[0].value["run"])
    at.session_state["runs_table"] = {"selection": {"rows": [listed.index(r) for r in runs], "columns": [],
                                                    "cells": []}}
    at.run()
    assert not at.exception, at.exception
    return at


def show_button(at):
    return next(b for b in at.button if b.label == "Show this run")


@pytest.mark.slow
def test_two_runs_are_listed_compared_with_their_overlap_and_named_with_their_history():
    at = run_segmentation(start(), k=4)
    first = at.session_state["run"].run_key
    for segment in range(4):  # every segment named, so that whichever comes back at k=5 carries its name
        Workspace().save_name(first, segment, "Bargain <b>hunters</b>" if segment == 0 else f"Group {segment}")
    at = run_segmentation(at, k=5)
    second = at.session_state["run"].run_key

    at = runs_page(at)
    listed = at.dataframe[0].value
    assert list(listed["run"]) == [second, first]  # most recent first
    assert listed["this data"].all() and list(listed["shown"]) == [True, False]
    assert list(listed["k"]) == [5, 4]

    at = select(at, first, second)
    # Expected from the two saved assignments alone.
    old, new = Workspace().assignments(first), Workspace().assignments(second)
    users = sorted(old)
    assert metric(at, "Users in both") == f"{len(users):,}"
    ari = adjusted_rand_score([old[u] for u in users], [new[u] for u in users])
    assert metric(at, "Agreement (ARI)") == f"{ari:.2f}"
    sankey = figure(at, f"Where the users of run {first}")["data"][0]
    assert sankey["type"] == "sankey"
    assert sum(array(sankey["link"]["value"]).astype(int)) == len(users)
    labels = list(sankey["node"]["label"])
    assert len(labels) == len(set(old.values())) + len(set(new.values()))
    assert "Bargain &lt;b&gt;hunters&lt;/b&gt;" in labels  # the saved name, shown as text, never as HTML

    # Names typed on the first run were carried to the second; their history goes back to where they were typed.
    carried = Workspace().names(second)
    assert carried, "no k=5 segment shares half its users with a k=4 one: the demo no longer exercises carrying"
    at = select(at, second)
    history = at.dataframe[1].value.set_index("segment")
    assert set(history.index) == set(carried)
    for segment, saved in carried.items():
        old_segment = 0 if saved.name.startswith("Bargain") else int(saved.name.split()[-1])
        steps = history.loc[segment, "history"].splitlines()
        assert len(steps) == 2
        assert f"run {first}, segment {old_segment}: typed “{saved.name}”" in steps[0]
        assert steps[1].endswith(f"run {second}, segment {segment}: carried over from run {first}")


@pytest.mark.slow
def test_showing_an_older_run_brings_back_its_data_settings_and_segments():
    frame = labelled_comments(users_per_group=6, comments_per_user=2)
    at = upload(start(), "shop.csv", frame.to_csv(index=False).encode())
    at = run_segmentation(at, k=3)
    on_upload = at.session_state["run"].run_key
    at.switch_page("pages/data.py").run()
    at.radio(key="data_choice").set_value("demo").run()
    at = run_segmentation(at, k=5)

    at = select(runs_page(at), on_upload)
    assert not at.dataframe[0].value.set_index("run").loc[on_upload, "this data"]
    show_button(at).click().run()
    assert not at.exception, at.exception
    # The Segment page, on the uploaded file again, with the run's k and no "changed settings" line.
    assert any("shop.csv: 24 users" in t.value for t in at.text)
    assert at.session_state["run"].run_key == on_upload
    assert metric(at, "Segments") == "3"
    assert at.slider(key="seg_k").value == 3 and not at.checkbox(key="seg_auto_k").value
    assert not any("changed settings" in c.value for c in at.caption)


@pytest.mark.slow
def test_a_run_of_a_file_never_uploaded_here_says_how_to_show_it():
    at = run_segmentation(start(), k=4)
    # A run saved from the command line on a file the app never saw.
    workspace = Workspace()
    workspace.save_run("elsewhere", "e" * 64, {"encoder": "tfidf", "algorithm": "kmeans", "k": 3},
                       {"u1": 0, "u2": 1, "u3": 2}, record={"source": "crm_export.csv", "file_sha256": "f" * 64})
    at = select(runs_page(at), "elsewhere")
    show_button(at).click().run()
    assert not at.exception
    assert any("crm_export.csv, which is not kept in the workspace: upload that file on the Data page"
               in unescape_markdown(e.value) for e in at.error)
    assert at.session_state["run"].run_key != "elsewhere"  # the demo's run is still the one shown


@pytest.mark.slow
def test_two_runs_sharing_no_user_are_refused_with_a_reason():
    at = run_segmentation(start(), k=4)
    Workspace().save_run("other", "e" * 64, {"encoder": "tfidf", "algorithm": "kmeans", "k": 2},
                         {"nobody-1": 0, "nobody-2": 1})
    at = select(runs_page(at), "other", at.session_state["run"].run_key)
    assert any("share no user" in e.value for e in at.error)
    assert pd.Series([m.label for m in at.metric]).empty
