"""The run's configuration: :class:`SegmentConfig`, the constants its checks read, and the pipeline version.

Kept apart from :mod:`segmentation.pipeline.segment` (the work) so that the folder says where a run's
parameters are declared, and a module that only builds or reads a configuration need not import the stages
that run it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

from segmentation.cluster.agglomerative import LINKAGE
from segmentation.cluster.base import CLUSTERERS, K_MAX, K_MIN, Clusterer, K, algorithms, clusterer_parameters
from segmentation.cluster.density import CLUSTER_SELECTION, MIN_CLUSTER_SIZE, MIN_SAMPLES, NOISE
from segmentation.core.constraints import (
    MAX_K_SWEEP,
    SEED,
    Interval,
    Options,
    Text,
    TextTuple,
    validate_all,
)
from segmentation.core.errors import ConfigError
from segmentation.core.params import Param
from segmentation.embed.base import DEFAULT_ENCODER

REDUCTIONS = ("auto", "umap", "pca", "none")
# Dimensions kept by PCA before k-means-like algorithms: enough for sentence embeddings' variance,
# few enough that a k-sweep stays interactive at 10k users.
PCA_COMPONENTS = 50
# Bump when the same data and config would give other segments (a changed algorithm, default or space):
# a run key carries it, so a run saved before is recomputed under a new key and its names move only to
# the segments that share their users (see segmentation.runs.service.restore).
PIPELINE_VERSION = 2
# Config keys renamed since runs were first saved: old name -> current name.
RENAMED_KEYS: dict[str, str] = {}

# The parameters every run has, whatever the algorithm (the algorithms' own live on their classes).
ENCODER = Param("encoder", (Text(),), DEFAULT_ENCODER,
                "minilm | multilingual | tfidf | fast | sentence-transformers:NAME_OR_PATH | openai:MODEL "
                "(default: minilm where installed)")
K_MIN_PARAM = Param("k_min", (Interval(int, 2, MAX_K_SWEEP),), K_MIN, "smallest k that --k auto chooses")
K_MAX_PARAM = Param("k_max", (Interval(int, 2, MAX_K_SWEEP),), K_MAX, "largest k that --k auto chooses")
REDUCTION = Param("reduction", (Options(REDUCTIONS),), "auto",
                  "clustering space: auto | umap | pca | none (auto: UMAP for hdbscan, PCA for the others)")
N_COMPONENTS = Param("n_components", (Interval(int, 2, 100),), 5, "dimensions of a UMAP clustering space")
HALF_LIFE = Param("half_life_days", (Interval(float, 0, None, closed="neither"), None), None,
                  "weight recent comments more: a comment this many days older counts half (needs a time column)",
                  label="Recency half-life in days (0 = off)", key="seg_half_life", shown=0.0)
ATTRIBUTES = Param("attributes", (TextTuple(),), (),
                   "comma-separated user attribute columns (one value per user) to mix into the profiles",
                   label="User attributes mixed into the profiles", key="seg_attributes")
ATTRIBUTE_WEIGHT = Param("attribute_weight", (Interval(float, 0, None),), 0.5,
                         "weight of the attribute block against the text block")
SEED_PARAM = Param("seed", tuple(SEED), 0, "seed for every random step", label="Random seed", key="seg_seed")
COMMON = (ENCODER, K_MIN_PARAM, K_MAX_PARAM, REDUCTION, N_COMPONENTS, HALF_LIFE, ATTRIBUTES, ATTRIBUTE_WEIGHT,
          SEED_PARAM)


DEFAULT_ALGORITHM = "kmeans"


def algorithm_param() -> Param:
    """The algorithm, one of the registered clusterers (read when asked: a clusterer may register later)."""
    names = algorithms()
    return Param("algorithm", (Options(tuple(names)),), DEFAULT_ALGORITHM, " | ".join(names), label="Algorithm",
                 key="seg_algorithm", option_labels={name: CLUSTERERS[name].label for name in names})


def config_parameters() -> list[Param]:
    """Every parameter a run takes: the common ones, the algorithm, and every registered clusterer's."""
    return [ENCODER, algorithm_param(), *clusterer_parameters(), *COMMON[1:]]


