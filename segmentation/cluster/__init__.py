"""Profiles to segments: clusterers and their registry, the choice of k, stability, quality metrics, placing
new users.

``base`` holds what every clusterer shares (the protocol, the registry, ``check_k``, relabelling, segment
means); each family lives in its own module (``kmeans``, ``agglomerative``, ``density``) and registers its
classes when imported. ``stage`` is the stage's one entry (the pipeline, the Ray engine and the page's sweep
call it with the algorithm's class, resolved once). This ``__init__`` imports the families, so that
:data:`~segmentation.cluster.base.CLUSTERERS` is full whichever module of the package is imported first. The
app lists them by each class's ``order``.

A new clusterer is one module here (imported below) whose class declares its ``parameters``
(:class:`~segmentation.core.params.Param`; ``base.K`` for a number of segments): the config's checks, the
CLI's flags and the Segment page's widgets follow from them (``tests/test_new_clusterer.py`` shows one).
"""

# isort: off
from segmentation.cluster import kmeans, agglomerative, density  # noqa: F401
# isort: on
