"""Text basics shared by the library: CJK character ranges, the word pattern, stop words, the tokenizer.

Each is defined here once. Chinese (and Japanese) is written without spaces between words, so its runs
are cut into whole words by ``jieba`` (imported on first use: the dictionary takes a second or two to
load); every other script is split at the word pattern.
"""

from __future__ import annotations

import functools
import itertools
import logging
import re
from typing import Any

HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
"""Chinese characters (CJK unified ideographs, extension A, compatibility ideographs), as a regex range."""
KANA = "\u3040-\u30ff"
"""Japanese hiragana and katakana."""
HANGUL = "\uac00-\ud7af"
"""Korean syllables."""
CJK = HAN + KANA + HANGUL
"""Every CJK letter: what counts as Chinese, Japanese or Korean text when choosing an encoder."""
CJK_PUNCTUATION = "\u3000-\u303f\uff00-\uffef"
"""CJK symbols and punctuation, full-width forms (common in Chinese text beside the characters)."""
UNSPACED = HAN + KANA
"""Scripts written without spaces between words: cut into words by segmentation, not by spaces."""
CJK_CHARACTER = f"[{CJK}]"
"""A regex matching one CJK letter (e.g. for ``Series.str.count``)."""

WORD = re.compile(f"[^\\W\\d_{UNSPACED}](?:[^\\W_{UNSPACED}]|['’-](?=[^\\W\\d_{UNSPACED}]))+")
"""A word outside Chinese/Japanese runs: starts with a letter, goes on with letters or digits ("mp3"), and
keeps an inner apostrophe or hyphen ("don't", "wi-fi"); a Chinese character ends it ("latte拿铁")."""

# Review filler: frequent in every segment of real reviews, so never what tells one segment from another.
_REVIEW_FILLER = """
really just also would could should one get got gets getting go going goes went im ive id dont didnt doesnt
isnt wasnt cant wont thats its don didn doesn isn wasn aren won ll ve re lot lots bit even much still ever
way thing things stuff quite pretty will can may might must us oh yes yeah ok okay etc youre theyre wouldnt
couldnt shouldnt arent havent hasnt hadnt ill id youll youve weve theyve
"""
# scikit-learn's list (from Glasgow's) holds content words that can be what a segment is about.
_CONTENT_WORDS = frozenset(
    {"bill", "bottom", "cry", "detail", "empty", "fill", "fire", "front", "full", "interest", "mill", "move",
     "serious", "side", "system", "thick", "thin", "top"}
)

@functools.cache
def stop_words() -> frozenset[str]:
    """English stop words plus review filler (contractions are matched without their apostrophe)."""
    # scikit-learn's list is read when words are first cut, not on import: the loader imports this module, and a
    # refused command-line run would otherwise pay scikit-learn's import (about 1 CPU s) for nothing.
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset((ENGLISH_STOP_WORDS - _CONTENT_WORDS) | set(_REVIEW_FILLER.split()))


# Pronouns, conjunctions, adverbs and filler as jieba cuts them: never what a segment is about. Single
# characters (的, 了, 很 …) need no list: a one-character word is never kept as a keyword.
_CHINESE_FILLER = """
我们 你们 他们 她们 它们 这个 那个 这些 那些 这样 那样 这么 那么 这种 那种 这款 这次 这部 这家 这里 那里 一个 一些
一点 一下 一直 一起 一样 一般 没有 就是 还是 但是 可是 而且 并且 因为 所以 如果 虽然 不过 然后 其实 已经 还有 可以
可能 应该 需要 非常 比较 特别 真的 确实 有点 有些 什么 怎么 为什么 觉得 感觉 知道 东西 时候 自己 大家 之后 以后
之前 以前 出来 起来 下来 上去 不是 只是 也是 都是 还会 一次 有的 这是 那是 就会 不会 还要 以及 或者 然而 比如
"""
CHINESE_STOP_WORDS = frozenset(_CHINESE_FILLER.split())
"""Chinese function words and filler, as whole words."""

_UNSPACED_RUN = re.compile(f"[{UNSPACED}]+")
# One pass over a comment: a Chinese run, a word, or what breaks a phrase: a number, or anything but a
# letter, digit, space or hyphen (punctuation, emoji). Apostrophes are removed before ("don't" → "dont").
_TOKEN = re.compile(f"[{UNSPACED}]+|{WORD.pattern}|\\d+|[^\\w\\s-]+")
_BREAK = "\n"


