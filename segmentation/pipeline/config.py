"""The run's configuration: :class:`SegmentConfig`, the constants its checks read, and the pipeline version.

Kept apart from :mod:`segmentation.pipeline.segment` (the work) so that the folder says where a run's
parameters are declared, and a module that only builds or reads a configuration need not import the stages
that run it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Literal

from segmentation.cluster.agglomerative import LINKAGES
from segmentation.cluster.base import CLUSTERERS, clusterer_class
from segmentation.cluster.density import CLUSTER_SELECTIONS, NOISE_POLICIES
from segmentation.cluster.selection import K_MAX, K_MIN
from segmentation.core.constraints import (
    MAX_K,
    MAX_K_SWEEP,
    SEED,
    Interval,
    Options,
    Text,
    TextTuple,
    validate_all,
)
from segmentation.core.errors import ConfigError
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
    """

    encoder: str = DEFAULT_ENCODER
    algorithm: str = "kmeans"
    k: int | Literal["auto"] = "auto"
    k_min: int = K_MIN
    k_max: int = K_MAX
    linkage: str = "ward"
    min_cluster_size: int | Literal["auto"] = 10
    min_samples: int | None = None
    cluster_selection: str = "eom"
    noise: str = "keep"
    reduction: str = "auto"
    n_components: int = 5
    half_life_days: float | None = None
    attributes: tuple[str, ...] = ()
    attribute_weight: float = 0.5
    seed: int = 0

    def __post_init__(self) -> None:
        checked = validate_all(asdict(self), self.parameter_constraints())
        for name, value in checked.items():
            object.__setattr__(self, name, value)  # NumPy scalars become plain numbers, lists tuples
        if self.k_max < self.k_min:
            raise ConfigError(
                f"k_max={self.k_max} is not allowed: k_max must be at least k_min ({self.k_min})"
            )

    @staticmethod
    def parameter_constraints() -> dict[str, list]:
        """What each parameter accepts (see :mod:`segmentation.core.constraints`)."""
        return {
            "encoder": [Text()],
            "algorithm": [Options(tuple(CLUSTERERS))],
            "k": [Interval(int, 2, MAX_K), Options(("auto",))],
            "k_min": [Interval(int, 2, MAX_K_SWEEP)],
            "k_max": [Interval(int, 2, MAX_K_SWEEP)],
            "linkage": [Options(tuple(LINKAGES))],
            "min_cluster_size": [Interval(int, 2, None), Options(("auto",))],
            "min_samples": [Interval(int, 1, None), None],
            "cluster_selection": [Options(tuple(CLUSTER_SELECTIONS))],
            "noise": [Options(tuple(NOISE_POLICIES))],
            "reduction": [Options(REDUCTIONS)],
            "n_components": [Interval(int, 2, 100)],
            "half_life_days": [Interval(float, 0, None, closed="neither"), None],
            "attributes": [TextTuple()],
            "attribute_weight": [Interval(float, 0, None)],
            "seed": SEED,
        }

    @property
    def space(self) -> tuple[str, int]:
        """The clustering space as (method, dimensions) once ``auto`` is resolved."""
        method = self.reduction
        if method == "auto":
            method = clusterer_class(self.algorithm).default_space
        return method, (PCA_COMPONENTS if method == "pca" else self.n_components)

    def prepare_key(self) -> tuple:
        """The part of the config that ``prepare`` depends on (for caches)."""
        return (self.encoder, self.half_life_days, self.attributes, self.attribute_weight, self.seed)

    def to_dict(self) -> dict:
        data = asdict(self)
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
        defaults = {f.name: f.default for f in fields(cls)}
        values = {}
        for key, value in data.items():
            key = RENAMED_KEYS.get(key, key)
            if key in defaults and (value is not None or defaults[key] is None):
                values[key] = value
        if "attributes" in values:
            values["attributes"] = tuple(values["attributes"] or ())
        if isinstance(values.get("k"), str) and values["k"] != "auto" and values["k"].strip().isdigit():
            values["k"] = int(values["k"])
        return cls(**values)
