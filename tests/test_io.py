"""Loading comments: every format and encoding, column roles, cleaning, one clear DataError per bad file."""

from __future__ import annotations

import gzip
import io
import json
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segmentation.core.errors import DataError
from segmentation.ingest.io import (
    MAX_ROWS,
    MAX_TEXT_CHARS,
    Comments,
    clean_text,
    detect_roles,
    from_frame,
    load_comments,
    read_table,
)

TEXTS = ["Great grinder, even grind.", "Shoes fell apart after a week", "Crème brûlée was perfect — très bon"]
FRAME = pd.DataFrame({
    "user_id": ["007", "007", "042"],
    "item_id": ["0001", "0002", "0001"],
    "rating": ["5", "2", "4"],
    "timestamp": ["1700000000", "1700086400", "1700172800"],
    "text": TEXTS,
})


def _write(frame: pd.DataFrame, path: Path) -> Path:
    name = path.name
    if name.endswith(".csv.gz"):
        path.write_bytes(gzip.compress(frame.to_csv(index=False).encode("utf-8")))
    elif name.endswith(".csv"):
        frame.to_csv(path, index=False)
    elif name.endswith(".tsv"):
        frame.to_csv(path, index=False, sep="\t")
    elif name.endswith(".parquet"):
        frame.to_parquet(path, index=False)
    elif name.endswith(".jsonl"):
        lines = [json.dumps(r, ensure_ascii=False) for r in frame.to_dict("records")]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    elif name.endswith(".json"):
        path.write_text(json.dumps(frame.to_dict("records"), ensure_ascii=False), encoding="utf-8")
    elif name.endswith(".xlsx"):
        frame.to_excel(path, index=False)
    else:
        raise AssertionError(name)
    return path


@pytest.mark.parametrize("name", ["c.csv", "c.tsv", "c.parquet", "c.jsonl", "c.json", "c.xlsx", "c.csv.gz"])
def test_every_table_format_loads_the_same_comments_with_ids_kept_as_written(
    tmp_path: Path, name: str
) -> None:
    comments = load_comments(_write(FRAME, tmp_path / name))
    frame = comments.frame
    assert frame["text"].tolist() == TEXTS
    assert frame["user_id"].tolist() == ["007", "007", "042"]
    assert frame["item_id"].tolist() == ["0001", "0002", "0001"]
    assert frame["rating"].tolist() == [5.0, 2.0, 4.0]
    assert str(frame["time"].dtype) == "datetime64[ns, UTC]"
    assert frame["time"].iloc[0] == pd.Timestamp("2023-11-14 22:13:20", tz="UTC")
    assert comments.source == name
    assert (comments.n_users, comments.n_comments, comments.n_items) == (2, 3, 2)


@pytest.mark.parametrize("name", ["c.csv", "c.parquet", "c.xlsx", "c.jsonl"])
def test_uploaded_bytes_load_like_the_file_and_nothing_is_written(tmp_path: Path, name: str) -> None:
    data = _write(FRAME, tmp_path / name).read_bytes()
    comments = load_comments(data, name=name)
    assert comments.frame["text"].tolist() == TEXTS
    assert comments.source == name


@pytest.mark.parametrize("name", ["upload", "upload.dat"])
@pytest.mark.parametrize("kind", ["parquet", "xlsx", "jsonl", "tsv"])
def test_format_is_sniffed_from_the_content_when_the_name_says_nothing(
    tmp_path: Path, name: str, kind: str
) -> None:
    data = _write(FRAME, tmp_path / f"c.{kind}").read_bytes()
    assert load_comments(data, name=name).frame["text"].tolist() == TEXTS


