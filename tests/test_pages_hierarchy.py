"""The Segments page's broad groups (issue 23, item 3): built over the run's segments, the map and the cards
switched between the layers, broad-group names kept in the workspace apart from segment names."""

from __future__ import annotations

import pytest

from segmentation.runs.layers import Layers
from tests.pages_helpers import array, figure, run_segmentation, start, texts
from tests.test_pages_segments import segments_page


def _coarse_name_key(at, group: int) -> str:
    return f"coarse_name_{at.session_state['run'].run_key}_{group}"


@pytest.mark.slow
def test_broad_groups_colour_the_map_by_layer_and_take_names_of_their_own():
    at = segments_page(run_segmentation(start(), k=5))
    run = at.session_state["run"]
    assert not [b for b in at.button if b.key == "hier_build" and b.disabled]
    at.selectbox(key="hier_coarse_k_5").set_value(2).run()
    next(b for b in at.button if b.key == "hier_build").click().run()
    assert not at.exception, at.exception
    parent = Layers().tree(run.run_key)["parent"]
    assert sorted(parent) == list(range(5)) and set(parent.values()) == {0, 1}
    assert any(t.startswith("2 broad groups over 5 segments") for t in texts(at))

    # Coarse layer: two colours on the map, each holding exactly the users of its segments.
    chart = figure(at, "Users on the map, coloured by broad groups")
    sizes = {trace["name"]: len(array(trace["x"])) for trace in chart["data"] if trace.get("mode") == "markers"}
    assert len(sizes) == 2
    by_group = {g: sum(int((run.result.labels == s).sum()) for s, p in parent.items() if p == g) for g in (0, 1)}
    assert sorted(sizes.values()) == sorted(by_group.values())

    # A broad group may not take a segment's name; a name of its own is saved, escaped on the map.
    fine_name = run.result.segments[0].name
    at.text_input(key=_coarse_name_key(at, 0)).input(fine_name).run()
    assert any("already names a segment of the fine layer" in e.value for e in at.error)
    assert 0 not in Layers().names(run.run_key)
    at.text_input(key=_coarse_name_key(at, 0)).input("Board <b>one</b>").run()
    assert Layers().names(run.run_key)[0].name == "Board <b>one</b>"
    at = segments_page(at)
    legend = [t["name"] for t in figure(at, "Users on the map, coloured by broad groups")["data"]]
    assert "Board &lt;b&gt;one&lt;/b&gt;" in legend and "Board <b>one</b>" not in legend

    # Fine layer: the map has the run's five segments and the tree lists each segment under its group.
    at.radio(key="hier_layer").set_value("fine").run()
    assert not at.exception, at.exception
    fine_chart = figure(at, "Users on the map, coloured by segments")
    segments = [t for t in fine_chart["data"] if t.get("mode") == "markers"
                and not t["name"].startswith("Between segments")]  # the fine layer keeps its soft membership
    assert len(segments) == 5
    tree = next(frame.value for frame in at.dataframe if list(frame.value.columns) == ["broad group", "segment",
                                                                                        "users"])
    assert len(tree) == 5 and set(tree["broad group"]) >= {"Board <b>one</b>"}
    assert tree["users"].sum() == len(run.result.labels)


@pytest.mark.slow
def test_a_run_of_two_segments_says_broad_groups_need_three():
    at = segments_page(run_segmentation(start(), k=2))
    assert not [b for b in at.button if b.key == "hier_build"]
    assert any("needs 3 segments or more" in c.value for c in at.caption)
