"""Items in words: a name where the data names the item, else its id and the words that set its comments apart."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from segmentation.core.text import CHINESE_STOP_WORDS, HAN, stop_words
from segmentation.describe.items import ITEM_WORDS, describe_items
from segmentation.describe.keywords import _stem, is_filler, term_counts
from segmentation.ingest.io import load_comments

DATA = Path(__file__).resolve().parents[1] / "segmentation" / "data"

CAKE = ["Great recipe, the chocolate frosting was rich", "Moist chocolate cake, great recipe",
        "The frosting made this chocolate cake", "Great recipe for a birthday chocolate cake"]
TART = ["Great recipe, the lemon zest shines", "Lemon tart with a crisp crust, great recipe",
        "Too much lemon zest for me", "Great recipe: lemon curd and a crisp crust"]


def test_an_item_without_a_name_shows_its_id_and_its_own_words_never_filler() -> None:
    texts = CAKE + TART + ["Great recipe, my grandmother Ruth loved the soup"]
    items = ["7"] * 4 + ["9"] * 4 + ["7"]
    labels = describe_items(items, term_counts(texts))
    cake, tart = labels.label("7"), labels.label("9")
    assert cake.startswith("item 7 (") and "chocolate" in cake
    assert tart.startswith("item 9 (") and "lemon" in tart
    # "great" is name filler, "recipe" every item's comments use alike, "Ruth" one comment's aside.
    for text in (cake, tart):
        assert not re.search(r"great|recipe|ruth", text)
    assert len(labels.words["7"]) <= ITEM_WORDS and not labels.named


def test_named_items_keep_their_names_and_only_the_unnamed_get_words() -> None:
    texts = CAKE + TART
    names = ["Chocolate Cake"] * 4 + [None] * 4
    labels = describe_items(["7"] * 4 + ["9"] * 4, term_counts(texts), names)
    assert labels.named and labels.label("7") == "Chocolate Cake"
    assert set(labels.words) == {"9"} and labels.label("9").startswith("item 9 (")
    # An item the data never mentioned, or whose comments hold nothing distinctive, shows its id alone.
    assert labels.label("unknown") == "item unknown"


def test_comments_without_an_item_are_left_out() -> None:
    labels = describe_items(["7", None, "7", float("nan")], term_counts(["oat cookies", "x", "oat bars", "y"]))
    assert set(labels.words) == {"7"}
    with pytest.raises(ValueError, match="align"):
        describe_items(["7"], term_counts(["a", "b"]))


@pytest.mark.parametrize("file", ["recipe_reviews_full.csv.gz", "recipe_reviews_users_ge2.csv.gz"])
def test_real_recipes_described_without_their_names_read_like_their_names(recipes_dir: Path, file: str) -> None:
    """The recipe file names its items, so it can check the words: with the names set aside, an item's words
    should mostly say what its real name says ("Shrimp Scampi": scampi, shrimp…), and never be filler."""
    comments = load_comments(recipes_dir / file)
    frame = comments.frame
    labels = describe_items(frame["item_id"].to_numpy(), term_counts(frame["text"].to_numpy()))
    names = frame.drop_duplicates("item_id").set_index("item_id")["item_name"]
    assert len(labels.words) == comments.n_items
    share = 0
    for item, words in labels.words.items():
        assert 1 <= len(words) <= ITEM_WORDS, item
        for term in words:
            assert not is_filler(term) and not set(term.split()) & stop_words(), (item, term)
        said = {_stem(w) for w in re.findall(r"[a-z]+", names[item].lower())}
        share += bool(said & {_stem(w) for term in words for w in re.findall(r"[a-z]+", term)})
    # A word of the real name among the three on most recipes (a name such as "Caramel Heavenlies" or "Hot Milk
    # Cake" is not what reviewers write about).
    assert share / len(labels.words) >= 0.7


def test_chinese_items_are_described_in_whole_chinese_words() -> None:
    comments = load_comments(DATA / "demo_reviews_zh.csv", item_name_col="")
    frame = comments.frame
    labels = describe_items(frame["item_id"].to_numpy(), term_counts(frame["text"].to_numpy()))
    words = [w for terms in labels.words.values() for term in terms for w in term.split()]
    assert sum(bool(terms) for terms in labels.words.values()) >= 0.8 * comments.n_items
    chinese = [w for w in words if re.search(f"[{HAN}]", w)]
    assert len(chinese) >= 0.8 * len(words)
    # Whole words from the word cutter, never a lone character or a function word.
    assert all(len(w) >= 2 and w not in CHINESE_STOP_WORDS and not is_filler(w) for w in chinese)
    assert np.mean([len(t) for t in labels.words.values()]) >= 1.5