def test_plain_text_file_is_one_comment_a_line_each_its_own_user(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("First comment\n\nSecond, with a comma\r\nThird; with a semicolon\n", encoding="utf-8")
    comments = load_comments(path)
    expected = ["First comment", "Second, with a comma", "Third; with a semicolon"]
    assert comments.frame["text"].tolist() == expected
    assert comments.frame["user_id"].tolist() == ["row-1", "row-3", "row-4"]
    assert comments.n_empty_dropped == 1
    assert any("own user" in note for note in comments.notes)


@pytest.mark.parametrize(
    ("encoding", "texts"),
    [
        ("utf-8-sig", ["naïve café", "日本語のレビュー"]),
        ("gbk", ["咖啡机很好用，研磨均匀", "跑鞋太重了，不推荐"]),
        ("gb18030", ["耳机音质清晰", "护肤品很温和"]),
        ("latin-1", ["Très bon café, à recommander", "Señor Müller's crème brûlée"]),
        ("latin-1", ["Crème brûlée", "Müller Straße"]),
        ("cp1252", ["“Smart quotes” — and a euro sign €", "Ça marche très bien"]),
        ("utf-16", ["naïve café ☕", "咖啡很香"]),
    ],
)
def test_text_in_each_encoding_comes_back_exactly(tmp_path: Path, encoding: str, texts: list[str]) -> None:
    path = tmp_path / "enc.csv"
    pd.DataFrame({"user": ["a", "b"], "comment": texts}).to_csv(path, index=False, encoding=encoding)
    comments = load_comments(path)
    assert comments.frame["text"].tolist() == texts
    assert comments.frame["user_id"].tolist() == ["a", "b"]


def test_amazon_style_columns_are_detected() -> None:
    columns = ["reviewerID", "asin", "reviewerName", "overall", "reviewText", "summary", "unixReviewTime"]
    assert detect_roles(columns) == {
        "user": "reviewerID", "text": "reviewText", "item": "asin", "rating": "overall",
        "time": "unixReviewTime", "item_name": None,
    }


def test_item_names_are_a_role_carried_as_the_item_name_column() -> None:
    frame = pd.DataFrame({
        "user_id": ["a", "b"], "item_id": ["1", "2"], "product_title": [" Grinder ", ""], "text": TEXTS[:2],
    })
    comments = from_frame(frame)
    assert comments.roles["item_name"] == "product_title"
    assert comments.frame["item_name"].fillna("").tolist() == ["Grinder", ""]
    assert detect_roles(["user_id", "title"])["text"] == "title"  # the only text stays the text


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        (["user_name", "user_id", "comment"], {"user": "user_id", "text": "comment"}),
        (["userId", "movieId", "Rating", "Review Text"],
         {"user": "userId", "item": "movieId", "text": "Review Text", "rating": "Rating"}),
        (["author", "body", "created_at", "stars"], {"user": "author", "text": "body", "time": "created_at"}),
        (["用户", "评论", "评分", "时间"],
         {"user": "用户", "text": "评论", "rating": "评分", "time": "时间"}),
        (["customer_id", "title", "product_id"],
         {"user": "customer_id", "text": "title", "item": "product_id"}),
        (["id", "note"], {"user": None, "text": None, "item": None}),
    ],
)
def test_roles_are_detected_case_and_underscore_insensitively(columns: list[str], expected: dict) -> None:
    roles = detect_roles(columns)
    for role, column in expected.items():
        assert roles[role] == column


def test_every_role_can_be_overridden(tmp_path: Path) -> None:
    frame = pd.DataFrame({
        "who": ["x", "y"], "what": ["good stuff", "bad stuff"], "sku_code": ["1", "2"], "mark": ["3", "4"],
        "when": ["2024-01-01", "2024-02-01"], "text": ["ignored", "ignored too"],
    })
    path = _write(frame, tmp_path / "o.csv")
    comments = load_comments(
        path, user_col="who", text_col="what", item_col="sku_code", rating_col="mark", time_col="when"
    )
    assert dict(comments.roles) == {
        "user": "who", "text": "what", "item": "sku_code", "rating": "mark", "time": "when", "item_name": None,
    }
    assert comments.frame["text"].tolist() == ["good stuff", "bad stuff"]
    # A source column named like a canonical one is kept, under another name.
    assert comments.frame["text (source)"].tolist() == ["ignored", "ignored too"]