def latin_words(text: str) -> list[str]:
    """The :data:`WORD` matches of ``text``, as written (no case folding, no stop words)."""
    return WORD.findall(text)


@functools.lru_cache(maxsize=1)
def _jieba() -> Any:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba.Tokenizer()


def segment_words(run: str) -> list[str]:
    """Cut a run of Chinese (or Japanese) characters into words with ``jieba``."""
    return _jieba().lcut(run, HMM=True)


def phrases(text: str) -> list[list[str]]:
    """Cut a comment into runs of adjacent content words: the keyword candidates and their order.

    Parameters
    ----------
    text : str
        Any comment; English, Chinese and mixed text are supported.

    Returns
    -------
    list of list of str
        Each inner list holds words that stand next to each other in ``text`` with no stop word,
        number or punctuation between them. Latin-script words are lowercased with apostrophes
        removed ("Don't" → "dont") and kept when at least two letters long and not in
        :func:`stop_words`; Chinese runs are cut into whole words by ``jieba`` and a word is kept when
        it has at least two characters and is not in :data:`CHINESE_STOP_WORDS` (a one-character
        word is a particle or too ambiguous alone).
    """
    marks = _marks(text)
    return [list(run) for kept, run in itertools.groupby(marks, key=bool) if kept]


def _marks(text: str) -> list[str]:
    """The comment's pieces in order: a kept word as itself, anything else (a break) as ``""``."""
    lowered = text.lower().replace("'", "").replace("’", "")
    pieces = _TOKEN.findall(lowered)
    if _UNSPACED_RUN.search(lowered):
        pieces = [w for piece in pieces for w in (segment_words(piece) if _UNSPACED_RUN.match(piece) else [piece])]
    stop = stop_words()
    return [
        w if w[0].isalpha() and w not in stop and (w.isascii() or _keep_unspaced(w)) else "" for w in pieces
    ]


def words_and_pairs(text: str) -> tuple[list[str], list[str]]:
    """The kept words of a comment (:func:`phrases`, flattened) and its pairs of adjacent words.

    Pairs are formed between words of spaced scripts only and written with a space ("burr grinder").
    Chinese words from ``jieba`` are whole words already; pairing them made phrases cut out of sentences
    ("透气性夏天" from 透气性，夏天…) on the Chinese demo. Computed without building the phrases: term
    counting runs it on every comment.
    """
    marks = _marks(text)
    words = [w for w in marks if w]
    pairs = [f"{a} {b}" for a, b in zip(marks, marks[1:], strict=False) if a and b and _spaced(a) and _spaced(b)]
    return words, pairs


def _spaced(word: str) -> bool:
    return word.isascii() or not _UNSPACED_RUN.match(word)


def _keep_unspaced(word: str) -> bool:
    if not _UNSPACED_RUN.match(word):
        return True  # a non-ASCII word of a spaced script ("café")
    # A jieba piece: a whole word of two or more characters that is not filler, and not mixed with other
    # text (jieba passes punctuation and spaces through as pieces of their own).
    return len(word) > 1 and word not in CHINESE_STOP_WORDS and _UNSPACED_RUN.fullmatch(word) is not None


def tokenize(text: str, *, bigrams: bool = True) -> list[str]:
    """Keyword candidates of a comment: its content words and, optionally, adjacent word pairs.

    Parameters
    ----------
    text : str
        Any comment.
    bigrams : bool, default True
        Also return each pair of adjacent words of a spaced script (:func:`words_and_pairs`).

    Returns
    -------
    list of str
        The words of :func:`phrases` in order, then the pairs.
    """
    words, pairs = words_and_pairs(text)
    return words + pairs if bigrams else words


__all__ = [
    "CHINESE_STOP_WORDS",
    "CJK",
    "CJK_CHARACTER",
    "CJK_PUNCTUATION",
    "HAN",
    "HANGUL",
    "KANA",
    "stop_words",
    "UNSPACED",
    "WORD",
    "latin_words",
    "phrases",
    "segment_words",
    "tokenize",
    "words_and_pairs",
]
