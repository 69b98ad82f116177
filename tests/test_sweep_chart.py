"""The k-sweep chart: one panel per quality figure of a real sweep, each with the chosen k dotted and the run's k
solid, and its axes titled."""

from __future__ import annotations

import json

import plotly.io

from segmentation.ingest.io import from_frame
from segmentation.pipeline.config import SegmentConfig
from segmentation.pipeline.segment import prepare, sweep
from segmentation.present.views import sweep_long
from tests.fixtures import labelled_comments
from ui.charts import sweep_chart


def test_every_panel_marks_the_chosen_and_the_current_k_and_names_its_axes():
    config = SegmentConfig(encoder="tfidf", reduction="none")
    prepared = prepare(from_frame(labelled_comments(users_per_group=8, comments_per_user=2, seed=6)), config,
                       with_map=False)
    long = sweep_long(sweep(prepared, config, range(2, 7)))
    spec = json.loads(plotly.io.to_json(sweep_chart(long, chosen=4, current=5), validate=False))
    panels = {trace["name"]: (trace.get("xaxis", "x"), trace.get("yaxis", "y")) for trace in spec["data"]}
    assert len(panels) == long["metric"].nunique() >= 4
    layout = spec["layout"]
    for metric, (xaxis, yaxis) in panels.items():
        marks = {(shape["x0"], shape["line"].get("dash")) for shape in layout["shapes"]
                 if shape["xref"] == xaxis and shape["yref"] == f"{yaxis} domain"}
        assert marks == {(4, "dot"), (5, None)}, metric
        assert layout[xaxis.replace("x", "xaxis")]["title"]["text"] == "k (number of segments)"
        assert layout[yaxis.replace("y", "yaxis")]["title"]["text"] == metric.replace("_", " ")
    assert "chosen k = 4, dotted; this run's k = 5, solid" in layout["title"]["text"]
    # The same k chosen and run: one mark per panel.
    same = json.loads(plotly.io.to_json(sweep_chart(long, chosen=4, current=4), validate=False))
    assert len(same["layout"]["shapes"]) == len(panels)
