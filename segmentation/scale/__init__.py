"""The same segmentation past one machine: a Ray engine for millions of users (``--engine ray``).

Ray is an optional dependency (``requirements-ray.txt``): nothing here imports it at module level except
:mod:`segmentation.scale.engine` and :mod:`segmentation.scale.ray_session` inside their functions, so the app
and the local engine never need it.
"""
