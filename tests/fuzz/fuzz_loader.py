"""Coverage-guided fuzzing of ``load_comments`` with atheris (libFuzzer), over bytes and every format.

The property: for any bytes under any file name, ``load_comments`` returns :class:`Comments` or raises
:class:`DataError`, within libFuzzer's per-input time limit (``-timeout``) and memory limit
(``-rss_limit_mb``). Anything else (another exception, a hang, a blow-up) is a finding: libFuzzer stops
and writes the input to ``-artifact_prefix``.

    python tests/fuzz/fuzz_loader.py CORPUS_DIR -max_total_time=30 -timeout=20 -rss_limit_mb=3072

The first byte of each input picks the file name (so the extension-driven paths are all reached); the
rest is the file. Seeds: the bad-input corpus (tests/bad_inputs), one file of each format and shape.
"""

from __future__ import annotations

import atheris
from common import check_one_line, fuzz

with atheris.instrument_imports(include=["segmentation"]):
    from segmentation.core.errors import DataError
    from segmentation.ingest.comments import Comments
    from segmentation.ingest.io import load_comments

NAMES = (
    "f.csv", "f.tsv", "f.txt", "f.json", "f.jsonl", "f.parquet", "f.xlsx", "f.csv.gz", "f", "f.dat",
)
MAX_BYTES = 2**20  # inputs stay small; the size guards themselves are tested in the corpus


def one_input(data: bytes) -> None:
    if not data:
        return
    name = NAMES[data[0] % len(NAMES)]
    try:
        comments = load_comments(data[1:], name=name, max_bytes=MAX_BYTES, max_rows=100_000)
    except DataError as error:
        check_one_line(error, "load_comments")
        return
    if not isinstance(comments, Comments):
        raise AssertionError(f"load_comments returned {type(comments).__name__}")
    frame = comments.frame
    if frame.empty or (frame["text"] == "").any() or frame.index.tolist() != list(range(len(frame))):
        raise AssertionError("loaded comments break the contract: empty text or a broken index")


if __name__ == "__main__":
    fuzz(one_input)
