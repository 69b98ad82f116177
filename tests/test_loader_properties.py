"""Properties of the loaders, across formats and encodings (hypothesis).

1. Whatever the format (CSV, TSV, JSON lines, JSON, Parquet, XLSX, TXT), a table written by a standard tool
   loads back as the cleaned originals, ids as written, ratings as the same numbers.
2. Whatever the encoding a spreadsheet or a Chinese tool picks, the text comes back exactly.
3. Whatever the bytes (random, or a valid file damaged), loading ends in Comments or one DataError, never
   another exception.
"""

from __future__ import annotations

import io
import json
import math
import re

import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from segmentation.core.errors import DataError
from segmentation.ingest.csv_reader import _first_line
from segmentation.ingest.formats import _is_table_header
from segmentation.ingest.io import clean_text, load_comments

FORMATS = ("csv", "tsv", "jsonl", "json", "parquet", "xlsx")
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Printable text: no surrogates, no control characters (Excel cannot store them; the cleaner turns them
# into spaces, which property 1 covers through clean_text anyway), no private-use or unassigned points.
_CHARS = st.characters(blacklist_categories=("Cs", "Cc", "Co", "Cn"))
_TEXT = st.text(_CHARS, max_size=30)
_ID = st.text(_CHARS, min_size=1, max_size=8)
_RATING = st.one_of(
    st.none(), st.integers(1, 5).map(float), st.floats(0, 5, allow_nan=False).map(lambda r: round(r, 3))
)


def _write(frame: pd.DataFrame, fmt: str) -> bytes:
    if fmt in ("csv", "tsv"):
        return frame.to_csv(index=False, sep="," if fmt == "csv" else "\t").encode("utf-8")
    if fmt == "jsonl":
        records = frame.astype(object).where(frame.notna(), None).to_dict("records")
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")
    if fmt == "json":
        return json.dumps(frame.astype(object).where(frame.notna(), None).to_dict("records")).encode("utf-8")
    buffer = io.BytesIO()
    if fmt == "parquet":
        frame.to_parquet(buffer, index=False)
    else:
        frame.to_excel(buffer, index=False)
    return buffer.getvalue()


def _expected(rows: list[tuple[str, str, float | None]]) -> list[tuple[str, str, float | None]]:
    """Cleaned, empty texts dropped, exact duplicates dropped: what the contract promises."""
    out: dict[tuple[str, str, float | None], None] = {}
    for number, (user, text, rating) in enumerate(rows, start=1):
        cleaned = clean_text(text)
        if cleaned:
            out[(user.strip() or f"row-{number}", cleaned, rating)] = None
    return list(out)


@pytest.mark.parametrize("fmt", FORMATS)
@FAST
@given(rows=st.lists(st.tuples(_ID, _TEXT, _RATING), min_size=1, max_size=8))
def test_a_table_in_any_format_loads_back_as_the_cleaned_originals(
    fmt: str, rows: list[tuple[str, str, float | None]]
) -> None:
    if fmt == "xlsx":
        # Excel turns a leading "=" into a formula; exports keep such cells as text only when neutralised.
        assume(not any(u.startswith("=") or t.startswith("=") for u, t, _ in rows))
    frame = pd.DataFrame(rows, columns=["user_id", "text", "rating"])
    data = _write(frame, fmt)
    expected = _expected(rows)
    try:
        comments = load_comments(data, name=f"random.{fmt}")
    except DataError as error:
        assert not expected, error
        return
    loaded = comments.frame
    ratings = loaded["rating"].tolist() if comments.has_ratings else [None] * len(loaded)
    got = [(u, t, None if r is None or math.isnan(r) else r)
           for u, t, r in zip(loaded["user_id"], loaded["text"], ratings, strict=True)]
    assert got == expected


@FAST
@given(texts=st.lists(st.text(st.characters(blacklist_categories=("Cs", "Cc", "Co", "Cn")), min_size=1, max_size=30),
                      min_size=1, max_size=8))
def test_a_plain_text_file_is_one_comment_per_line(texts: list[str]) -> None:
    lines = [t for t in texts if "\n" not in t and "\r" not in t]
    assume(lines and not _is_table_header(_first_line("\n".join(lines))))
    comments = load_comments(("\n".join(lines) + "\n").encode("utf-8"), name="notes.txt")
    cleaned = [clean_text(t) for t in lines]
    expected = list(dict.fromkeys((f"row-{i}", t) for i, t in enumerate(cleaned, start=1) if t))
    assert list(zip(comments.frame["user_id"], comments.frame["text"], strict=True)) == expected


# Words people write in each encoding's languages, mixed with ASCII: realistic text, not random code points,
# because a random mix of Latin-1 letters is exactly what reads as plausible GB18030.
_VOCABULARY = {
    "latin-1": ["très", "café", "Müller", "crème", "brûlée", "señor", "garçon", "Straße", "smörgåsbord", "naïve",
                "à", "déjà", "über", "Ångström", "niño", "½", "°C", "±", "©"],
    "cp1252": ["“quoted”", "—", "€", "œuvre", "Œ", "…", "‘single’", "•", "™", "café", "Ça", "très"],
    "gbk": ["咖啡", "很好用", "研磨", "均匀", "跑鞋", "太重了", "不推荐", "耳机", "音质", "清晰", "，", "。", "！"],
    "gb18030": ["咖啡", "护肤品", "很温和", "游戏", "手柄", "电竞", "耳机", "好", "，", "。"],
    "utf-16": ["naïve", "日本語", "שלום", "مرحبا", "😀", "☕", "café", "Ελληνικά", "русский"],
    "utf-8-sig": ["naïve", "日本語", "שלום", "مرحبا", "😀", "☕", "café", "Ελληνικά", "русский"],
}
_ASCII_WORDS = ["good", "bad", "coffee", "shoes", "it", "was", "great", "ok", "and", "the", "5", "stars"]


@pytest.mark.parametrize("encoding", list(_VOCABULARY))
@FAST
@given(data=st.data())
def test_text_in_each_encoding_comes_back_exactly(encoding: str, data: st.DataObject) -> None:
    words = st.sampled_from(_VOCABULARY[encoding] + _ASCII_WORDS)
    # At least one word of the language per comment: an all-ASCII file decodes the same in every encoding.
    texts = data.draw(st.lists(
        st.tuples(st.sampled_from(_VOCABULARY[encoding]), st.lists(words, max_size=6)).map(
            lambda pair: " ".join([pair[0], *pair[1]])),
        min_size=1, max_size=6))
    sep = data.draw(st.sampled_from([",", "\t", ";"]))
    frame = pd.DataFrame({"user": [f"u{i}" for i in range(len(texts))], "comment": texts})
    raw = frame.to_csv(index=False, sep=sep).encode(encoding)
    comments = load_comments(raw, name="export.csv")
    assert comments.frame["text"].tolist() == texts  # one user each: equal texts are not duplicate rows


_NAMES = st.sampled_from(["x.csv", "x.tsv", "x.txt", "x.json", "x.jsonl", "x.parquet", "x.xlsx", "x.csv.gz", "x"])


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=2000), name=_NAMES)
def test_any_bytes_end_in_comments_or_one_data_error(data: bytes, name: str) -> None:
    try:
        load_comments(data, name=name)
    except DataError as error:
        assert str(error) and "\n" not in str(error)


