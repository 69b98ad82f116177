"""Profiles to segments: clusterers and their registry, the choice of k, stability, quality metrics, placing new
users."""