def test_override_naming_a_missing_column_lists_the_available_ones(tmp_path: Path) -> None:
    path = _write(FRAME, tmp_path / "c.csv")
    pattern = r"c\.csv: column 'comments' \(chosen as text column\) is not in the file; columns: 'user_id'"
    with pytest.raises(DataError, match=pattern):
        load_comments(path, text_col="comments")


def test_empty_string_override_means_the_file_has_no_such_column(tmp_path: Path) -> None:
    comments = load_comments(_write(FRAME, tmp_path / "c.csv"), item_col="", rating_col="")
    assert not comments.has_items and not comments.has_ratings and comments.has_times
    assert comments.frame["item_id (source)"].tolist() == ["0001", "0002", "0001"]
    assert comments.roles["item"] is None


def test_without_a_user_column_each_row_is_its_own_user() -> None:
    comments = from_frame(pd.DataFrame({"review": ["one", "two", "three"]}), source="r.csv")
    assert comments.frame["user_id"].tolist() == ["row-1", "row-2", "row-3"]
    assert comments.n_users == 3
    assert comments.notes == ("no user column: each of the 3 comments is treated as its own user",)


def test_html_entities_tags_and_odd_whitespace_are_cleaned() -> None:
    raw = [
        "I&#39;m <b>very</b> happy &amp; so is my wife",
        "<p>Line one</p><p>Line two</p>",
        "tabs\tand\u00a0non-breaking\u3000spaces  \n  everywhere",
        "Keep a < b and <3 as typed; &lt;b&gt; was typed too",
        "zero\u200bwidth",
    ]
    comments = from_frame(pd.DataFrame({"user_id": list("abcde"), "text": raw}))
    assert comments.frame["text"].tolist() == [
        "I'm very happy & so is my wife",
        "Line one Line two",
        "tabs and non-breaking spaces everywhere",
        "Keep a < b and <3 as typed; <b> was typed too",
        "zerowidth",
    ]


def test_empty_texts_and_exact_duplicate_rows_are_dropped_and_counted() -> None:
    frame = pd.DataFrame({
        "user_id": ["a", "a", "b", "b", "c", "c"],
        "text": ["hello", "hello", "   ", "<br>", "hello", "bye"],
    })
    comments = from_frame(frame, source="d.csv")
    assert comments.frame["text"].tolist() == ["hello", "hello", "bye"]
    assert comments.frame["user_id"].tolist() == ["a", "c", "c"]
    assert (comments.n_empty_dropped, comments.n_duplicates_dropped) == (2, 1)
    assert comments.frame.index.tolist() == [0, 1, 2]


def test_non_numeric_ratings_and_unparseable_dates_become_missing_and_are_counted_with_a_row() -> None:
    frame = pd.DataFrame({
        "user_id": ["a", "b", "c", "d"],
        "text": ["w", "x", "y", "z"],
        "stars": ["5", "five", "", "3.5"],
        "date": ["2024-03-01", "yesterday", "2024-03-05T10:00:00+02:00", ""],
    })
    comments = from_frame(frame, source="r.csv")
    assert comments.frame["rating"].tolist()[::3] == [5.0, 3.5]
    assert comments.frame["rating"].isna().tolist() == [False, True, True, False]
    assert comments.frame["time"].tolist()[2] == pd.Timestamp("2024-03-05 08:00", tz="UTC")
    assert comments.frame["time"].isna().tolist() == [False, True, False, True]
    notes = " | ".join(comments.notes)
    assert "1 values in 'stars' are not numbers (row 3: 'five')" in notes
    assert "1 values in 'date' are not dates (row 3: 'yesterday')" in notes


@pytest.mark.parametrize(
    ("values", "first"),
    [
        (["1700000000000", "1700000001000"], pd.Timestamp("2023-11-14 22:13:20", tz="UTC")),
        (["1700000000", "1700000001"], pd.Timestamp("2023-11-14 22:13:20", tz="UTC")),
        (["20240131", "20240201"], pd.Timestamp("2024-01-31", tz="UTC")),
        (["03/15/2024", "12/01/2023"], pd.Timestamp("2024-03-15", tz="UTC")),
    ],
)
def test_times_from_unix_seconds_milliseconds_and_date_strings(
    values: list[str], first: pd.Timestamp
) -> None:
    comments = from_frame(pd.DataFrame({"user_id": ["a", "b"], "text": ["x", "y"], "time": values}))
    assert comments.frame["time"].iloc[0] == first