def _valid_file(fmt: str) -> bytes:
    frame = pd.DataFrame({"user_id": ["007", "008", "009"], "text": ["good coffee", "bad shoes", "fine tea"],
                          "rating": [5.0, 1.0, 3.5]})
    return _write(frame, fmt)


VALID = {fmt: _valid_file(fmt) for fmt in FORMATS}


@pytest.mark.parametrize("fmt", FORMATS)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_a_damaged_file_ends_in_comments_or_one_data_error(fmt: str, data: st.DataObject) -> None:
    original = bytearray(VALID[fmt])
    damage = data.draw(st.sampled_from(["truncate", "flip", "insert"]))
    position = data.draw(st.integers(0, len(original) - 1))
    if damage == "truncate":
        damaged = bytes(original[:position])
    elif damage == "flip":
        original[position] = data.draw(st.integers(0, 255))
        damaged = bytes(original)
    else:
        damaged = bytes(original[:position]) + data.draw(st.binary(min_size=1, max_size=16)) + bytes(
            original[position:])
    try:
        load_comments(damaged, name=f"damaged.{fmt}")
    except DataError as error:
        assert str(error) and "\n" not in str(error)


# 4. Two exports pasted together (UTF-8 rows and Windows-1252 rows): every row comes back as written, and
#    a note counts the rows that were not UTF-8.
# Latin text as people write it: accented letters inside words of ASCII letters.
_WORD = st.text(st.sampled_from("abcdefghijlmnoprstu"), min_size=1, max_size=6)
_LATIN = st.lists(
    st.builds(lambda a, accent, b: a + accent + b, _WORD, st.sampled_from("éèàçüöñÉ€“”—"), _WORD),
    min_size=1, max_size=3,
).map(" ".join)


@FAST
@given(utf8=st.lists(st.tuples(_LATIN, st.booleans()), min_size=1, max_size=8),
       legacy=st.lists(_LATIN, min_size=1, max_size=8))
def test_mixed_utf8_and_windows_1252_rows_each_come_back_exactly(
    utf8: list[tuple[str, bool]], legacy: list[str]
) -> None:
    texts = [t + (" ☕" if cup else "") for t, cup in utf8]
    assume(any(not t.isascii() for t in texts) and any(not t.isascii() for t in legacy))
    rows = [(f"u{i}", t, "utf-8") for i, t in enumerate(texts)]
    rows += [(f"w{i}", t, "cp1252") for i, t in enumerate(legacy)]
    data = b"user_id,text\n" + b"".join(f"{u},{t}\n".encode(enc) for u, t, enc in rows)
    assume(data.count(b"\n") == len(rows) + 1)
    try:
        data.decode("utf-8")
        assume(False)  # every legacy row happened to be valid UTF-8: nothing mixed to read
    except UnicodeDecodeError:
        pass
    comments = load_comments(data, name="pasted.csv")
    got = dict(zip(comments.frame["user_id"], comments.frame["text"], strict=True))
    assert got == {u: clean_text(t) for u, t, _ in rows if clean_text(t)}
    n_legacy = sum(1 for _, t, enc in rows if enc == "cp1252" and not _is_utf8(f"w,{t}".encode(enc)))
    assert any(re.search(rf"\b{n_legacy} rows are not UTF-8", note) for note in comments.notes), comments.notes


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# 5. A one-column file keeps each line whole, whatever commas it holds.
@FAST
@given(st.lists(st.text(st.sampled_from("abc ,;xyz"), min_size=1, max_size=25), min_size=1, max_size=10))
def test_a_one_column_table_keeps_every_text_whole(texts: list[str]) -> None:
    cleaned = [clean_text(t) for t in texts]
    assume(all(c and not c.startswith(("#",)) for c in cleaned))
    data = ("comment\n" + "".join(t + "\n" for t in cleaned)).encode()
    comments = load_comments(data, name="one_column.csv")
    assert comments.frame["text"].tolist() == cleaned  # each line is its own user: no duplicate to drop
