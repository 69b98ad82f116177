"""The Describe stage's last step, on the driver: segment descriptions (names, keywords, top items, mean
rating, representative comments) from the per-segment sums the workers wrote, as the local engine's
``describe_labelled_comments`` makes them from every comment."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from segmentation.describe.keywords import NOISE
from segmentation.describe.segments import (
    NOISE_NAME,
    SegmentDescription,
    keywords_from_counts,
    shorten,
    suggest_name,
    unique_name,
)
from segmentation.scale import stages

N_KEYWORDS, N_REPRESENTATIVE, N_ITEMS = 8, 3, 5


def _descriptions(
    described: Any, sizes: pd.Series, n_users: int, has_items: bool, has_ratings: bool
) -> list[SegmentDescription]:
    """Segment descriptions from the summed describe table, as ``describe_labelled_comments`` makes them."""
    nearest = described.filter(expr="kind == 'representative'").to_pandas()
    totals = (
        described.filter(expr="kind != 'representative'")
        .groupby(["kind", "segment", "key"])
        .sum("value")
        .to_pandas()
        .rename(columns={"sum(value)": "value"})
    )
    order = stages.segment_order([int(s) for s in sizes.index])
    terms = totals[totals["kind"] == "term"]
    # As keywords.term_counts keeps a word pair only when it recurs (there: in two comments; here, from
    # summed counts, twice in all).
    overall = terms.groupby("key")["value"].transform("sum")
    terms = terms[~terms["key"].str.contains(" ", regex=False) | (overall >= 2)]
    vocabulary = np.array(sorted(terms["key"].unique()), dtype=object)
    row = {s: i for i, s in enumerate(order)}
    counts = sparse.csr_matrix(
        (terms["value"].to_numpy(), (terms["segment"].map(row).to_numpy(), np.searchsorted(vocabulary, terms["key"]))),
        shape=(len(order), len(vocabulary)),
    )
    # One row of summed counts per segment: c-TF-IDF sums rows per segment, so it gives the same scores.
    keywords, by_distinctness = keywords_from_counts(counts, vocabulary, order, N_KEYWORDS)
    used: set[str] = set()
    out = []
    for segment in order:
        mine = totals[totals["segment"] == segment]
        value = dict(zip(zip(mine["kind"], mine["key"], strict=True), mine["value"], strict=True))
        if segment == NOISE:
            name = NOISE_NAME
        else:
            name = unique_name(suggest_name(by_distinctness[segment]) or f"Segment {segment}", used)
        items = None
        if has_items:
            ranked = mine[mine["kind"] == "item"].sort_values(["value", "key"], ascending=[False, True])
            items = ranked["key"].head(N_ITEMS).tolist()
        rating = None
        if has_ratings and value.get(("rating_n", ""), 0) > 0:
            rating = value[("rating_sum", "")] / value[("rating_n", "")]
        out.append(
            SegmentDescription(
                id=int(segment),
                name=name,
                size=int(sizes[segment]),
                share=int(sizes[segment]) / n_users,
                keywords=keywords[segment],
                representative_comments=_representatives(nearest[nearest["segment"] == segment]),
                top_items=items,
                mean_rating=rating,
            )
        )
    return out


def _representatives(candidates: pd.DataFrame) -> list[str]:
    """The best distinct candidates over all groups, with the local engine's ties, de-duplication and cut."""
    ranked = candidates.sort_values(["value", "row_id"], ascending=[False, True])
    chosen: list[str] = []
    seen: set[str] = set()
    for text in ranked["text"]:
        clean = " ".join(str(text).split())
        if clean and clean.casefold() not in seen:
            seen.add(clean.casefold())
            chosen.append(shorten(clean))
            if len(chosen) == N_REPRESENTATIVE:
                break
    return chosen
