"""Text basics: CJK ranges, the word pattern, stop words and the keyword tokenizer (Chinese by jieba)."""

from __future__ import annotations

import re

import pandas as pd

from segmentation.core.text import (
    CHINESE_STOP_WORDS,
    CJK_CHARACTER,
    latin_words,
    phrases,
    stop_words,
    tokenize,
)


def test_cjk_character_matches_chinese_japanese_and_korean_letters_only() -> None:
    pattern = re.compile(CJK_CHARACTER)
    assert all(pattern.fullmatch(ch) for ch in "中文字あカ한")
    assert not any(pattern.fullmatch(ch) for ch in "aé，。1 ")
    assert pd.Series(["咖啡 coffee"]).str.count(CJK_CHARACTER).sum() == 2


def test_latin_words_keep_inner_apostrophes_hyphens_and_digits_and_stop_at_chinese() -> None:
    assert latin_words("Don't buy the wi-fi mp3 player, 5-star latte拿铁") == [
        "Don't", "buy", "the", "wi-fi", "mp3", "player", "star", "latte",
    ]


def test_tokenize_drops_stop_words_review_filler_numbers_and_single_letters() -> None:
    tokens = tokenize("I really just LOVE it, would get 2 more: 10/10, also a 5-star Espresso x", bigrams=False)
    assert tokens == ["love", "star", "espresso"]
    assert tokenize("Don't! Wouldn't, couldn't.") == []
    assert {"dont", "wouldnt", "really"} <= stop_words()


def test_phrases_are_runs_of_adjacent_content_words_broken_by_stop_words_numbers_and_punctuation() -> None:
    assert phrases("The burr grinder is quiet, crema thick and 2 shots hot.") == [
        ["burr", "grinder"], ["quiet"], ["crema", "thick"], ["shots", "hot"],
    ]


def test_tokenize_adds_adjacent_pairs_only_within_a_phrase() -> None:
    assert tokenize("The burr grinder is quiet, crema thick.") == [
        "burr", "grinder", "quiet", "crema", "thick", "burr grinder", "crema thick",
    ]


def test_chinese_is_cut_into_whole_words_without_fragments_or_filler() -> None:
    words = tokenize("这部电视剧真的很好看，我觉得这个演员演得特别好。", bigrams=False)
    assert "电视剧" in words and "演员" in words
    # No piece of a word ("视剧" from 电视剧) and no filler or one-character particle.
    assert "视剧" not in words and "电视" not in words
    assert not set(words) & (CHINESE_STOP_WORDS | set("的了很我"))
    assert all(len(word) >= 2 for word in words)


def test_only_words_of_spaced_scripts_are_paired() -> None:
    # jieba's words are whole already: pairing them cut phrases out of sentences.
    tokens = tokenize("半程马拉松跑鞋 trail shoes 顺滑 café crème")
    assert {"半程", "马拉松", "跑鞋"} <= set(tokens)
    assert [t for t in tokens if " " in t] == ["trail shoes", "café crème"]
    assert not {"半程马拉松", "马拉松跑鞋", "跑鞋 trail", "顺滑 café"} & set(tokens)


def test_tokenize_handles_mixed_english_and_chinese_in_one_comment() -> None:
    assert tokenize("Latte拿铁 really 顺滑 café 2024", bigrams=False) == ["latte", "顺滑", "café"]


def test_text_without_any_word_gives_no_token() -> None:
    assert tokenize("") == [] and tokenize("!!! 👍 123") == []
