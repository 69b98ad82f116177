"""Content keys and kept figures (``ui.loaders.content_key`` / ``kept``): a rerun with the same inputs reuses the
figure; any change to an input, however deep in a large table, builds it again."""

from __future__ import annotations

import numpy as np
import pandas as pd

from segmentation.present.views import size_frame
from ui import charts, loaders


def test_a_change_of_one_value_in_a_large_table_changes_its_key():
    # Streamlit hashes tables of 100k rows and more from a sample; the key must see every value.
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"user": [f"u{i}" for i in range(150_000)], "x": rng.normal(size=150_000)})
    same = frame.copy()
    changed = frame.copy()
    changed.loc[123_457, "user"] = "someone else"
    assert loaders.content_key(frame, 1) == loaders.content_key(same, 1)
    assert loaders.content_key(frame, 1) != loaders.content_key(changed, 1)
    assert loaders.content_key(frame, 1) != loaders.content_key(frame, 2)
    values = np.arange(10.0)
    assert loaders.content_key(values) != loaders.content_key(values.astype(np.float32))
    assert loaders.content_key(np.array(["a", "b"], dtype=object)) != loaders.content_key(
        np.array(["a", "c"], dtype=object))


def test_a_kept_figure_is_drawn_once_per_content_of_its_inputs():
    from segmentation.describe.segments import SegmentDescription

    segments = [SegmentDescription(id=0, name="Coffee", size=30, share=0.6, keywords=[], representative_comments=[]),
                SegmentDescription(id=1, name="Runners", size=20, share=0.4, keywords=[], representative_comments=[])]
    labels = {0: "Coffee", 1: "Runners"}
    colours = charts.segment_colours(labels)
    first = loaders.kept(charts.segment_sizes, size_frame(segments, labels), colours)
    again = loaders.kept(charts.segment_sizes, size_frame(segments, labels), colours)
    assert again is first  # a rerun with nothing changed builds nothing
    renamed = {0: "Espresso fans", 1: "Runners"}
    other = loaders.kept(charts.segment_sizes, size_frame(segments, renamed), charts.segment_colours(renamed))
    assert other is not first
    assert list(other.data[0].y) == ["Espresso fans", "Runners"]
    assert list(first.data[0].y) == ["Coffee", "Runners"]  # the kept one is left as it was drawn
