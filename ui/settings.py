"""The Segment page's settings as widget values, so a restored run shows the settings that made it.

After a browser reload (a new session) the page restores the run its address names; without this its
widgets would start at their defaults and the page would claim the settings had changed.
"""

from __future__ import annotations

from typing import Any

from segmentation.core.params import widget_values
from segmentation.pipeline.config import config_parameters


def segment_widgets(config: dict[str, Any]) -> dict[str, Any]:
    """Widget key → value on the Segment page for a saved config (``SegmentConfig.to_dict()``).

    Derived from the parameters' declarations (:func:`segmentation.core.params.widget_values`); only the
    encoder, whose argument has a widget of its own, is read here.
    """
    encoder, _, argument = str(config.get("encoder", "")).partition(":")
    values: dict[str, Any] = {"seg_encoder": encoder}
    if argument:
        values[f"seg_encoder_arg_{encoder}"] = argument
    for param in config_parameters():
        values.update(widget_values(param, config.get(param.name, param.default)))
    return values
