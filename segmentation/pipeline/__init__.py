"""One call from comments to segments: SegmentConfig in, SegmentResult out.

``config`` declares the run (SegmentConfig, the pipeline's version); ``segment`` does the work (prepare,
cluster_prepared, segment).
"""