def test_a_rating_column_without_any_number_is_not_used_unless_chosen() -> None:
    frame = pd.DataFrame({"user_id": ["a"], "text": ["x"], "rating": ["great"]})
    comments = from_frame(frame, source="r.csv")
    assert not comments.has_ratings
    assert "column 'rating' holds no numbers" in comments.notes[0]
    with pytest.raises(DataError, match=r"r\.csv: column 'rating' has no numbers \(row 2: 'great'\)"):
        from_frame(frame, source="r.csv", rating_col="rating")


def test_missing_text_column_names_the_file_and_the_columns_found(tmp_path: Path) -> None:
    path = _write(pd.DataFrame({"user_id": ["a"], "stars": ["5"], "notes_field": ["x"]}), tmp_path / "nt.csv")
    with pytest.raises(DataError) as error:
        load_comments(path)
    message = str(error.value)
    assert message.startswith("nt.csv has no comment text column")
    assert "'user_id', 'stars', 'notes_field'" in message
    assert "text_col" not in message and "--" not in message  # the app shows it: no command-line terms
    assert error.value.cli_hint == "--text-col NAME"


@pytest.mark.parametrize(
    ("content", "name", "pattern"),
    [
        (b"", "e.csv", r"e\.csv is empty"),
        (b"  \n\n", "e.csv", r"e\.csv is empty"),
        (b"user_id,text\n", "h.csv", r"h\.csv has a header but no rows \(columns: 'user_id', 'text'\)"),
        (b"user_id,text\r\n\r\n", "h.csv", r"h\.csv has a header but no rows"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00" + bytes(range(256)), "pic.csv",
         r"pic\.csv is not a text table"),
        (np.random.default_rng(0).bytes(5000), "junk.tsv", r"junk\.tsv is not a text table"),
        (np.random.default_rng(1).bytes(5000), "junk", r"junk is not a text table"),
        (b"user_id,text\na,hello\nb,hi,extra\n", "ragged.csv",
         r"ragged\.csv: row 3 has 3 fields but the header has 2"),
        (b'user_id,text\na,"never closed\n', "q.csv", r"q\.csv: a quote opened on row \d+ is never closed"),
        (b'{"user_id": "a", "text": "ok"}\n{"user_id": "b", "text": \n', "j.jsonl",
         r"j\.jsonl: line 2 is not valid JSON"),
        (b'[1, 2, 3]', "j.json", r"j\.json: element 1 is not an object"),
        (b"PK\x03\x04 not really a zip", "x.xlsx", r"x\.xlsx is a zip archive but not an Excel"),
        (b"plain text pretending", "x.parquet", r"x\.parquet is not a Parquet file"),
        (b"\x1f\x8b\x08\x00 truncated", "t.csv.gz", r"t\.csv\.gz is not a valid gzip file"),
        (b"user_id,text\na,   \nb,<p></p>\n", "blank.csv",
         r"every comment in blank\.csv is empty \(column 'text'\)"),
    ],
)
def test_bad_inputs_each_give_one_specific_data_error(content: bytes, name: str, pattern: str) -> None:
    with pytest.raises(DataError, match=pattern):
        load_comments(content, name=name)


