"""Rough encoding times before anything is measured: fixed rates per bundled encoder, the one-off load and
distillation costs, and the point past which the app suggests the fast encoder.

Rates measured on this machine, once there are some, live in :mod:`segmentation.embed.throughput`.
"""

from __future__ import annotations

import sys

from segmentation.core.paths import workspace_dir
from segmentation.embed.fast import FastEncoder

# Comments per second measured on this project's 2-core CPU machines: MiniLM ~78/s on 50-token comments and
# ~35/s on long product reviews (taken between the two), the others on 10k recipe reviews of ~200
# characters; a first use also pays a one-off load, counted separately.
_THROUGHPUT = {"minilm": 50.0, "multilingual": 35.0, "tfidf": 2000.0, "fast": 8000.0}
_LOAD_SECONDS = {"minilm": 10.0, "multilingual": 2.0, "tfidf": 0.5, "fast": 2.0}
_DISTILL_SECONDS = 30.0
# Above this estimated MiniLM encoding time the app suggests the fast static encoder.
SUGGEST_FAST_AFTER_S = 120.0


def estimate_seconds(spec: str, n_texts: int) -> float | None:
    """Roughly how long encoding ``n_texts`` texts with ``spec`` takes on a small CPU machine.

    Parameters
    ----------
    spec : str
        Encoder spec as for :func:`get_encoder`.
    n_texts : int
        Number of texts still to encode (cached ones cost nothing).

    Returns
    -------
    float or None
        Seconds, or None where speed depends on things unknown here (a remote endpoint, an arbitrary model).
    """
    prefix = spec.partition(":")[0]
    if prefix not in _THROUGHPUT:
        return None
    seconds = n_texts / _THROUGHPUT[prefix]
    if prefix == "minilm" and "sentence_transformers" not in sys.modules:
        seconds += _LOAD_SECONDS[prefix]
    elif prefix == "fast" and not (workspace_dir(create=False) / FastEncoder.MODEL_SUBDIR).is_dir():
        seconds += _DISTILL_SECONDS
    else:
        seconds += _LOAD_SECONDS[prefix] if n_texts else 0.0
    return seconds
