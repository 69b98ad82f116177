"""The Segment page's settings as a form: the choices it offers, their labels and defaults, the advice beside them
and the config they make.

Everything here follows from the registries (encoders, clusterers) and the config's own parameter declarations,
so that the page only draws widgets and a new encoder or clusterer needs no change to it. Pages import the
presentation layer and ``ui``, never a stage directly (``tests/test_layering.py``): what a page offers is decided
here, once, where a test reads it without Streamlit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from segmentation.cluster.base import CLUSTERERS, Clusterer, K, algorithms
from segmentation.embed.base import DEFAULT_ENCODER, EncoderStatus, encoder_status
from segmentation.embed.estimate import SUGGEST_FAST_AFTER_S
from segmentation.embed.minilm import check_app_model_path
from segmentation.ingest.comments import Comments
from segmentation.pipeline.config import ATTRIBUTES, HALF_LIFE, SEED_PARAM, SegmentConfig
from segmentation.pipeline.config import DEFAULT_ALGORITHM as DEFAULT_ALGORITHM  # the page's preselected one
from segmentation.pipeline.segment import suggest_encoder

# The settings under "Advanced", declared once in the config (label, widget key, default).
ADVANCED = {"seed": SEED_PARAM, "half_life_days": HALF_LIFE, "attributes": ATTRIBUTES}


@dataclass(frozen=True)
class EncoderChoices:
    """The encoder picker for one data set: every registered encoder with its availability, and the one to
    preselect for these comments."""

    statuses: Mapping[str, EncoderStatus]
    suggested: str

    def label(self, name: str) -> str:
        """The picker's line for an encoder, saying when it cannot run here."""
        status = self.statuses[name]
        return status.label + ("" if status.available else " — unavailable")

    def language_warning(self, name: str) -> str | None:
        """Why the default English encoder is the wrong choice for these comments, when it is."""
        if self.suggested == DEFAULT_ENCODER or name != DEFAULT_ENCODER:
            return None
        return (f"These comments are mostly not English and {self.statuses[name].label} reads only English: "
                f"choose {self.statuses[self.suggested].label}.")


def encoder_choices(comments: Comments) -> EncoderChoices:
    """The encoders the page offers for ``comments``, in registration order, and the one to preselect."""
    return EncoderChoices({status.name: status for status in encoder_status()}, suggest_encoder(comments))


def encoder_spec(name: str, argument: str) -> str:
    """The encoder as the config names it: ``name``, or ``name:argument`` when the encoder takes one."""
    return f"{name}:{argument.strip()}" if argument.strip() else name


def algorithm_names() -> list[str]:
    """The registered algorithms in the page's order."""
    return algorithms()


def clusterer(algorithm: str) -> type[Clusterer]:
    """The class behind an algorithm's name: its label, parameters and swept parameter."""
    return CLUSTERERS[algorithm]


def sweep_top(n_users: int) -> int:
    """The largest k the k slider and the sweep chart cover for ``n_users`` users."""
    return max(2, min(K.most, n_users))


def segment_config(encoder: str, algorithm: str, own: Mapping[str, Any], *, half_life_days: float,
                   attributes: Sequence[str], seed: int) -> SegmentConfig:
    """The config the page's settings make, checked: a model folder typed on the page must lie under the
    allowed roots, and every value passes its declaration (a :class:`SegmentationError` says which does not)."""
    check_app_model_path(encoder)
    return SegmentConfig.from_dict({
        "encoder": encoder, "algorithm": algorithm, **own, "half_life_days": float(half_life_days) or None,
        "attributes": list(attributes), "seed": int(seed),
    })


def suggests_fast(encoder: str, seconds: float, choices: EncoderChoices) -> bool:
    """Whether to advise exploring with the fast encoder: MiniLM would take minutes and the fast one can run.

    Measured on real labelled reviews (issue 22): agreement with the true groups 0.79 with the fast encoder
    against 0.91 with MiniLM, so the advice (:func:`fast_advice`) keeps MiniLM for the segments a user keeps.
    """
    fast = choices.statuses.get("fast")
    return encoder == "minilm" and seconds > SUGGEST_FAST_AFTER_S and fast is not None and fast.available


def fast_advice(n_comments: int, fast_seconds: float | None) -> str:
    """The advice :func:`suggests_fast` calls for, with the fast encoder's own estimate."""
    return (f"MiniLM would take minutes on {n_comments:,} comments. The fast encoder needs about "
            f"{duration(fast_seconds or 0)}; its segments matched real groups less well in our tests, "
            "so use it to explore and MiniLM for the segments you keep.")


def duration(seconds: float) -> str:
    """A time for a caption: seconds under a minute and a half, minutes above."""
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"

