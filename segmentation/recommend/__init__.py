"""Recommendations: the recommenders, the leave-last-out evaluation, and their use cases."""
