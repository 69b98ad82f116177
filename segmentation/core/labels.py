"""What a segment label means beyond its number: the one label that is not a segment."""

from collections.abc import Mapping

NOISE = -1
"""The label of users a density clusterer (HDBSCAN) leaves in no segment."""

MAX_NAME_LENGTH = 80
"""The longest segment name the workspace keeps (characters, after trimming): a name shown on a card, a map label
and an export, whether typed, suggested or a persona's."""

NOISE_NAME = "Noise / unassigned"
"""What the noise label is called wherever a segment name is shown."""


def fallback_name(segment: int) -> str:
    """What a segment is called before anyone names it: "Segment 3", or the noise label's name."""
    return NOISE_NAME if segment == NOISE else f"Segment {segment}"


def shown_name(names: Mapping[int, str] | None, segment: int) -> str:
    """The name a segment is shown under: its entry in ``names`` (saved or suggested), else :func:`fallback_name`."""
    return (names or {}).get(segment) or fallback_name(segment)
