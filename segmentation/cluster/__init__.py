"""Profiles to segments: clusterers and their registry, the choice of k, stability, quality metrics, placing
new users.

``base`` holds what every clusterer shares (the protocol, the registry, ``check_k``, relabelling, segment
means); each family lives in its own module (``kmeans``, ``agglomerative``, ``density``) and registers its
classes when imported. This ``__init__`` imports the families, so that
:data:`~segmentation.cluster.base.CLUSTERERS` is full whichever module of the package is imported first. The
order below is the registry's order.
"""

# isort: off
from segmentation.cluster import kmeans, agglomerative, density  # noqa: F401
# isort: on
