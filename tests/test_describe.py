"""Segment descriptions: c-TF-IDF keywords, representative comments, names, sizes, items and ratings."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from fixtures import labelled_comments

from segmentation.core.text import stop_words, tokenize
from segmentation.describe.segments import (
    NOISE_NAME,
    SegmentDescription,
    describe_labelled_comments,
    describe_segments,
    distinctive_items,
    is_filler,
    suggest_name,
)
from segmentation.embed.base import get_encoder
from segmentation.embed.profiles import build_profiles
from segmentation.ingest.io import from_frame

COFFEE = [
    "I really love this espresso, the crema is thick and the grinder is quiet.",
    "The espresso shot had great crema; the burr grinder makes a huge difference.",
    "Would buy again: the grinder and the espresso beans work well, crema every time.",
    "Just ordered more beans, the espresso tastes great and the crema lasts.",
]
RUNNING = [
    "These trail shoes are great for a marathon, no blisters at all.",
    "I also ran my first marathon in these shoes, the grip on trail is great.",
    "The shoes gave me blisters on a long trail run, but the grip is good.",
    "Got these for marathon training, great shoes, light and breathable on the trail.",
]
CHINESE_COFFEE = [
    "这款咖啡豆很香，拿铁的奶泡也很好。",
    "咖啡豆新鲜，做拿铁和美式都好喝。",
    "我每天早上喝咖啡，这个咖啡豆的香味很浓。",
    "拿铁很顺滑，咖啡豆烘焙得刚好。",
]
CHINESE_RUNNING = [
    "这双跑鞋很轻，跑马拉松没有磨脚。",
    "跑鞋的鞋底很软，马拉松跑完也不累。",
    "我穿这双跑鞋参加了半程马拉松，鞋底抓地力好。",
    "跑鞋透气，夏天跑步很舒服，马拉松首选。",
]


def one_user_per_comment(texts: list[str], labels: list[int], dim: int = 4, seed: int = 0) -> dict:
    """Plain inputs: each comment its own user, random unit embeddings."""
    rng = np.random.default_rng(seed)
    embeddings = rng.normal(size=(len(texts), dim)).astype(np.float32)
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    return {
        "texts": texts,
        "comment_user": np.arange(len(texts)),
        "user_labels": np.asarray(labels),
        "embeddings": embeddings,
    }


def test_ctfidf_keywords_are_the_distinctive_words_of_each_segment() -> None:
    texts = COFFEE + RUNNING
    segments = describe_labelled_comments(**one_user_per_comment(texts, [0] * 4 + [1] * 4))

    coffee, running = segments
    assert {"espresso", "crema", "grinder"} <= set(coffee.keywords[:3])
    assert {"shoes", "marathon", "trail"} <= set(running.keywords[:3])
    # "great" is in both segments, so it tells neither apart; stop words and filler never appear.
    for segment in segments:
        assert "great" not in segment.keywords[:3]
        assert not set(segment.keywords) & stop_words()


def test_chinese_segments_get_whole_word_keywords_and_readable_names() -> None:
    texts = CHINESE_COFFEE + CHINESE_RUNNING
    coffee, running = describe_labelled_comments(**one_user_per_comment(texts, [0] * 4 + [1] * 4))

    assert {"咖啡豆", "奶泡"} <= set(coffee.keywords)
    assert {"跑鞋", "马拉松", "鞋底"} <= set(running.keywords)
    # Whole words only: no fragment cut out of a word ("啡豆" from 咖啡豆, "拉松" from 马拉松), and no filler.
    for keyword in coffee.keywords + running.keywords:
        assert keyword in "".join(texts)
        assert not {"啡豆", "拉松", "马拉", "这款", "这个", "每天早"} & {keyword}
    assert "咖啡豆" in coffee.name and "跑鞋" in running.name


def test_common_praise_sinks_unless_it_sets_a_segment_apart() -> None:
    # "great" is in three of four comments on each side: spread evenly, it describes neither segment.
    coffee, running = describe_labelled_comments(**one_user_per_comment(COFFEE + RUNNING, [0] * 4 + [1] * 4))
    assert "great" not in coffee.keywords[:4] and "great" not in running.keywords[:4]
    # Where one segment says it far more than the other, it is that segment's word.
    praise = ["Great, great value, great taste.", "Great again, truly great.", "Great great great."]
    segments = describe_labelled_comments(**one_user_per_comment(COFFEE + praise, [0] * 4 + [1] * 3))
    assert segments[1].keywords[0] == "great"
    assert "great" not in segments[0].keywords


def test_word_pairs_found_in_several_comments_become_keywords() -> None:
    texts = ["The burr grinder is quiet.", "A burr grinder, finally.", "My burr grinder works.",
             "Trail shoes for the trail run.", "Trail run in new shoes."]
    coffee, running = describe_labelled_comments(**one_user_per_comment(texts, [0, 0, 0, 1, 1]))
    assert coffee.keywords[0] == "burr grinder"
    # Its words alone would only repeat the pair.
    assert "burr" not in coffee.keywords and "grinder" not in coffee.keywords


def test_items_show_by_name_and_keep_their_ids() -> None:
    # Segment 0: five comments on I-2 and five on I-1; segment 1: five on I-9 and one on I-2.
    items = ["I-2"] * 5 + ["I-1"] * 5 + ["I-9"] * 5 + ["I-2"]
    names = ["Burr Grinder"] * 4 + [" Burr Grinder "] + ["Moka Pot"] * 5 + [None] * 5 + ["Burr Grinder"]
    labels = [0] * 10 + [1] * 6
    texts = ["espresso crema"] * 10 + ["trail shoes"] * 6
    first, second = describe_labelled_comments(
        texts, np.arange(16), np.array(labels), np.eye(16, dtype=np.float32), items=items, item_names=names,
    )
    # I-1 is only reviewed in segment 0, I-2 also elsewhere: I-1 sets the segment apart more.
    assert first.top_items == ["Moka Pot", "Burr Grinder"] and first.top_item_ids == ["I-1", "I-2"]
    # An item without a name shows by its id and what its comments say.
    assert second.top_items == ["item I-9 (trail shoes)"] and second.top_item_ids == ["I-9"]
    with pytest.raises(ValueError, match="item ids"):
        describe_labelled_comments(texts[:4], np.arange(4), np.zeros(4, dtype=int), np.eye(4, dtype=np.float32),
                                   item_names=["a", "b", "c", "d"])


def test_top_items_are_those_a_segment_favours_not_the_most_reviewed() -> None:
    # "hit" is the most reviewed item in both segments; "soup" is the first segment's own, "cake" the second's.
    items = np.array(["hit"] * 20 + ["soup"] * 8 + ["cake"] * 1 + ["hit"] * 20 + ["cake"] * 8 + ["soup"] * 1,
                     dtype=object)
    first = np.arange(29)
    assert distinctive_items(items, first, 3) == ["soup"]
    assert distinctive_items(items, np.arange(29, 58), 3) == ["cake"]
    # Below the minimum support an item never counts, however over-represented.
    assert distinctive_items(items, first, 3, min_support=9) == []


def test_the_name_is_built_from_keywords_no_other_segment_shows() -> None:
    # "beans" leads both sides' c-TF-IDF in places but belongs to both: the names lead with what differs.
    coffee = ["espresso beans crema", "espresso beans crema grinder", "espresso crema"]
    tea = ["tea beans leaves", "green tea leaves beans", "tea leaves kettle"]
    first, second = describe_labelled_comments(**one_user_per_comment(coffee + tea, [0] * 3 + [1] * 3))
    shared = set(first.keywords) & set(second.keywords)
    for segment in (first, second):
        assert not any(word in shared for word in segment.name.casefold().split(" · "))


def test_representative_comments_are_the_ones_closest_to_the_segment_centroid() -> None:
    texts = ["central one", "central two", "outlier far away", "central three", "other segment"]
    embeddings = np.array(
        [[1.0, 0.1, 0.0], [1.0, -0.1, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.05], [0.0, 1.0, 0.0]],
        dtype=np.float32,
    )
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    segments = describe_labelled_comments(
        texts, np.arange(5), np.array([0, 0, 0, 0, 1]), embeddings, n_representative=3
    )

    assert segments[0].representative_comments == ["central three", "central one", "central two"]
    assert segments[1].representative_comments == ["other segment"]


def test_representative_comments_are_deduplicated_and_long_ones_trimmed() -> None:
    long_text = "word " * 200
    texts = ["Same text", "same   TEXT", long_text, "different"]
    embeddings = np.array([[1, 0, 0], [1, 0, 0], [0.8, 0.6, 0], [0.5, 0, 0.85]], dtype=np.float32)
    (segment,) = describe_labelled_comments(texts, np.arange(4), np.zeros(4, dtype=int), embeddings)

    assert segment.representative_comments[0] == "Same text"
    assert segment.representative_comments[1].endswith("…")
    assert len(segment.representative_comments[1]) <= 300
    assert segment.representative_comments[2] == "different"


def test_segments_with_the_same_keywords_get_unique_names() -> None:
    texts = COFFEE + COFFEE + RUNNING
    segments = describe_labelled_comments(**one_user_per_comment(texts, [0] * 4 + [1] * 4 + [2] * 4))

    names = [segment.name for segment in segments]
    assert len(set(names)) == 3
    assert names[1] == names[0] + " (2)"


def test_noise_segment_is_named_unassigned_and_listed_last() -> None:
    texts = COFFEE + RUNNING + ["Random words about nothing in particular."]
    segments = describe_labelled_comments(**one_user_per_comment(texts, [0] * 4 + [1] * 4 + [-1]))

    assert [segment.id for segment in segments] == [0, 1, -1]
    assert segments[-1].name == NOISE_NAME
    assert segments[-1].size == 1
    assert sum(segment.share for segment in segments) == pytest.approx(1.0)


def test_size_and_share_count_users_and_items_and_ratings_come_from_their_comments() -> None:
    # Users 0 and 1 are in segment 0 (user 0 wrote two comments), user 2 in segment 1.
    # Each comment written five times over, so every item has the support a top item needs.
    texts = ["espresso crema", "espresso grinder", "espresso beans", "trail shoes"] * 5
    comment_user = np.array([0, 0, 1, 2] * 5)
    segments = describe_labelled_comments(
        texts,
        comment_user,
        np.array([0, 0, 1]),
        np.eye(20, dtype=np.float32),
        items=["I-2", "I-1", "I-2", "I-9"] * 5,
        ratings=[5.0, np.nan, 4.0, 2.0] * 5,
        n_items=2,
    )

    first, second = segments
    assert (first.size, first.share) == (2, pytest.approx(2 / 3))
    # Both items are as over-represented here (lift 4/3); the one with more comments comes first.
    assert first.top_item_ids == ["I-2", "I-1"]
    assert first.mean_rating == pytest.approx(4.5)
    assert second.top_item_ids == ["I-9"] and second.mean_rating == 2.0


def test_no_item_or_rating_column_gives_none() -> None:
    (segment,) = describe_labelled_comments(**one_user_per_comment(COFFEE, [0] * 4))
    assert segment.top_items is None and segment.mean_rating is None


def test_a_segment_without_any_keyword_is_named_by_its_id() -> None:
    segments = describe_labelled_comments(**one_user_per_comment(["the and of", "123 456"], [0, 4]))
    assert [segment.name for segment in segments] == ["Segment 0", "Segment 4"]
    assert segments[0].keywords == []


def test_suggest_name_joins_the_top_three_keywords_and_skips_repeats() -> None:
    assert suggest_name(["espresso", "grinder", "grind", "crema", "beans"]) == "Espresso · grinder · crema"
    assert suggest_name(["马拉松", "半程马拉松", "跑鞋", "鞋底"]) == "马拉松 · 跑鞋 · 鞋底"
    assert suggest_name(["loves", "loved", "family", "family dinner", "birthday"]) == "Loves · family · birthday"
    assert suggest_name([]) == ""
    assert len(suggest_name(["x" * 60, "y" * 60])) <= 80


def test_suggest_name_leaves_out_filler_in_english_and_chinese() -> None:
    # The words a real name kept before (issue 20): "like", "little", "using", "good", "works", "sm", 一种.
    assert suggest_name(["like", "little", "chicken", "using", "good", "works", "sm", "onion", "garlic"]) == (
        "Chicken · onion · garlic")
    assert suggest_name(["一种", "咖啡豆", "喜欢", "拿铁", "奶泡"]) == "咖啡豆 · 拿铁 · 奶泡"
    # A pair holding a filler word is filler too; a word list never bans words of another language.
    assert is_filler("good price") and not is_filler("price")
    assert not is_filler("拿铁") and is_filler("不错")


def test_a_name_skips_words_every_segment_uses_alike() -> None:
    # "tasty" is in every comment of both segments: the data's own filler, though no stop list holds it.
    texts = ["tasty espresso crema"] * 3 + ["tasty espresso grinder"] * 2 + ["tasty trail shoes"] * 3 \
        + ["tasty trail marathon"] * 2
    coffee, running = describe_labelled_comments(**one_user_per_comment(texts, [0] * 5 + [1] * 5))
    assert "tasty" not in coffee.name.casefold() and "tasty" not in running.name.casefold()
    assert "crema" in coffee.name.casefold() and "shoes" in running.name.casefold()


def test_description_to_dict_is_json_ready() -> None:
    description = SegmentDescription(1, "Espresso", 3, 0.5, ["espresso"], ["Nice"], ["I-1"], 4.5)
    assert json.loads(json.dumps(description.to_dict()))["keywords"] == ["espresso"]


def test_describe_segments_reads_comments_and_profiles() -> None:
    frame = labelled_comments(users_per_group=6, comments_per_user=3)
    comments = from_frame(frame[["user_id", "text"]], source="fixture")
    embeddings = get_encoder("tfidf").encode(comments.frame["text"].tolist())
    profiles = build_profiles(comments, embeddings)
    group_of_user = frame.drop_duplicates("user_id").set_index("user_id")["true_group"]
    groups = sorted(group_of_user.unique())
    labels = np.array([groups.index(group_of_user[user]) for user in profiles.user_ids])

    segments = describe_segments(comments, profiles, labels, embeddings, n_keywords=10)

    assert [segment.size for segment in segments] == [6, 6, 6, 6]
    by_group = dict(zip(groups, segments, strict=True))
    vocabulary = {
        group: {token for text in frame.loc[frame["true_group"] == group, "text"] for token in tokenize(text)}
        for group in groups
    }
    for group, segment in by_group.items():
        others = set().union(*(vocabulary[other] for other in groups if other != group))
        assert set(segment.keywords) <= vocabulary[group]
        # The best keyword is one no other group uses: what sets this segment apart.
        assert segment.keywords[0] not in others
        members = set(frame.loc[frame["true_group"] == group, "text"])
        assert set(segment.representative_comments) <= members


def test_describe_covers_every_user_of_a_large_corpus_with_unique_names() -> None:
    # 20k comments, 4k users, noise included: every user is counted once and names stay unique.
    rng = np.random.default_rng(0)
    words = np.array([f"word{chr(97 + i % 26)}{chr(97 + i // 26 % 26)}" for i in range(2000)])
    texts = [" ".join(rng.choice(words, 12)) for _ in range(20_000)]
    users = rng.integers(0, 4000, 20_000)
    labels = rng.integers(-1, 6, 4000)
    embeddings = rng.normal(size=(20_000, 16)).astype(np.float32)
    segments = describe_labelled_comments(texts, users, labels, embeddings)
    assert sum(segment.size for segment in segments) == 4000
    assert len({segment.name for segment in segments}) == len(segments)


def test_counted_terms_give_the_same_keywords_as_tokenising_again():
    from segmentation.describe.keywords import term_counts
    from segmentation.describe.segments import describe_labelled_comments

    texts = np.array(["espresso crema grinder", "espresso beans roast", "trail shoes blisters",
                      "marathon shoes grip", "咖啡很香 espresso", "跑鞋很轻 marathon"], dtype=object)
    comment_user = np.array([0, 0, 1, 1, 2, 3])
    labels = np.array([0, 1, 0, 1])
    embeddings = np.eye(6, dtype=np.float32)
    fresh = describe_labelled_comments(texts, comment_user, labels, embeddings)
    counted = describe_labelled_comments(texts, comment_user, labels, embeddings, terms=term_counts(texts))
    assert [d.keywords for d in counted] == [d.keywords for d in fresh]
    assert "espresso" in fresh[0].keywords and "shoes" in fresh[1].keywords


def test_items_of_a_loaded_file_with_a_name_column_show_by_name() -> None:
    frame = pd.DataFrame({
        "user_id": ["a", "a", "b", "c"] * 5,
        "item_id": ["I-1", "I-2", "I-1", "I-9"] * 5,
        "item_name": ["Moka Pot", "Burr Grinder", "Moka Pot", "Trail Shoes"] * 5,
        "text": [f"{text} {i}" for i in range(5)
                 for text in ("espresso crema", "burr grinder", "espresso beans", "trail shoes")],
    })
    comments = from_frame(frame, source="named.csv")
    embeddings = np.eye(20, dtype=np.float32)
    profiles = build_profiles(comments, embeddings)
    labels = np.array([0 if user in ("a", "b") else 1 for user in profiles.user_ids])
    coffee, running = describe_segments(comments, profiles, labels, embeddings)
    assert coffee.top_items == ["Moka Pot", "Burr Grinder"] and coffee.top_item_ids == ["I-1", "I-2"]
    assert running.top_items == ["Trail Shoes"]
