"""Items described by their review words: do the words say what the item is? (issue 20, item 4)

The recipe reviews name their recipes, so they can judge the words: each recipe is described with its name set
aside (:func:`segmentation.describe.items.describe_items`), and the figure is the share of recipes whose words hold
a word of their real name ("Shrimp Scampi": scampi, shrimp, broiling). Also counted: recipes left with no word, and
words that appear in a single review of the recipe (an aside such as a reviewer's name). Swept over the support a
word needs (``min_support``: reviews of the recipe it must appear in). No randomness enters, so there are no seeds.

    python benchmarks/item_words.py
"""

from __future__ import annotations

import json
import os
import platform
import re
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "recipe_reviews"

from segmentation.describe.items import describe_items, item_names  # noqa: E402
from segmentation.describe.keywords import _stem, term_counts  # noqa: E402
from segmentation.ingest.io import load_comments  # noqa: E402

FILES = ("recipe_reviews_full.csv.gz", "recipe_reviews_users_ge2.csv.gz")
SUPPORTS = (1, 2, 3)


def _stems(text: str) -> set[str]:
    return {_stem(word) for word in re.findall(r"[a-z]+", text.lower())}


def measure(file: str, support: int) -> dict:
    comments = load_comments(DATA / file)
    frame = comments.frame
    items, texts = frame["item_id"].to_numpy(), frame["text"].to_numpy()
    terms = term_counts(texts)
    started = time.perf_counter()
    labels = describe_items(items, terms, min_support=support)
    seconds = time.perf_counter() - started
    names = item_names(items, frame["item_name"].to_numpy())
    lower = frame["text"].str.lower()
    named = empty = single = words = 0
    examples = {}
    for item, terms_of_item in labels.words.items():
        named += bool(_stems(names[item]) & {s for term in terms_of_item for s in _stems(term)})
        empty += not terms_of_item
        reviews = lower[frame["item_id"] == item]
        for term in terms_of_item:
            words += 1
            single += int(reviews.str.contains(re.escape(term), regex=True).sum() <= 1)
        examples[names[item]] = labels.label(item)
    return {"file": file, "min_support": support, "items": len(labels.words), "with_a_word_of_the_name": named,
            "without_words": empty, "words": words, "words_in_one_review": single, "seconds": round(seconds, 3),
            "examples": dict(list(examples.items())[:12])}


def main() -> None:
    results = [measure(file, support) for file in FILES for support in SUPPORTS]
    record = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "load_average": os.getloadavg(),
        "results": results,
    }
    out = ROOT / "benchmarks" / "results" / "item_words.json"
    out.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print("| file | min_support | recipes with a word of their name | without words | words in one review only |")
    print("|---|---|---|---|---|")
    for r in results:
        print(f"| {r['file']} | {r['min_support']} | {r['with_a_word_of_the_name']}/{r['items']} | "
              f"{r['without_words']} | {r['words_in_one_review']}/{r['words']} |")
    print(f"load average {record['load_average']}")


if __name__ == "__main__":
    main()