def test_truncated_parquet_is_a_data_error_naming_the_file(tmp_path: Path) -> None:
    data = _write(FRAME, tmp_path / "c.parquet").read_bytes()
    with pytest.raises(DataError, match=r"cut\.parquet is not a readable Parquet file"):
        load_comments(data[: len(data) // 2], name="cut.parquet")


def test_damaged_xlsx_is_a_data_error(tmp_path: Path) -> None:
    data = _write(FRAME, tmp_path / "c.xlsx").read_bytes()
    with pytest.raises(DataError, match=r"cut\.xlsx"):
        load_comments(data[: len(data) // 2], name="cut.xlsx")


def test_missing_path_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        load_comments(tmp_path / "nope.csv")


def test_max_rows_guard_names_the_limit(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"c\.csv has 3 rows, more than the limit of 2"):
        load_comments(_write(FRAME, tmp_path / "c.csv"), max_rows=2)


def test_semicolon_and_pipe_delimiters_are_detected() -> None:
    for sep in (";", "|"):
        data = f"user_id{sep}text\na{sep}hello, world\nb{sep}bye\n".encode()
        assert load_comments(data, name="x.csv").frame["text"].tolist() == ["hello, world", "bye"]


def test_read_table_keeps_every_cell_a_string() -> None:
    frame = read_table(b"user_id,score,text\n007,4.50,x\n,NA,y\n", name="t.csv")
    assert frame.to_dict("list") == {"user_id": ["007", ""], "score": ["4.50", "NA"], "text": ["x", "y"]}


def test_fingerprint_is_stable_and_follows_the_canonical_columns() -> None:
    first = from_frame(FRAME.copy())
    again = from_frame(FRAME.copy())
    assert first.fingerprint() == again.fingerprint()
    assert len(first.fingerprint()) == 64
    changed = FRAME.copy()
    changed.loc[2, "text"] = "something else"
    assert from_frame(changed).fingerprint() != first.fingerprint()
    extra = FRAME.assign(note=["x", "y", "z"])
    assert from_frame(extra).fingerprint() == first.fingerprint()


def test_attribute_columns_are_the_per_user_constants_not_free_text() -> None:
    frame = pd.DataFrame({
        "user_id": ["a", "a", "b", "c", "c"],
        "text": ["t1", "t2", "t3", "t4", "t5"],
        "age": ["30", "30", "41", "25", "25"],
        "segment": ["x", "x", "y", "x", "x"],
        "mood": ["happy", "sad", "ok", "ok", "ok"],
        "country": ["de", "de", "de", "de", "de"],
    })
    assert from_frame(frame).attribute_columns() == ["age", "segment"]


def test_summary_reports_counts_medians_and_the_date_range() -> None:
    summary = from_frame(FRAME.copy()).summary()
    assert summary["users"] == 2 and summary["comments"] == 3 and summary["items"] == 2
    assert summary["median_comments_per_user"] == 1.5
    assert summary["median_text_length"] == float(np.median([len(t) for t in TEXTS]))
    assert (summary["date_from"], summary["date_to"]) == ("2023-11-14", "2023-11-16")
    assert summary["mean_rating"] == pytest.approx(11 / 3)


def test_comments_frame_has_the_contract_dtypes() -> None:
    comments = from_frame(FRAME.copy())
    assert isinstance(comments, Comments)
    assert comments.frame["rating"].dtype == np.float64
    assert pd.api.types.is_string_dtype(comments.frame["user_id"])
    assert list(comments.frame.columns[:5]) == ["user_id", "text", "item_id", "rating", "time"]


def test_real_recipe_reviews_load_with_entities_and_tags_gone(recipes_dir: Path) -> None:
    comments = load_comments(recipes_dir / "recipe_reviews_users_ge2.csv.gz")
    assert dict(comments.roles) == {
        "user": "user_id", "text": "text", "item": "item_id", "rating": "rating", "time": "timestamp",
        "item_name": "item_name",
    }
    # Every recipe keeps one readable name beside its id.
    assert (comments.frame.groupby("item_id")["item_name"].nunique() == 1).all()
    assert comments.n_comments + comments.n_empty_dropped + comments.n_duplicates_dropped == 6_482
    assert comments.n_users == 2_112
    assert comments.n_items == 100
    assert comments.n_empty_dropped == 4
    text = comments.frame["text"]
    assert not text.str.contains("&#39;|&amp;|&#34;|<span>|<p>", regex=True).any()
    assert text.str.contains("'").any()
    assert comments.frame["rating"].isna().sum() > 1_000  # the competition's test split has no stars
    assert comments.summary()["date_from"].startswith("2021")


_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), whitelist_characters="\t\n\u00a0"), max_size=40
)
_ID = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=8)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(_ID, _TEXT), min_size=1, max_size=12))
def test_any_unicode_csv_loads_back_as_the_cleaned_originals(
    tmp_path: Path, rows: list[tuple[str, str]]
) -> None:
    path = tmp_path / "random.csv"
    pd.DataFrame(rows, columns=["user_id", "text"]).to_csv(path, index=False)
    expected: dict[tuple[str, str], None] = {}
    for number, (user, text) in enumerate(rows, start=1):
        if clean_text(text):
            expected[(user.strip() or f"row-{number}", clean_text(text))] = None
    try:
        comments = load_comments(path)
    except DataError:
        assert not expected
        return
    got = list(zip(comments.frame["user_id"], comments.frame["text"], strict=True))
    assert got == list(expected)


