"""What the Segment page does not compute again when only k changes (issue 20: a new k redrew in 95 s after its
8 s computation on 13,811 real users, sweeping every k again)."""

from __future__ import annotations

import pytest

import segmentation.cluster.stage as stage
from tests.pages_helpers import figure, metric, open_chart, run_button, run_segmentation, start


@pytest.mark.slow
def test_a_new_k_redraws_the_k_sweep_without_sweeping_again(monkeypatch):
    sweeps = []
    real = stage.k_sweep
    monkeypatch.setattr(stage, "k_sweep", lambda *args, **kwargs: sweeps.append(args[2]) or real(*args, **kwargs))
    at = open_chart(run_segmentation(start(), encoder="tfidf", k=4), "Quality sweep")
    before = figure(at, "Quality against k")
    swept = len(sweeps)
    at.slider(key="seg_k").set_value(6).run()
    run_button(at).click().run()
    assert not at.exception, at.exception
    assert metric(at, "Segments") == "6"
    assert len(sweeps) == swept, "the sweep over every k was computed again for a new k"
    after = figure(at, "Quality against k")
    assert [t["y"] for t in after["data"]] == [t["y"] for t in before["data"]]  # the same sweep, drawn again
    assert "this run's k = 6" in after["layout"]["title"]["text"]
