"""Recommendations: the recommenders, the leave-last-out evaluation, and their use cases.

``base`` holds what every recommender shares (the interactions, the suggestion, the ranking helpers, the
registry); each family lives in its own module and registers its classes when imported. This ``__init__``
imports the families, so that :data:`~segmentation.recommend.base.RECOMMENDERS` is full whichever module of
the package is imported first (``make_recommender("ease")`` works from a cold import). The order below is the
registry's order, which the method lists and the evaluation tables follow.
"""

# isort: off
from segmentation.recommend import popularity, knn, linear, content, policy, peer_comments  # noqa: F401
# isort: on
