"""How long encoding will take, before and while it runs.

Time goes with the *work* in the texts, not their number: a comment costs a fixed part (tokenising,
batching; ``Encoder.per_text_chars``) plus a part that grows with its length up to the point where the
encoder stops reading (``Encoder.max_chars``). Measured here with MiniLM on real recipe reviews and
newsgroup posts, 128 texts per length band in one process: 49 ms for 47-character texts, 290 ms for ~1,000
characters and the same for 8,000 (cut at 256 word pieces, ~1,050 characters); the fixed part is worth
~150 characters. A rate in work per second therefore carries from a file of short reviews to one of long
posts, where a rate in comments per second missed by 2-3x. The fast static encoder is all tokenising:
0.1 ms for 45 characters, 1.8 ms for 1,000, 5-6 ms for 8,000, so little fixed part.

Rates are kept per encoder normalised to an idle machine (:func:`cpu_share`) and scaled by the load when
estimating; measured rates live in :class:`segmentation.embed.throughput.ThroughputLog`, first guesses on the
encoders (``first_rate``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from segmentation.core.errors import EncoderError
from segmentation.embed.base import ENCODERS, get_encoder

# Above this estimated MiniLM encoding time the app suggests the fast static encoder.
SUGGEST_FAST_AFTER_S = 120.0


def text_work(texts: Sequence[str], max_chars: int | None, per_text_chars: float) -> float:
    """The work in ``texts`` for an encoder that reads at most ``max_chars`` characters of each and spends
    as long on each text as on ``per_text_chars`` characters (its ``max_chars`` and ``per_text_chars``)."""
    if max_chars is None:
        return sum(per_text_chars + len(t) for t in texts)
    return sum(per_text_chars + min(len(t), max_chars) for t in texts)


def cpu_share(load: float | None) -> float:
    """The share of the machine an encoder gets beside ``load`` (the 1-minute load average of *other*
    work): its threads compete with the others for the cores, so with as much other work as cores it
    gets about half."""
    if load is None:
        return 1.0
    cores = os.cpu_count() or 1
    return min(1.0, cores / (max(load, 0.0) + cores))


def current_load() -> float | None:
    """The 1-minute load average, or None where the platform has none."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


@dataclass(frozen=True)
class EncodeEstimate:
    """An encoding-time estimate.

    Attributes
    ----------
    seconds : float or None
        Encoding plus the one-off load or distillation where it is still to come; None where the speed
        depends on things unknown here (a remote endpoint, an arbitrary model never timed here).
    work : float
        The work in the texts still to encode (:func:`text_work`); a timed run divides it by its seconds.
    n_texts : int
        Texts still to encode (cached ones cost nothing).
    measured : bool
        Whether the rate was measured on this machine (else a first guess).
    start_s : float
        The part of ``seconds`` the encoder spends starting (loading its model) before it encodes; a timed
        run leaves it out of the speed it records.
    setup_s : float
        The part of ``seconds`` the encoder's one-off preparation takes (the fast encoder's distillation),
        a stage of its own before encoding.
    """

    seconds: float | None
    work: float
    n_texts: int
    measured: bool
    start_s: float = 0.0
    setup_s: float = 0.0


def estimate_encoding(spec: str, texts: Sequence[str], rate: float | None = None,
                      load: float | None = None) -> EncodeEstimate | None:
    """How long encoding ``texts`` (those not cached yet) with ``spec`` takes.

    Parameters
    ----------
    spec : str
        Encoder spec as for :func:`~segmentation.embed.base.get_encoder`.
    texts : sequence of str
        The distinct texts still to encode.
    rate : float, optional
        Work per second measured on this machine, normalised to an idle one; the first guess without.
    load : float, optional
        The machine's current load from other work (:func:`current_load`).

    Returns
    -------
    EncodeEstimate or None
        None for a spec no encoder is registered under, or one it refuses.
    """
    cls = ENCODERS.get(spec.partition(":")[0])
    if cls is None:
        return None
    work = text_work(texts, cls.max_chars, cls.per_text_chars)
    measured = rate is not None
    rate = rate or cls.first_rate
    if rate is None:
        return EncodeEstimate(None, work, len(texts), False)  # its start-up is unknown too
    try:
        encoder = get_encoder(spec)
    except EncoderError:  # a model folder that is not there: the run will say so, the time is moot
        return EncodeEstimate(None, work, len(texts), measured)
    share = cpu_share(load)
    seconds = work / (rate * share) if texts else 0.0
    start_s = encoder.start_seconds() if texts else 0.0
    # A stage of its own before encoding, once per workspace, on both cores.
    setup_s = encoder.setup_s / share if encoder.needs_setup() else 0.0
    return EncodeEstimate(seconds + start_s + setup_s, work, len(texts), measured, start_s, setup_s)
