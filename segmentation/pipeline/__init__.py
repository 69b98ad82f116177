"""One call from comments to segments: SegmentConfig in, SegmentResult out."""
