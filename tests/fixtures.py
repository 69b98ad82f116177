"""Labelled comment fixtures written by the tests: users from clearly different groups."""

from __future__ import annotations

import numpy as np
import pandas as pd

GROUPS: dict[str, dict[str, list[str]]] = {
    "coffee": {
        "subject": ["the espresso", "this dark roast", "the burr grinder", "my pour-over kettle", "the cold brew"],
        "verb": ["tastes", "smells", "brews", "comes out"],
        "detail": ["rich and chocolatey with a thick crema", "bitter and burnt, the beans were stale",
                   "smooth, low acidity, perfect with oat milk", "fruity, like a light Ethiopian roast"],
    },
    "running": {
        "subject": ["these trail shoes", "the running shorts", "my marathon insoles", "the sports watch",
                    "this hydration vest"],
        "verb": ["held up", "felt", "performed", "worked"],
        "detail": ["great on a 20 km long run, no blisters", "too tight around the toe box after 5 miles",
                   "light and breathable on hot summer runs", "gave solid grip on muddy trails and hills"],
    },
    "gardening": {
        "subject": ["the tomato seeds", "this pruning shear", "the raised garden bed", "the compost bin",
                    "my watering hose"],
        "verb": ["grew", "worked", "did", "held up"],
        "detail": ["great, the seedlings sprouted in a week", "fine in clay soil with some mulch",
                   "well, the roses and herbs love it", "poorly, the leaves yellowed and aphids came"],
    },
    "gaming": {
        "subject": ["this video game", "the controller", "the gaming headset", "the console",
                    "this multiplayer shooter"],
        "verb": ["plays", "ran", "feels", "worked"],
        "detail": ["smooth at 60 fps with no lag online", "badly, the boss fights and servers crash",
                   "amazing, the open world quests are huge", "fine but the loot boxes are pay to win"],
    },
}


def labelled_comments(users_per_group: int = 15, comments_per_user: int = 3, seed: int = 0) -> pd.DataFrame:
    """One row per comment: user_id, text, true_group. Each user writes only about its group."""
    rng = np.random.default_rng(seed)
    rows = []
    for group, parts in GROUPS.items():
        for u in range(users_per_group):
            user = f"{group[:3]}-{u:02d}"
            for _ in range(comments_per_user):
                text = (
                    f"{rng.choice(parts['subject']).capitalize()} {rng.choice(parts['verb'])} "
                    f"{rng.choice(parts['detail'])}."
                )
                rows.append({"user_id": user, "text": text, "true_group": group})
    return pd.DataFrame(rows)