def test_a_million_and_one_rows_are_refused_by_default_with_the_limit_named() -> None:
    frame = pd.DataFrame({"text": np.full(MAX_ROWS + 1, "x", dtype=object)})
    with pytest.raises(DataError, match=r"big\.csv has 1,000,001 rows, more than the limit of 1,000,000"):
        from_frame(frame, source="big.csv")


def test_read_table_notes_reach_the_comments_when_the_app_loads_in_two_steps() -> None:
    # The app caches read_table and from_frame separately: the sheet note must survive the hand-over.
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        pd.DataFrame({"About": ["read me"]}).to_excel(writer, sheet_name="README", index=False)
        FRAME.to_excel(writer, sheet_name="Reviews", index=False)
    raw = read_table(buffer.getvalue(), name="book.xlsx")
    comments = from_frame(pickle.loads(pickle.dumps(raw)), source="book.xlsx")
    assert comments.frame["text"].tolist() == TEXTS
    assert comments.notes[0] == (
        "book.xlsx has 2 sheets: read 'Reviews' (the first with a comment column); ignored 'README'"
    )


def test_long_comments_are_cut_to_the_limit_and_the_rest_is_untouched() -> None:
    long = "word " * (MAX_TEXT_CHARS // 2)
    comments = from_frame(pd.DataFrame({"user_id": ["a", "b"], "text": [long, "short"]}), source="l.csv")
    assert comments.frame["text"].tolist() == [long.strip()[:MAX_TEXT_CHARS], "short"]
    assert "1 comments are longer than 10,000 characters (first: row 2)" in comments.notes[0]


def test_a_folder_given_as_the_input_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="is a folder; give the path of a comments file"):
        load_comments(tmp_path)


def test_a_file_over_the_byte_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = _write(FRAME, tmp_path / "c.csv")
    with pytest.raises(DataError, match=r"c\.csv is 0\.0 MB, more than the limit of 0\.0 MB"):
        load_comments(path, max_bytes=10)
    assert load_comments(path, max_bytes=None).n_comments == 3


@pytest.mark.parametrize(
    ("encoding", "text"),
    [("latin-1", "°C"), ("latin-1", "25°C au soleil"), ("gb18030", "好"), ("gbk", "买了3个 很好")],
)
def test_a_single_short_non_ascii_comment_is_decoded_in_its_own_encoding(encoding: str, text: str) -> None:
    # Latin-1 "°C" is also valid GB18030 ("癈"): a lone rare character whose second byte is ASCII.
    data = pd.DataFrame({"user": ["u0"], "comment": [text]}).to_csv(index=False).encode(encoding)
    assert load_comments(data, name="one.csv").frame["text"].tolist() == [text]


def test_cleaning_keeps_joiners_and_drops_bidirectional_overrides():
    from segmentation.ingest.io import clean_text

    assert clean_text("🤷\u200d♀️ می\u200cخواهم") == "🤷\u200d♀️ می\u200cخواهم"
    assert clean_text("invoice\u202egnp.exe\u202c ok\u2066x\u2069") == "invoicegnp.exe okx"
    assert clean_text("zero\u200bwidth soft\u00adhyphen") == "zerowidth softhyphen"
