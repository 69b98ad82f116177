"""Keyword parts: term counts, distinctive c-TF-IDF, re-rankers, and the two keyword metrics."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures import labelled_comments

from segmentation.describe.fidelity import held_out_label_fidelity, keyword_distinctness, label_fidelity, label_text
from segmentation.describe.keywords import (
    CachedEncoder,
    KeyBERTInspired,
    KeywordContext,
    LexicalDiversity,
    MaximalMarginalRelevance,
    OneSegmentPerKeyword,
    default_rerankers,
    evenly_spread,
    term_counts,
)
from segmentation.describe.segments import SegmentDescription, describe_segments
from segmentation.embed.base import get_encoder
from segmentation.embed.profiles import build_profiles
from segmentation.ingest.io import from_frame

COFFEE = [
    "I love this espresso, the crema is thick and the burr grinder is quiet.",
    "The espresso shot had great crema; the burr grinder makes a huge difference.",
    "Great espresso beans, crema every time.",
]
RUNNING = [
    "These trail shoes are great for a marathon, no blisters at all.",
    "I ran my first marathon in these shoes, great grip on the trail.",
    "Great shoes for marathon training, light on the trail.",
]


def description(id: int, keywords: list[str], name: str = "") -> SegmentDescription:
    return SegmentDescription(id=id, name=name or f"Segment {id}", size=1, share=0.1, keywords=keywords,
                              representative_comments=[])


def test_keyword_distinctness_is_the_mean_share_of_top_keywords_no_other_segment_has() -> None:
    # Segment 0 shares "c" (2 of 3 its own), segment 1 shares "c" (2 of 3), segment 2 shares nothing.
    lists = [["a", "b", "c"], ["c", "d", "e"], ["f", "g", "h"]]
    assert keyword_distinctness(lists, top=3) == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)
    # Only the top keywords count: beyond them, "c" no longer overlaps.
    assert keyword_distinctness([["a", "c"], ["d", "e", "c"]], top=2) == 1.0
    assert keyword_distinctness([["great", "good"], ["great", "good"]]) == 0.0


def test_keyword_distinctness_reads_descriptions_and_ignores_noise() -> None:
    segments = [description(0, ["espresso", "crema"]), description(1, ["trail", "shoes"]),
                description(-1, ["espresso", "trail"])]
    assert keyword_distinctness(segments) == 1.0


def test_keyword_distinctness_refuses_what_it_cannot_score() -> None:
    with pytest.raises(ValueError, match="two segments"):
        keyword_distinctness([["a"], []])
    with pytest.raises(TypeError, match="one list of keywords per segment"):
        keyword_distinctness(["espresso", "crema"])
    with pytest.raises(ValueError, match="top"):
        keyword_distinctness([["a"], ["b"]], top=0)


def test_term_counts_keep_every_word_but_only_pairs_seen_in_two_comments() -> None:
    terms = term_counts(["The burr grinder is quiet", "A burr grinder, loud", "quiet crema"])
    vocabulary = set(terms.vocabulary)
    assert {"burr", "grinder", "quiet", "loud", "crema", "burr grinder"} <= vocabulary
    assert "grinder quiet" not in vocabulary and "quiet crema" not in vocabulary
    column = list(terms.vocabulary).index("burr grinder")
    assert terms.counts[:, column].toarray().ravel().tolist() == [1, 1, 0]


def test_lexical_diversity_drops_plurals_inflections_and_words_inside_a_chosen_pair() -> None:
    context = KeywordContext({}, n_keywords=8)
    out = LexicalDiversity().rerank(
        {0: ["burr grinder", "grinder", "grinders", "loved", "loves", "crema", "burr"]}, context
    )
    assert out == {0: ["burr grinder", "loved", "crema"]}


class CountingEncoder:
    """A real encoder that records what it was asked to encode (the cache is what is under test)."""

    def __init__(self, spec: str) -> None:
        self.inner = get_encoder(spec)
        self.name = self.inner.name
        self.corpus_dependent = self.inner.corpus_dependent
        self.calls: list[list[str]] = []

    def encode(self, texts, progress=None):
        self.calls.append(list(texts))
        return self.inner.encode(texts)


@pytest.mark.slow
def test_cached_encoder_encodes_each_text_once_and_forgets_the_least_recent() -> None:
    counting = CountingEncoder("minilm")
    cached = CachedEncoder(counting, max_entries=3)
    first = cached.encode(["espresso", "crema", "espresso"])
    again = cached.encode(["crema", "espresso", "grinder"])
    assert counting.calls == [["espresso", "crema"], ["grinder"]]
    np.testing.assert_array_equal(again[1], first[0])
    cached.encode(["shoes"])  # four texts seen: the least recently used ("crema") goes
    cached.encode(["crema"])
    assert counting.calls[-1] == ["crema"]


def test_without_a_usable_encoder_only_the_steps_without_a_model_run() -> None:
    lexical = [LexicalDiversity, OneSegmentPerKeyword]
    assert [type(step) for step in default_rerankers(None)] == lexical
    # TF-IDF is fitted on the texts it encodes: on single words it would be meaningless.
    assert [type(step) for step in default_rerankers(get_encoder("tfidf"))] == lexical


def test_a_shared_keyword_stays_with_the_segment_where_it_ranks_best() -> None:
    candidates = {0: ["great", "espresso", "crema"], 1: ["shoes", "great", "trail"], -1: ["great", "noise"]}
    out = OneSegmentPerKeyword().rerank(candidates, KeywordContext({}, n_keywords=2))
    # Segment 1 keeps "great" only as a last reserve; the noise group is left as it was.
    assert out == {0: ["great", "espresso", "crema"], 1: ["shoes", "trail", "great"], -1: ["great", "noise"]}


def test_label_fidelity_refuses_a_corpus_fitted_encoder() -> None:
    with pytest.raises(ValueError, match="not tfidf"):
        label_fidelity([description(0, ["a"])], get_encoder("tfidf"), np.ones((1, 4)), [0])


def test_label_text_is_the_name_then_the_keywords() -> None:
    assert label_text(description(0, ["espresso", "crema"], "Espresso · crema")) == "Espresso · crema: espresso, crema"


@pytest.mark.slow
def test_keybert_inspired_puts_the_words_nearest_the_segment_first() -> None:
    encoder = CachedEncoder(get_encoder("minilm"))
    centroids = {0: encoder.encode(COFFEE).mean(axis=0), 1: encoder.encode(RUNNING).mean(axis=0)}
    context = KeywordContext(centroids, n_keywords=3)
    step = KeyBERTInspired(encoder, fuse=False)
    out = step.rerank({0: ["marathon", "weather", "espresso"], 1: ["espresso", "sneakers", "weather"]}, context)
    assert out[0][0] == "espresso" and out[0][-1] == "marathon"
    assert out[1][0] == "sneakers" and out[1][-1] == "espresso"


@pytest.mark.slow
def test_mmr_skips_a_near_duplicate_of_a_word_already_picked() -> None:
    encoder = CachedEncoder(get_encoder("minilm"))
    context = KeywordContext({0: encoder.encode(COFFEE).mean(axis=0), 1: encoder.encode(RUNNING).mean(axis=0)}, 2)
    out = MaximalMarginalRelevance(encoder, diversity=0.7).rerank({0: ["espresso", "espressos", "grinder"]}, context)
    assert out[0] == ["espresso", "grinder"]
    # With no diversity the incoming order stands.
    assert MaximalMarginalRelevance(encoder, diversity=0.0).rerank(
        {0: ["espresso", "espressos", "grinder"]}, context
    )[0] == ["espresso", "espressos"]


@pytest.mark.slow
def test_names_and_keywords_lead_held_out_users_to_their_own_segment() -> None:
    frame = labelled_comments(users_per_group=10, comments_per_user=3)
    comments = from_frame(frame[["user_id", "text"]], source="fixture")
    encoder = CachedEncoder(get_encoder("minilm"))
    embeddings = encoder.encode(comments.frame["text"].tolist())
    profiles = build_profiles(comments, embeddings)
    group_of_user = frame.drop_duplicates("user_id").set_index("user_id")["true_group"]
    groups = sorted(group_of_user.unique())
    labels = np.array([groups.index(group_of_user[user]) for user in profiles.user_ids])

    segments = describe_segments(comments, profiles, labels, embeddings, encoder=encoder)
    assert keyword_distinctness(segments) >= 0.75
    # Four groups: chance is 0.25; users of clearly different groups are recognised from 8 words and a name.
    fidelity = held_out_label_fidelity(comments.frame["text"].to_numpy(), np.asarray(profiles.comment_user),
                                       labels, embeddings, encoder, test_size=0.3, seed=1)
    assert fidelity >= 0.9
    # Labels of the wrong segments lead users astray: fidelity is about the words, not the profiles.
    shuffled = [SegmentDescription(**{**s.to_dict(), "id": (s.id + 1) % 4}) for s in segments]
    assert label_fidelity(shuffled, encoder, profiles.vectors, labels) <= 0.1


def test_held_out_protocol_describes_the_training_users_only() -> None:
    # One comment per user, so the described texts show which users the descriptions saw.
    rng = np.random.default_rng(0)
    texts = [f"{t} #{i}" for i, t in enumerate(COFFEE * 4 + RUNNING * 4)]
    labels = np.array([0] * 12 + [1] * 12)
    embeddings = rng.normal(size=(24, 8)).astype(np.float32)
    described: list[set[str]] = []

    def describer(texts, comment_user, user_labels, embeddings, **options):
        described.append(set(texts))
        assert len(user_labels) == len(texts) and comment_user.max() < len(user_labels)
        return [description(0, ["espresso", "crema"]), description(1, ["trail", "shoes"])]

    class Random:  # a fixed random embedding per label text: the protocol, not the words, is under test
        name, corpus_dependent = "random", False

        def encode(self, texts, progress=None):
            return np.random.default_rng(len(texts)).normal(size=(len(texts), 8))

    for seed in range(3):
        held_out_label_fidelity(texts, np.arange(24), labels, embeddings, Random(), test_size=0.25, seed=seed,
                                describer=describer)
    assert [len(seen) for seen in described] == [18, 18, 18]
    assert described[0] != described[1] and all(seen < set(texts) for seen in described)


def test_evenly_spread_finds_the_words_every_segment_uses_alike() -> None:
    texts = ["tasty espresso", "tasty crema", "tasty trail", "tasty shoes", "espresso crema", "trail run"]
    labels = np.array([0, 0, 1, 1, 0, 1])
    terms = term_counts(texts)
    spread = dict(zip(terms.vocabulary, evenly_spread(terms, labels, [0, 1]), strict=True))
    assert spread["tasty"] and not spread["espresso"] and not spread["trail"]
    # Noise comments are left out, and one segment alone has no filler to tell.
    with_noise = evenly_spread(terms, np.array([0, 0, 1, 1, -1, -1]), [0, 1, -1])
    assert dict(zip(terms.vocabulary, with_noise, strict=True))["tasty"]
    assert not evenly_spread(terms, np.zeros(6, dtype=int), [0]).any()
