"""The knife plot draws each segment as one filled outline of its users' silhouettes (a bar per user cost the
browser about 1 s per page run at 5,000 users), and still shows every user's value in place."""

from __future__ import annotations

import numpy as np

from segmentation.cluster.metrics import silhouette_values
from segmentation.ingest.io import from_frame
from segmentation.pipeline.config import SegmentConfig
from segmentation.pipeline.segment import cluster_prepared, prepare
from segmentation.present.views import knife_frame, segment_labels
from tests.fixtures import labelled_comments
from ui.charts import segment_colours, silhouette_knife


def test_the_knife_plot_is_one_filled_outline_per_segment_with_every_users_value():
    config = SegmentConfig(encoder="tfidf", k=3, reduction="none")
    prepared = prepare(from_frame(labelled_comments(users_per_group=8, comments_per_user=2, seed=4)), config,
                       with_map=False)
    result = cluster_prepared(prepared, config)
    labels = segment_labels(result.segments)
    values = silhouette_values(prepared.space(*config.space), result.labels)
    fig = silhouette_knife(knife_frame(result.labels, values, labels), float(np.nanmean(values)),
                           segment_colours(labels))
    assert len(fig.data) == 3 and all(t.type == "scatter" and t.fill == "tozerox" for t in fig.data)
    for trace, segment in zip(fig.data, sorted(labels), strict=True):
        own = np.sort(values[result.labels == segment])[::-1]
        assert np.allclose(trace.x, own)  # every user's value, largest first within the segment
        assert trace.name == labels[segment] and trace.fillcolor == segment_colours(labels)[labels[segment]]
