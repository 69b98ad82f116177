"""Guided segments: users placed against personas a marketer describes in words, the rest left to be discovered.

A persona is a name and a description ("hockey: ice hockey, NHL teams, players, playoffs"), encoded with the
run's encoder. Each user's profile goes to the persona it is most similar to (cosine), with the confidence
:mod:`segmentation.cluster.membership` gives segments: the margin ``1 - own / next nearest`` of the cosine
distances. A user whose best similarity is under ``min_similarity`` is far from every persona and keeps the
run's own segment instead, as a *discovered* segment. Measured on the labelled sets, over seeds, the run's segments
kept the far users' groups steadily (NMI 0.92 on the forum set under every seed, where k-means on the far users
alone swung from 0.62 to 0.91) and a little below clustering them again on the newsgroups (0.22 against
0.27-0.29); they also come with the names the run's segments already have (benchmarks/README.md, "Guided
segments").

Personas are typed one per line as ``name: description`` (:func:`parse_personas`); they are refused when
there are none, when two share a name or a description, or when they are written in another script than the
comments (Latin against Chinese, Japanese or Korean: a persona then matches nobody).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from segmentation.cluster.membership import soft_membership
from segmentation.core.errors import ConfigError
from segmentation.core.labels import MAX_NAME_LENGTH  # a persona's name becomes a segment name
from segmentation.core.text import CJK

# Under this similarity to every persona a user is left to the discovered segments. Chosen on the real labelled
# sets with the fast encoder, leaving out one persona in turn: the best mean of "that persona's users discovered"
# and "the other users placed" over both sets (0.790 on the forum set, 0.581 on the newsgroups; 0.20 and 0.30
# were each a little worse on one of them). See benchmarks/README.md, "Guided segments".
MIN_SIMILARITY = 0.25
MAX_PERSONAS = 50
# The separators between a persona's name and its description: a colon, also the full-width one of CJK input.
_SEPARATOR = re.compile(r"\s*[:：]\s*")
_CJK_LETTER = re.compile(f"[{CJK}]")
_LETTER = re.compile(r"[^\W\d_]")


@dataclass(frozen=True)
class Persona:
    """A persona: the name its segment takes, and the words that describe its users."""

    name: str
    description: str

    @property
    def text(self) -> str:
        """What is encoded: the name and the description together, as the marketer wrote them."""
        return f"{self.name}: {self.description}" if self.description != self.name else self.name


@dataclass(frozen=True, eq=False)
class Guided:
    """Users placed against personas, row for row with the users.

    Attributes
    ----------
    personas : tuple of Persona
    labels : ndarray of shape (n_users,)
        The user's segment: ``0 .. n_personas - 1`` for a persona, ``n_personas + j`` for the run's segment
        ``discovered[j]`` (a user far from every persona), ``-1`` for a far user the run left as noise.
    persona : ndarray of shape (n_users,)
        The nearest persona, whether or not the user was placed in it.
    similarity : ndarray of shape (n_users,)
        Similarity to the nearest persona (cosine relative to the average user, :func:`persona_similarity`).
    confidence : ndarray of shape (n_users,)
        The margin ``1 - own / next nearest`` of the cosine distances to the personas (as
        :func:`segmentation.cluster.membership.soft_membership`): 0 halfway between two personas.
    placed : ndarray of shape (n_users,)
        Whether the user is in a persona's segment (``similarity >= min_similarity``).
    discovered : ndarray of shape (n_discovered,)
        The run's segment ids that hold far users, in the order of their segment ids after the personas.
    min_similarity : float
    """

    personas: tuple[Persona, ...]
    labels: np.ndarray
    persona: np.ndarray
    similarity: np.ndarray
    confidence: np.ndarray
    placed: np.ndarray
    discovered: np.ndarray
    min_similarity: float

    @property
    def n_personas(self) -> int:
        return len(self.personas)


def parse_personas(text: str) -> list[Persona]:
    """The personas typed one per line as ``name: description``.

    A line without a colon is a persona whose name is its description ("hockey fans"). Blank lines and lines
    starting with ``#`` are skipped. Names and descriptions keep their case; surrounding spaces are dropped.

    Raises
    ------
    ConfigError
        When no persona is given, a line has a name but no description, a name is too long, there are more
        than :data:`MAX_PERSONAS`, or two personas share a name or a description (case and spaces ignored).
    """
    personas = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = _SEPARATOR.split(line, maxsplit=1)
        name, description = (parts[0], parts[1]) if len(parts) == 2 else (line, line)
        if not name:
            raise ConfigError(f"persona on line {number} has no name before its colon: write “name: description”")
        if not description:
            raise ConfigError(f"persona “{name}” (line {number}) has no description after its colon: "
                              "say in a few words what its users write about")
        if len(name) > MAX_NAME_LENGTH:
            raise ConfigError(f"persona name on line {number} is {len(name)} characters long: keep names to "
                              f"{MAX_NAME_LENGTH} (the description can be longer)")
        personas.append(Persona(name, description))
    _check_personas(personas)
    return personas


def _check_personas(personas: Sequence[Persona]) -> None:
    if not personas:
        raise ConfigError("no personas given: write one per line as “name: description”, "
                          "e.g. “hockey fans: ice hockey, NHL teams, playoffs”")
    if len(personas) > MAX_PERSONAS:
        raise ConfigError(f"{len(personas)} personas given: at most {MAX_PERSONAS} are placed at once")
    for field in ("name", "description"):
        seen: dict[str, str] = {}
        for persona in personas:
            value = getattr(persona, field)
            folded = " ".join(value.casefold().split())
            if folded in seen:
                raise ConfigError(f"two personas have the same {field} (“{seen[folded]}” and “{value}”): "
                                  "each persona needs its own, or users could not tell them apart")
            seen[folded] = value


def cjk_share(texts: Sequence[str]) -> float | None:
    """The share of the letters of ``texts`` that are Chinese, Japanese or Korean (None: no letters)."""
    letters = cjk = 0
    for text in texts:
        letters += len(_LETTER.findall(text))
        cjk += len(_CJK_LETTER.findall(text))
    return cjk / letters if letters else None


def check_language(personas: Sequence[Persona], comments: Sequence[str]) -> None:
    """Refuse personas written in another script than the comments.

    Scripts are told apart by the share of CJK letters: a side is CJK above one half. Comparing whole
    languages would need a detector; the script alone already catches the case that matches nobody.

    Raises
    ------
    ConfigError
    """
    ours, theirs = cjk_share([p.text for p in personas]), cjk_share(comments)
    if ours is None or theirs is None or (ours > 0.5) == (theirs > 0.5):
        return
    cjk, latin = "Chinese, Japanese or Korean", "Latin"
    written, wanted = (cjk, latin) if ours > 0.5 else (latin, cjk)
    raise ConfigError(f"the personas are written in {written} script but the comments in {wanted} script: "
                      "write the personas in the comments' language, or no user will match them")


def guide(
    profiles: np.ndarray,
    persona_vectors: np.ndarray,
    personas: Sequence[Persona],
    run_labels: np.ndarray,
    *,
    min_similarity: float = MIN_SIMILARITY,
) -> Guided:
    """Place each user at the persona their profile is most similar to, or leave them to the run's segments.

    Parameters
    ----------
    profiles : ndarray of shape (n_users, d_profile)
        The run's user profiles; their first ``d`` columns are the L2-normalised text part (any attribute
        block after it is not compared: personas describe what users write).
    persona_vectors : ndarray of shape (n_personas, d)
        The personas encoded with the run's encoder.
    personas : sequence of Persona
        Row for row with ``persona_vectors``; checked as :func:`parse_personas` checks them.
    run_labels : ndarray of shape (n_users,)
        The run's segments (hand edits applied): the discovered segments of far users.
    min_similarity : float, default MIN_SIMILARITY
        Cosine similarity under which a user is far from every persona, in [-1, 1].

    Returns
    -------
    Guided

    Raises
    ------
    ConfigError
        When the personas are refused, ``min_similarity`` is outside [-1, 1], or the vectors do not fit the
        profiles (another encoder).
    """
    personas = tuple(personas)
    _check_personas(personas)
    profiles = np.asarray(profiles)
    persona_vectors = np.asarray(persona_vectors)
    run_labels = np.asarray(run_labels)
    if not -1.0 <= float(min_similarity) <= 1.0:
        raise ConfigError(f"min_similarity={min_similarity} is not allowed: a cosine similarity is in [-1, 1]")
    if persona_vectors.ndim != 2 or len(persona_vectors) != len(personas):
        raise ConfigError(f"{len(personas)} personas but {len(persona_vectors)} persona vectors")
    if profiles.ndim != 2 or profiles.shape[1] < persona_vectors.shape[1]:
        raise ConfigError(f"persona vectors of {persona_vectors.shape[1]} dimensions do not fit profiles of "
                          f"{profiles.shape[1]}: the personas were encoded with another encoder than the run's")
    if len(run_labels) != len(profiles):
        raise ConfigError(f"{len(run_labels)} run labels for {len(profiles)} users")
    return _guide(profiles, persona_vectors, personas, run_labels, float(min_similarity))


def persona_similarity(profiles: np.ndarray, persona_vectors: np.ndarray) -> np.ndarray:
    """Cosine similarity of every user to every persona, both taken relative to the average user.

    The mean of the users' (L2-normalised) text profiles is subtracted from the profiles and from the persona
    vectors before the cosine. Raw cosines are dominated by what every text shares: on the real labelled sets
    with the fast encoder most users were nearest to the same one or two personas (a fifth of the newsgroup
    users placed right); relative to the average user two in three were (benchmarks/README.md, "Guided
    segments"). Prior validation of the shapes is assumed.

    Parameters
    ----------
    profiles : ndarray of shape (n_users, d_profile)
        User profiles whose first ``d`` columns are the text part.
    persona_vectors : ndarray of shape (n_personas, d)

    Returns
    -------
    ndarray of shape (n_users, n_personas)
        Values in [-1, 1].
    """
    text = _unit(profiles[:, : persona_vectors.shape[1]].astype(np.float64))
    average = text.mean(axis=0)
    return _unit(text - average) @ _unit(persona_vectors.astype(np.float64) - average).T


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


def _guide(profiles: np.ndarray, persona_vectors: np.ndarray, personas: tuple[Persona, ...],
           run_labels: np.ndarray, min_similarity: float) -> Guided:
    """:func:`guide` on checked inputs."""
    similarity = persona_similarity(profiles, persona_vectors)
    # Cosine distance, as segments use Euclidean distance: the same margin and the same nearest-first order.
    found = soft_membership(np.clip(1.0 - similarity, 0.0, 2.0))
    nearest = found.segments[:, 0]
    best = similarity[np.arange(len(similarity)), nearest]
    placed = best >= min_similarity
    far_labels = run_labels[~placed].astype(np.int64)
    discovered = np.unique(far_labels[far_labels >= 0])
    labels = nearest.astype(np.int64).copy()
    labels[~placed] = np.where(far_labels >= 0, len(personas) + np.searchsorted(discovered, far_labels), -1)
    return Guided(personas, labels, nearest.astype(np.int64), best, found.confidence, placed, discovered,
                  min_similarity)


__all__ = ["MIN_SIMILARITY", "Guided", "Persona", "check_language", "cjk_share", "guide", "parse_personas",
           "persona_similarity"]
