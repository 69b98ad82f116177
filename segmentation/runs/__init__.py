"""The workspace: saved runs, names, hand edits, and the use cases over them.

``workspace`` (the SQLite store) keeps the records of ``records`` and carries names along the pairs of
``matching``; ``edits`` keeps the hand edits; ``service`` runs and saves, restores and reads runs back;
``compare`` sets two runs side by side; ``assign`` places new users in a saved run's segments; ``warmup``
makes first runs fast.
"""
