"""How the evaluation splits the data: what each protocol holds out and what the recommenders train on.

:func:`holdout_split` is leave-last-out: per user with at least 2 items, the latest item (or one at random,
seeded, without a time column) is held out with every comment the user wrote on it. :func:`cold_split` makes
a seeded share of those users cold: they keep one comment's text and no item, and their other items are the
targets. Both return the training comments and the held-out (user, item) pairs.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from segmentation.core.errors import ConfigError
from segmentation.recommend.base import pick_holdout

if TYPE_CHECKING:
    from segmentation.ingest.comments import Comments


def holdout_split(comments: Comments, *, seed: int = 0) -> tuple[Comments, pd.DataFrame]:
    """Hold out one item per user with at least 2 items.

    Parameters
    ----------
    comments : Comments
        Must have an item column.
    seed : int
        Picks the held-out item when there is no time column.

    Returns
    -------
    train : Comments
        Every comment except those on a held-out (user, item) pair; comments without an item stay.
    test : DataFrame
        Columns ``user_id``, ``item_id``: one row per evaluated user.
    """
    if not comments.has_items:
        raise ConfigError("evaluation needs an item column: recommendations are scored on held-out items")
    frame = comments.frame
    has_item = frame["item_id"].notna()
    times = frame["time"] if comments.has_times else pd.Series(pd.NaT, index=frame.index)
    pairs = (
        pd.DataFrame({
            "user_id": frame.loc[has_item, "user_id"],
            "item_id": frame.loc[has_item, "item_id"].astype(str),
            "t": times[has_item],
        })
        .groupby(["user_id", "item_id"], sort=True)["t"].max()
        .reset_index()
    )
    seconds = (pairs["t"] - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy(np.float64) \
        if comments.has_times else np.full(len(pairs), np.nan)
    pair_user = pd.factorize(pairs["user_id"], sort=True)[0]
    held_out = pick_holdout(pair_user, seconds, seed=seed)
    test = pairs.loc[held_out, ["user_id", "item_id"]].reset_index(drop=True)
    held = pd.MultiIndex.from_frame(test)
    keys = pd.MultiIndex.from_arrays([frame["user_id"], frame["item_id"].astype(str)])
    drop = keys.isin(held) & has_item.to_numpy()
    train = replace(comments, frame=frame.loc[~drop].reset_index(drop=True))
    return train, test


def cold_split(comments: Comments, *, share: float = 0.2, seed: int = 0) -> tuple[Comments, pd.DataFrame]:
    """Make a seeded ``share`` of the users with 2+ items cold: they keep one comment's text, no items.

    Each cold user keeps only their earliest comment (the first row without times), with its item and
    rating removed: a user who wrote something but has no item yet. Their other items are the targets.

    Returns
    -------
    train : Comments
    test : DataFrame
        ``user_id``, ``item_id``: one row per (cold user, target item).
    """
    frame = comments.frame
    has_item = frame["item_id"].notna()
    counts = frame.loc[has_item].groupby("user_id")["item_id"].nunique()
    eligible = np.sort(counts.index[counts >= 2].to_numpy(dtype=object))
    rng = np.random.default_rng(seed)
    cold = set(rng.choice(eligible, size=int(round(share * len(eligible))), replace=False).tolist()) \
        if len(eligible) else set()
    is_cold = frame["user_id"].isin(cold).to_numpy()
    order = frame.sort_values("time", kind="stable").index if comments.has_times else frame.index
    first = frame.loc[order].loc[is_cold[frame.index.get_indexer(order)]].groupby("user_id", sort=False).head(1)
    kept_items = set(zip(first["user_id"], first["item_id"].astype(str), strict=True))
    targets = frame.loc[is_cold & has_item.to_numpy(), ["user_id", "item_id"]].astype({"item_id": str})
    targets = targets[[(u, i) not in kept_items for u, i in zip(targets["user_id"], targets["item_id"], strict=True)]]
    targets = targets.drop_duplicates().reset_index(drop=True)
    keep = ~is_cold
    keep[frame.index.get_indexer(first.index)] = True
    train_frame = frame.loc[keep].copy()
    blank = train_frame["user_id"].isin(cold)
    for column in ("item_id", "rating"):
        if column in train_frame.columns:
            train_frame[column] = train_frame[column].astype(object).where(~blank, None)
    return replace(comments, frame=train_frame.reset_index(drop=True)), targets


__all__ = ["cold_split", "holdout_split"]