@dataclass(frozen=True)
class SegmentConfig:
    """Every parameter of a segmentation run; the run is a pure function of the data and this.

    Parameters
    ----------
    encoder : str
        Encoder spec: ``minilm``, ``multilingual``, ``tfidf``, ``fast``, ``sentence-transformers:X``
        or ``openai:X``.
    algorithm : {"kmeans", "agglomerative", "bisecting", "hdbscan"}
    k : int or "auto"
        Number of segments; ``"auto"`` picks the most reproducible k in ``k_min..k_max`` (see
        :func:`segmentation.cluster.selection.choose_k`). Ignored by algorithms that find their own number.
    k_min, k_max : int
        Range ``k="auto"`` chooses in (the sweep also scores k=2, taken only for a clear two-group split).
    linkage : {"ward", "average", "complete"}
        Agglomerative linkage.
    min_cluster_size : int or "auto"
        HDBSCAN's smallest segment; ``"auto"`` picks it by density-based validity over a sweep.
    min_samples : int or None
        HDBSCAN's density smoothing; ``None`` means ``min_cluster_size``. Smaller leaves fewer users as noise.
    cluster_selection : {"eom", "leaf"}
        HDBSCAN's cluster selection: ``"leaf"`` gives more, finer segments where ``"eom"`` leaves one huge one.
    noise : {"keep", "nearest"}
        HDBSCAN noise users: keep them as segment ``-1`` or give each the nearest segment.
    reduction : {"auto", "umap", "pca", "none"}
        Space the users are clustered in. ``auto`` is a 5-d UMAP for HDBSCAN (density needs few
        dimensions) and PCA to 50 dimensions for the others.
    n_components : int
        Dimensions of a UMAP reduction.
    half_life_days : float or None
        Recency weighting of a user's comments when the data has a time column.
    attributes : tuple of str
        User attribute columns (one value per user) mixed into the profile.
    attribute_weight : float
        Weight of the attribute block against the text block.
    seed : int
        Seed for every random step.
    extra : tuple of (name, value) pairs
        Parameters of clusterers registered beyond those above (one new file adds one: no field here);
        read them as attributes (``config.covariance_type``). The chosen algorithm's are filled with their
        defaults.
    """

    # Defaults come from the declarations (the parameter's one home); the fields stay for attribute access.
    encoder: str = ENCODER.default
    algorithm: str = DEFAULT_ALGORITHM
    k: int | Literal["auto"] = K.default
    k_min: int = K_MIN_PARAM.default
    k_max: int = K_MAX_PARAM.default
    linkage: str = LINKAGE.default
    min_cluster_size: int | Literal["auto"] = MIN_CLUSTER_SIZE.default
    min_samples: int | None = MIN_SAMPLES.default
    cluster_selection: str = CLUSTER_SELECTION.default
    noise: str = NOISE.default
    reduction: str = REDUCTION.default
    n_components: int = N_COMPONENTS.default
    half_life_days: float | None = HALF_LIFE.default
    attributes: tuple[str, ...] = ATTRIBUTES.default
    attribute_weight: float = ATTRIBUTE_WEIGHT.default
    seed: int = SEED_PARAM.default
    extra: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        extra = dict(self.extra)
        declared = {p.name: p for p in clusterer_parameters()}
        known = {f.name for f in fields(self)}
        unknown = sorted(set(extra) - set(declared) | set(extra) & known)
        if unknown:
            raise ConfigError(f"unknown parameter {unknown[0]!r}: no registered clusterer declares it")
        if self.algorithm in CLUSTERERS:
            for param in CLUSTERERS[self.algorithm].parameters:
                if param.name not in known:
                    extra.setdefault(param.name, param.default)
        values = {**self._fields(), **extra}
        checked = validate_all(values, self.parameter_constraints())
        for name, value in checked.items():
            if name in known:
                object.__setattr__(self, name, value)  # NumPy scalars become plain numbers, lists tuples
            elif name in extra:
                extra[name] = value
        object.__setattr__(self, "extra", tuple(sorted(extra.items())))
        # Resolved here, once: the stages take the class, never the name (issue 19 counted ten lookups).
        object.__setattr__(self, "_clusterer", CLUSTERERS[self.algorithm])
        if self.k_max < self.k_min:
            raise ConfigError(
                f"k_max={self.k_max} is not allowed: k_max must be at least k_min ({self.k_min})"
            )

    def __getattr__(self, name: str) -> Any:
        # Only reached when no field has the name: a parameter of a clusterer registered beyond the fields.
        if name.startswith("__") or name == "extra":
            raise AttributeError(name)
        for key, value in self.extra:
            if key == name:
                return value
        raise AttributeError(f"SegmentConfig has no parameter {name!r}")

    def _fields(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("extra")
        return data

    @staticmethod
    def parameter_constraints() -> dict[str, list]:
        """What each parameter accepts, from the declarations (see :mod:`segmentation.core.params`)."""
        return {param.name: list(param.constraints) for param in config_parameters()}

    @property
    def clusterer(self) -> type[Clusterer]:
        """The algorithm's registered class, resolved when the config was made."""
        return self._clusterer

    @property
    def space(self) -> tuple[str, int]:
        """The clustering space as (method, dimensions) once ``auto`` is resolved."""
        method = self.reduction
        if method == "auto":
            method = self.clusterer.default_space
        return method, (PCA_COMPONENTS if method == "pca" else self.n_components)

    def prepare_key(self) -> tuple:
        """The part of the config that ``prepare`` depends on (for caches)."""
        return (self.encoder, self.half_life_days, self.attributes, self.attribute_weight, self.seed)

    def to_dict(self) -> dict:
        data = {**self._fields(), **dict(self.extra)}
        data["attributes"] = list(self.attributes)
        return data

    @classmethod
    def from_dict(cls, data: Mapping) -> SegmentConfig:
        """Build a config from ``to_dict()`` output, a saved run's config or parsed options.

        Parameters
        ----------
        data : mapping
            Field values. Keys renamed since (``RENAMED_KEYS``) are read under their new name; keys this
            version does not know (a field since removed, or one added by a newer version) are ignored,
            so a workspace saved by another version still restores. ``None`` stands for the default of a
            field whose default is not None.

        Returns
        -------
        SegmentConfig

        Raises
        ------
        ConfigError
            When a known field holds a value the config refuses.
        """
        defaults = {f.name: f.default for f in fields(cls) if f.name != "extra"}
        declared = {p.name: p.default for p in clusterer_parameters() if p.name not in defaults}
        values, extra = {}, {}
        for key, value in data.items():
            key = RENAMED_KEYS.get(key, key)
            if key in defaults and (value is not None or defaults[key] is None):
                values[key] = value
            elif key in declared and (value is not None or declared[key] is None):
                extra[key] = value
        if extra:
            values["extra"] = tuple(extra.items())
        if "attributes" in values:
            values["attributes"] = tuple(values["attributes"] or ())
        if isinstance(values.get("k"), str) and values["k"] != "auto" and values["k"].strip().isdigit():
            values["k"] = int(values["k"])
        return cls(**values)
