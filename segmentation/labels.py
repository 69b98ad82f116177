"""What a segment label means beyond its number: the one label that is not a segment."""

NOISE = -1
"""The label of users a density clusterer (HDBSCAN) leaves in no segment."""

NOISE_NAME = "Noise / unassigned"
"""What the noise label is called wherever a segment name is shown."""
