"""A generated, realistic product-review data set with known user tastes, for demos, tests and benchmarks.

Users belong to latent tastes (a coffee lover, a runner, ...). Most review mainly products of their taste's
category and rate them higher; about 15 % mix two tastes and about 5 % are noise users who review at random.
Comments vary from "Great!" to several sentences, follow the rating's sentiment, and carry the mess real
comments have (typos, capitals, emoji, HTML entities) so that the loader's cleaning is exercised.

``python -m segmentation.demo`` rewrites the committed files :data:`DEMO_PATH` and :data:`DEMO_ZH_PATH`.
Everything is drawn from one seeded :class:`numpy.random.Generator`, so a seed gives the same bytes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from segmentation.core.errors import ConfigError
from segmentation.demo_words import (
    _EN,
    _EN_BODY,
    _EN_CLOSE,
    _EN_OPEN,
    _EN_SHORT,
    _ZH,
    _ZH_BODY,
    _ZH_CLOSE,
    _ZH_OPEN,
    _ZH_SHORT,
    _Category,
)

DEMO_PATH = Path(__file__).resolve().parent / "data" / "demo_reviews.csv"
DEMO_ZH_PATH = Path(__file__).resolve().parent / "data" / "demo_reviews_zh.csv"
# MiniLM vectors of the demo's distinct comments (float16), seeded into the embedding cache at app start
# (segmentation.runs.warmup.warm_up) so the first Run on the demo need not spend half a minute encoding what
# every install encodes alike.
DEMO_EMBEDDINGS_PATH = Path(__file__).resolve().parent / "data" / "demo_reviews_minilm.npy"
DEMO_ENCODER = "minilm"
DEMO_USERS = 500
DEMO_ZH_USERS = 150
COLUMNS = (
    "user_id", "item_id", "item_name", "rating", "timestamp", "text",
    "age", "gender", "income_band", "true_taste",
)
LANGUAGES = ("en", "zh")

_START = 1704067200  # 2024-01-01T00:00:00Z
_YEAR_SECONDS = 365 * 86400
_ITEMS_PER_CATEGORY = 20
_MIXED_SHARE = 0.15
_NOISE_SHARE = 0.05
_GENDERS = ("female", "male", "non-binary")
_INCOME_BANDS = ("<30k", "30-60k", "60-100k", "100k+")
_DRAWS = 16  # random integers drawn per comment for its wording


def generate_demo(seed: int = 0, *, n_users: int = DEMO_USERS, language: str = "en") -> pd.DataFrame:
    """Generate the demo review table.

    Parameters
    ----------
    seed : int
        Seed of the one random generator; the same seed gives the same table.
    n_users : int
        Number of users; comments average about five per user (between 1 and 30).
    language : {"en", "zh"}
        English (six product categories and tastes) or Chinese (four).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`: ``user_id``, ``item_id``, ``item_name``, ``rating`` (1–5),
        ``timestamp`` (unix seconds in 2024), ``text``, then per-user ``age``, ``gender``,
        ``income_band`` and ``true_taste`` (the latent taste; mixed users by their main taste, noise
        users ``"noise"``). Sorted by user, then time.
    """
    if language not in LANGUAGES:
        raise ConfigError(f"demo language must be one of {', '.join(LANGUAGES)}, not {language!r}")
    if n_users < 1:
        raise ConfigError(f"the demo needs at least one user, not {n_users}")
    categories = _EN if language == "en" else _ZH
    rng = np.random.default_rng(seed)
    n_tastes = len(categories)

    # Users: a main taste, for some a second one; noise users have neither.
    kind = rng.choice(3, size=n_users, p=[1 - _MIXED_SHARE - _NOISE_SHARE, _MIXED_SHARE, _NOISE_SHARE])
    main = rng.integers(0, n_tastes, size=n_users)
    second = (main + rng.integers(1, n_tastes, size=n_users)) % n_tastes
    user_bias = rng.normal(0.0, 0.35, size=n_users)
    n_per_user = np.minimum(1 + rng.negative_binomial(2, 1 / 3, size=n_users), 30)

    # Items: popularity within a category follows a Zipf-like curve, quality varies a little.
    n_items = n_tastes * _ITEMS_PER_CATEGORY
    item_quality = rng.normal(0.0, 0.35, size=n_items)
    popularity = 1.0 / np.arange(1, _ITEMS_PER_CATEGORY + 1) ** 0.8
    item_cdf = np.cumsum(popularity / popularity.sum())
    item_order = np.argsort(rng.random((n_tastes, _ITEMS_PER_CATEGORY)), axis=1)

    # Comments: category by the user's tastes, then an item, resampling repeats of (user, item).
    user = np.repeat(np.arange(n_users), n_per_user)
    n = len(user)
    pick = rng.random(n)
    other = (main[user] + rng.integers(1, n_tastes, size=n)) % n_tastes
    category = np.where(pick < 0.85, main[user], other)
    mixed = kind[user] == 1
    category[mixed] = np.where(pick[mixed] < 0.55, main[user][mixed],
                               np.where(pick[mixed] < 0.90, second[user][mixed], other[mixed]))
    noise = kind[user] == 2
    category[noise] = rng.integers(0, n_tastes, size=int(noise.sum()))
    item = np.zeros(n, dtype=np.int64)
    redo = np.ones(n, dtype=bool)
    for _ in range(5):
        rank = np.minimum(np.searchsorted(item_cdf, rng.random(int(redo.sum()))), _ITEMS_PER_CATEGORY - 1)
        item[redo] = category[redo] * _ITEMS_PER_CATEGORY + item_order[category[redo], rank]
        redo = pd.DataFrame({"u": user, "i": item}).duplicated().to_numpy()
        if not redo.any():
            break
    keep = ~redo
    user, category, item = user[keep], category[keep], item[keep]
    n = len(user)

    # Ratings follow the user's affinity for the category; noise users rate at random.
    affinity = np.full(n, 2.7)
    affinity[category == main[user]] = 4.3
    affinity[(kind[user] == 1) & (category == second[user])] = 4.0
    mean = affinity + item_quality[item] + user_bias[user]
    rating = np.clip(np.rint(mean + rng.normal(0.0, 0.75, size=n)), 1, 5).astype(np.int64)
    noise = kind[user] == 2
    rating[noise] = rng.integers(1, 6, size=int(noise.sum()))
    timestamp = _START + rng.integers(0, _YEAR_SECONDS, size=n)

    # Per-user attributes, loosely tied to the main taste (noise users draw theirs from a random taste).
    attribute_taste = np.where(kind == 2, rng.integers(0, n_tastes, size=n_users), main)
    ages = np.array([c.age for c in categories])[attribute_taste] + rng.normal(0, 9, size=n_users)
    age = np.clip(np.rint(ages), 18, 75).astype(np.int64)
    gender = _draw_rows(rng, np.array([c.gender for c in categories])[attribute_taste])
    income = _draw_rows(rng, np.array([c.income for c in categories])[attribute_taste])
    taste_names = np.array([c.taste for c in categories] + ["noise"], dtype=object)
    true_taste = taste_names[np.where(kind == 2, n_tastes, main)]

    draws = rng.integers(0, 2**31 - 1, size=(n, _DRAWS))
    texts = _write_texts(categories, language, category, item, rating, draws)

    width = max(5, len(str(n_users)))
    user_ids = np.array([f"u{i + 1:0{width}d}" for i in range(n_users)], dtype=object)
    item_ids, item_names = _item_labels(categories)
    frame = pd.DataFrame({
        "user_id": user_ids[user],
        "item_id": item_ids[item],
        "item_name": item_names[item],
        "rating": rating,
        "timestamp": timestamp.astype(np.int64),
        "text": texts,
        "age": age[user],
        "gender": np.array(_GENDERS, dtype=object)[gender][user],
        "income_band": np.array(_INCOME_BANDS, dtype=object)[income][user],
        "true_taste": true_taste[user],
    })
    frame = frame.sort_values(["user_id", "timestamp", "item_id"], kind="stable").reset_index(drop=True)
    return frame


def write_demo(
    path: str | Path, seed: int = 0, *, n_users: int = DEMO_USERS, language: str = "en"
) -> Path:
    """Generate the demo table and write it as UTF-8 CSV with ``\\n`` line ends.

    Parameters
    ----------
    path : str or Path
        Where to write; parent folders are created.
    seed, n_users, language
        As for :func:`generate_demo`.

    Returns
    -------
    Path
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = generate_demo(seed, n_users=n_users, language=language)
    frame.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
    return path


def _draw_rows(rng: np.random.Generator, probabilities: np.ndarray) -> np.ndarray:
    """One categorical draw per row of a (n, k) probability matrix, vectorised."""
    cdf = np.cumsum(probabilities, axis=1)
    cdf /= cdf[:, -1:]
    return (rng.random((len(cdf), 1)) > cdf).sum(axis=1).clip(0, cdf.shape[1] - 1)


def _item_labels(categories: tuple[_Category, ...]) -> tuple[np.ndarray, np.ndarray]:
    ids, names = [], []
    for category in categories:
        for j in range(_ITEMS_PER_CATEGORY):
            brand = category.brands[j // len(category.products)]
            product = category.products[j % len(category.products)][0]
            ids.append(f"{category.code}-{j + 1:03d}")
            names.append(f"{brand} {product}")
    return np.array(ids, dtype=object), np.array(names, dtype=object)


def _write_texts(
    categories: tuple[_Category, ...],
    language: str,
    category: np.ndarray,
    item: np.ndarray,
    rating: np.ndarray,
    draws: np.ndarray,
) -> list[str]:
    english = language == "en"
    short, opener, body, closer = (
        (_EN_SHORT, _EN_OPEN, _EN_BODY, _EN_CLOSE) if english else (_ZH_SHORT, _ZH_OPEN, _ZH_BODY, _ZH_CLOSE)
    )
    space = " " if english else ""
    mood_of = {1: "bad", 2: "bad", 3: "mid", 4: "good", 5: "good"}
    texts = []
    for c, i, r, d in zip(category.tolist(), item.tolist(), rating.tolist(), draws.tolist(), strict=True):
        cat = categories[c]
        mood = mood_of[r]
        local = i % _ITEMS_PER_CATEGORY
        fill = {
            "noun": cat.products[local % len(cat.products)][1],
            "brand": cat.brands[local // len(cat.products)],
            "emoji": cat.emoji,
            "fans": cat.fans,
            "context": cat.contexts[d[0] % len(cat.contexts)],
        }
        style = d[1] % 20
        if style < 4:
            text = _pick(short[mood], d[2]).format(**fill)
        else:
            n_body = 1 + d[3] % 2 if style < 13 else 2 + d[3] % 3
            sentences = []
            if style >= 13 or d[4] % 3 == 0:
                sentences.append(_pick(opener[mood], d[5]).format(**fill))
            first = d[6] % len(cat.aspects)
            for k in range(n_body):
                aspect, good, bad = cat.aspects[(first + k) % len(cat.aspects)]
                aspect2, _, bad2 = cat.aspects[(first + k + 1 + d[7] % 3) % len(cat.aspects)]
                words = {
                    "aspect": aspect, "good": _pick(good, d[8] >> k), "bad": _pick(bad, d[9] >> k),
                    "aspect2": aspect2, "bad2": _pick(bad2, d[9] >> k),
                }
                template = _pick(body[mood], d[10] >> (2 * k))
                fill["context"] = cat.contexts[(d[0] + k) % len(cat.contexts)]
                sentences.append(_capitalise(template.format(**fill, **words), english))
            if style >= 13 or d[4] % 3 == 1:
                sentences.append(_pick(closer[mood], d[11]).format(**fill))
            text = space.join(sentences)
        texts.append(_mess(text, cat.emoji, english, d[12], d[13], d[14], d[15]))
    return texts


def _pick(options: tuple[str, ...], draw: int) -> str:
    return options[draw % len(options)]


def _capitalise(sentence: str, english: bool) -> str:
    return sentence[:1].upper() + sentence[1:] if english else sentence


def _mess(text: str, emoji: str, english: bool, a: int, b: int, c: int, d: int) -> str:
    """Add the noise real comments carry: typos, shouting, emoji, HTML entities and tags."""
    roll = a % 100
    if english and roll < 8:
        text = _typo(text, b)
    elif english and roll < 11:
        text = text.upper()
    roll = c % 100
    if roll < 10 and emoji not in text:
        text = f"{text} {emoji}"
    elif roll < 13:
        text = f"{text} 👍" if "👎" not in text else text
    roll = d % 100
    if english and roll < 6:
        text = text.replace(" and ", " &amp; ", 1)
    elif english and roll < 10:
        text = text.replace("'", "&#39;")
    elif roll < 13:
        text = text.replace(". ", ".<br>", 1) if english else text.replace("。", "。<br>", 1)
    elif roll < 15:
        text = f"<p>{text}</p>"
    elif roll < 17:
        text = text.replace(" ", "&nbsp;", 1) if english else text.replace("，", "，&nbsp;", 1)
    return text


def _typo(text: str, draw: int) -> str:
    """Swap two neighbouring letters inside one longer word."""
    words = text.split(" ")
    long_words = [k for k, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not long_words:
        return text
    k = long_words[draw % len(long_words)]
    word = words[k]
    j = 1 + (draw >> 8) % (len(word) - 2)
    words[k] = word[:j] + word[j + 1] + word[j] + word[j + 2:]
    return " ".join(words)


def demo_texts() -> list[str]:
    """The English demo's distinct cleaned comments, in order of first appearance."""
    from segmentation.ingest.io import load_comments

    return list(dict.fromkeys(load_comments(DEMO_PATH).frame["text"]))


def write_demo_embeddings(path: str | Path = DEMO_EMBEDDINGS_PATH) -> Path:
    """Encode :func:`demo_texts` with MiniLM and save them as float16 ``.npy`` (needs the MiniLM encoder)."""
    from segmentation.embed.base import get_encoder

    vectors = get_encoder(DEMO_ENCODER).encode(demo_texts())
    np.save(Path(path), vectors.astype(np.float16), allow_pickle=False)
    return Path(path)


def main() -> int:
    """Rewrite the committed demo files (``python -m segmentation.demo``) with seed 0."""
    for path, users, language in ((DEMO_PATH, DEMO_USERS, "en"), (DEMO_ZH_PATH, DEMO_ZH_USERS, "zh")):
        write_demo(path, 0, n_users=users, language=language)
        print(f"wrote {path}")
    print(f"wrote {write_demo_embeddings()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
