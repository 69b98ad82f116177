"""Comments → one vector per user: the (optionally recency-weighted) mean of the user's comment embeddings.

User attributes (age, country ...) can be mixed in as an extra block of columns whose overall size against
the text block is set by one number, ``attribute_weight``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from segmentation.core.errors import ConfigError
from segmentation.ingest.comments import Comments

SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True, eq=False)
class Profiles:
    """One row per user, users sorted by id.

    Attributes
    ----------
    user_ids : ndarray of shape (n_users,)
        Sorted unique user ids (object array of str).
    vectors : ndarray of shape (n_users, d)
        float32: the L2-normalised text part, followed by the weighted attribute part when attributes
        were asked for.
    n_comments : ndarray of shape (n_users,)
        Comments per user.
    comment_user : ndarray of shape (n_comments,)
        For each comment row, the index of its user in ``user_ids``.
    """

    user_ids: np.ndarray
    vectors: np.ndarray
    n_comments: np.ndarray
    comment_user: np.ndarray


def build_profiles(
    comments: Comments,
    embeddings: np.ndarray,
    *,
    half_life_days: float | None = None,
    attributes: Sequence[str] = (),
    attribute_weight: float = 0.5,
) -> Profiles:
    """Average each user's comment embeddings into one L2-normalised profile vector.

    Parameters
    ----------
    comments : Comments
        Row ``i`` of ``comments.frame`` belongs to ``embeddings[i]``.
    embeddings : ndarray of shape (n_comments, d)
    half_life_days : float or None
        ``None`` gives every comment the same weight. Otherwise a comment written ``age`` days before
        **that user's own latest comment** weighs ``0.5 ** (age / half_life_days)``: the profile leans to
        what the user cares about lately, and a user who stopped writing long ago is not faded out
        relative to everyone else. Comments with no time count as the user's latest (weight 1). Needs a
        ``time`` column.
    attributes : sequence of str
        Extra columns of ``comments.frame`` with one value per user. A column whose values all parse as
        numbers is standardised (z-score over users, missing → 0, the mean); any other is one-hot encoded
        (missing → all zeros).
    attribute_weight : float
        Size of the attribute block against the text block. Text rows have norm 1; the attribute block is
        scaled by one factor so that the root-mean-square norm of its rows equals ``attribute_weight``.
        0.5 thus makes attribute differences count about half as much as text differences; 0 ignores them.

    Returns
    -------
    Profiles

    Raises
    ------
    ConfigError
        For a non-positive half-life or one without a time column, an unknown attribute column, a column
        that takes more than one value for some user, or a negative ``attribute_weight``.
    """
    frame = comments.frame
    embeddings = np.asarray(embeddings, dtype=np.float64)
    if len(embeddings) != len(frame):
        raise ValueError(f"{len(embeddings)} embeddings for {len(frame)} comments")
    codes, uniques = pd.factorize(frame["user_id"], sort=True)
    user_ids = np.asarray(uniques, dtype=object)
    n_users = len(user_ids)

    weights = _recency_weights(frame, codes, n_users, half_life_days)
    by_user = sparse.csr_matrix((weights, (codes, np.arange(len(frame)))), shape=(n_users, len(frame)))
    sums = np.asarray(by_user @ embeddings)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    # A user whose comments all embed to zero (e.g. tfidf with no known word) keeps a zero vector.
    vectors = sums / np.where(norms > 0, norms, 1.0)

    if attributes:
        if attribute_weight < 0:
            raise ConfigError(f"attribute_weight={attribute_weight} must be 0 or more")
        block = _attribute_block(frame, codes, n_users, attributes)
        rms = np.sqrt((block**2).sum(axis=1).mean()) if block.size else 0.0
        if rms > 0:
            block = block * (attribute_weight / rms)
        vectors = np.hstack([vectors, block])

    return Profiles(
        user_ids=user_ids,
        vectors=np.ascontiguousarray(vectors, dtype=np.float32),
        n_comments=np.bincount(codes, minlength=n_users),
        comment_user=codes.astype(np.int64),
    )


def check_profile_settings(
    frame: pd.DataFrame, *, half_life_days: float | None = None, attributes: Sequence[str] = ()
) -> None:
    """Refuse settings the profiles cannot be built with, from the comments alone (no embedding needed).

    Raises
    ------
    ConfigError
        Recency weighting without a time column; an attribute column that is missing or takes more than
        one value for some user.
    """
    if half_life_days is not None and "time" not in frame.columns:
        raise ConfigError(
            "recency weighting (half_life_days) needs a time column; map one on the data page or turn it off"
        )
    if not attributes:
        return
    missing = [name for name in attributes if name not in frame.columns]
    if missing:
        raise ConfigError(f"attribute column {missing[0]!r} is not in the data")
    codes, _ = pd.factorize(frame["user_id"], sort=True)
    varying = frame.groupby(codes, sort=True)[list(attributes)].nunique(dropna=False).max()
    for name in attributes:
        if varying[name] > 1:
            raise ConfigError(
                f"attribute column {name!r} takes more than one value for some users; "
                "only columns with one value per user can be mixed into the profiles"
            )


def _recency_weights(
    frame: pd.DataFrame, codes: np.ndarray, n_users: int, half_life_days: float | None
) -> np.ndarray:
    if half_life_days is None:
        return np.ones(len(frame))
    if not half_life_days > 0:
        raise ConfigError(f"half_life_days={half_life_days} must be a positive number of days")
    check_profile_settings(frame, half_life_days=half_life_days)
    times = pd.to_datetime(frame["time"], utc=True)
    seconds = (times - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy()
    known = ~np.isnan(seconds)
    latest = np.full(n_users, -np.inf)
    np.maximum.at(latest, codes[known], seconds[known])
    age_days = np.where(known, (latest[codes] - seconds) / SECONDS_PER_DAY, 0.0)
    return 0.5 ** (age_days / half_life_days)


def _attribute_block(
    frame: pd.DataFrame, codes: np.ndarray, n_users: int, attributes: Sequence[str]
) -> np.ndarray:
    check_profile_settings(frame, attributes=attributes)
    values = frame.groupby(codes, sort=True)[list(attributes)].first()
    blocks = []
    for name in attributes:
        column = values[name]
        present = column.dropna().astype(str).str.strip()
        present = present[present != ""]
        numbers = pd.to_numeric(column.where(column.astype(str).str.strip() != ""), errors="coerce")
        if len(present) and numbers.notna().sum() == len(present):
            x = numbers.to_numpy(dtype=np.float64)
            std = np.nanstd(x)
            z = (x - np.nanmean(x)) / std if std > 0 else np.zeros_like(x)
            blocks.append(np.nan_to_num(z, nan=0.0)[:, None])
        else:
            blocks.append(pd.get_dummies(column.astype("string"), dtype=np.float64).to_numpy())
    return np.hstack(blocks) if blocks else np.zeros((n_users, 0))
