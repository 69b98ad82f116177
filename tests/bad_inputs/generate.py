"""Write the corpus of malformed and odd-but-valid comment files, and the table of what each must give.

Every case is a file (its name picks the format, as an upload's would) plus one expected outcome:
``"outcome": "DataError"`` or ``"ConfigError"`` with ``match``, a regular expression for the one message
the user sees, or ``"outcome": "ok"`` with the counts (and where it matters the exact texts, ids, ratings
and a note) of a correct result. Cases with ``segment`` continue into the pipeline with that config.

    python tests/bad_inputs/generate.py                  # files + cases.json into tests/bad_inputs/generated/
    python tests/bad_inputs/generate.py --manifest-only  # refresh tests/bad_inputs/cases.json

The tests generate the files into a temporary folder; ``cases.json`` is committed so that a reader can
see every case and its expected outcome without running anything.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "cases.json"
GENERATED = HERE / "generated"

EN = ["Great grinder, even grind", "Shoes fell apart after a week"]
LATIN = ["Très bon café, à recommander", "Señor Müller's crème brûlée"]
CP1252 = ["“Smart quotes” — and a euro sign €", "Ça marche très bien"]
ZH = ["咖啡机很好用，研磨均匀", "跑鞋太重了，不推荐", "耳机音质清晰"]
UNICODE = [
    "naïve café ☕ 😀 works well", "שלום עולם, great shoes", "مرحبا بالعالم nice coffee", "日本語のレビュー good",
]
TEXTS_BY_ENCODING = {
    "utf-8": UNICODE,
    "utf-8-sig": UNICODE,
    "utf-16": UNICODE,
    "utf-16-le": UNICODE,
    "utf-16-be": UNICODE,
    "utf-32": UNICODE,
    "gbk": ZH,
    "gb18030": ZH,
    "latin-1": LATIN,
    "cp1252": CP1252,
}
MB = 2**20


@dataclass
class Case:
    """One file and what loading it (and, with ``segment``, segmenting it) must give."""

    name: str
    about: str
    build: Callable[[], bytes]
    expect: dict[str, Any]
    load: dict[str, Any] = field(default_factory=dict)
    segment: dict[str, Any] | None = None

    def record(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "about": self.about}
        if self.load:
            out["load"] = self.load
        if self.segment is not None:
            out["segment"] = self.segment
        out.update(self.expect)
        return out


# -- writers -------------------------------------------------------------------------------------------


def table(
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    sep: str = ",",
    newline: str = "\n",
    encoding: str = "utf-8",
) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=sep, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def lines(texts: Sequence[str], *, newline: str = "\n", encoding: str = "utf-8") -> bytes:
    return "".join(t + newline for t in texts).encode(encoding)


def jsonl(records: Sequence[dict[str, Any]], *, encoding: str = "utf-8") -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode(encoding)


def parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def xlsx(sheets: dict[str, pd.DataFrame]) -> bytes:
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for title, frame in sheets.items():
            frame.to_excel(writer, sheet_name=title, index=False)
    return buffer.getvalue()


def two_users(texts: Sequence[str] = EN) -> pd.DataFrame:
    return pd.DataFrame({"user_id": [f"u{i}" for i in range(len(texts))], "text": list(texts)})


def ok(users: int, comments: int, **details: Any) -> dict[str, Any]:
    return {"outcome": "ok", "users": users, "comments": comments, **details}


def data_error(match: str) -> dict[str, Any]:
    return {"outcome": "DataError", "match": match}


def config_error(match: str) -> dict[str, Any]:
    return {"outcome": "ConfigError", "match": match}


def junk(seed: int, size: int = 4096) -> bytes:
    return np.random.default_rng(seed).bytes(size)


# -- the corpus ----------------------------------------------------------------------------------------


def _empty_and_header_only() -> list[Case]:
    cases = [
        Case(f"empty.{ext}" if ext else "empty", f"0-byte file named .{ext or '(none)'}", lambda: b"",
             data_error(r"is empty; it needs a header row"))
        for ext in ("csv", "tsv", "txt", "json", "jsonl", "parquet", "xlsx", "csv.gz", "")
    ]
    cases += [
        Case("blank_lines.csv", "only newlines and spaces", lambda: b" \n\r\n\t\n", data_error(r"is empty")),
        Case("bom_only.csv", "a UTF-8 byte-order mark and nothing else", lambda: b"\xef\xbb\xbf",
             data_error(r"bom_only\.csv is empty")),
        Case("bom_only_utf16.csv", "a UTF-16 byte-order mark and nothing else", lambda: b"\xff\xfe",
             data_error(r"bom_only_utf16\.csv is empty")),
        Case("empty_gzip.csv.gz", "a valid gzip of nothing", lambda: gzip.compress(b"", mtime=0),
             data_error(r"empty_gzip\.csv\.gz is empty")),
        Case("header_only.csv", "header row, no data", lambda: b"user_id,text\n",
             data_error(r"header_only\.csv has a header but no rows \(columns: 'user_id', 'text'\)")),
        Case("header_only_crlf.tsv", "tab header and blank CRLF lines", lambda: b"user_id\ttext\r\n\r\n\r\n",
             data_error(r"has a header but no rows")),
        Case("header_only_utf16.csv", "UTF-16 header, no data", lambda: "user_id,text\n".encode("utf-16"),
             data_error(r"header_only_utf16\.csv has a header but no rows")),
        Case("header_only.parquet", "a Parquet file with columns and zero rows",
             lambda: parquet(pd.DataFrame({"user_id": pd.Series([], dtype=str),
                                           "text": pd.Series([], dtype=str)})),
             data_error(r"header_only\.parquet has a header but no rows")),
        Case("header_only.xlsx", "a workbook with a header row only",
             lambda: xlsx({"Sheet1": pd.DataFrame(columns=["user_id", "text"])}),
             data_error(r"header_only\.xlsx has a header but no rows")),
        Case("empty_list.json", "an empty JSON list", lambda: b"[]", data_error(r"empty_list\.json holds no records")),
        Case("empty_object.json", "an empty JSON object", lambda: b"{}",
             data_error(r"JSON must be a list of objects")),
    ]
    return cases


def _binary_junk() -> list[Case]:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00" + bytes(range(256)) * 4
    elf = b"\x7fELF\x02\x01\x01\x00" + bytes(2000)
    pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Length 500 /Filter /FlateDecode >>\nstream\n" + junk(9, 3000)
    cases = [
        Case(f"random_{i}.{ext}", f"4 KB of random bytes named .{ext}", lambda i=i: junk(i),
             data_error(rf"random_{i}\.{ext} is not a text table \(it looks like binary data\)"))
        for i, ext in enumerate(("csv", "tsv", "txt", "json", "jsonl", "dat"))
    ]
    cases += [
        Case("image.csv", "a PNG named .csv", lambda: png, data_error(r"image\.csv is not a text table")),
        Case("program.csv", "an ELF executable named .csv", lambda: elf,
             data_error(r"program\.csv is not a text table")),
        Case("document.csv", "a PDF named .csv", lambda: pdf, data_error(r"document\.csv is not a text table")),
        Case("random.csv.gz", "gzipped random bytes", lambda: gzip.compress(junk(11), mtime=0),
             data_error(r"random\.csv\.gz is not a text table")),
        Case("archive.csv", "a zip archive (not a workbook) named .csv", lambda: _zip({"a.csv": b"user_id,text\n"}),
             data_error(r"archive\.csv is a zip archive but not an Excel \.xlsx file; unzip it first")),
        Case("old_excel.csv", "an old binary .xls (OLE2) named .csv",
             lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600),
             data_error(r"old_excel\.csv is an old Excel \.xls file; save it as \.xlsx or CSV")),
        Case("not_gzip.csv.gz", "plain CSV named .gz", lambda: table(["user_id", "text"], [["a", "x"]]),
             data_error(r"not_gzip\.csv\.gz is not a valid gzip file")),
        Case("utf16_junk.csv", "a UTF-16 byte-order mark followed by an odd number of random bytes",
             lambda: b"\xff\xfe" + junk(12, 3001), data_error(r"utf16_junk\.csv is not a text table")),
    ]
    return cases


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _wrong_extension() -> list[Case]:
    frame = two_users()
    as_csv = table(["user_id", "text"], frame.values.tolist())
    as_tsv = table(["user_id", "text"], frame.values.tolist(), sep="\t")
    texts = {"texts": EN, "user_ids": ["u0", "u1"]}
    return [
        Case("parquet_named.csv", "a Parquet file named .csv", lambda: parquet(frame), ok(2, 2, **texts)),
        Case("parquet_named.txt", "a Parquet file named .txt", lambda: parquet(frame), ok(2, 2, **texts)),
        Case("parquet_named.xlsx", "a Parquet file named .xlsx", lambda: parquet(frame), ok(2, 2, **texts)),
        Case("xlsx_named.csv", "a workbook named .csv", lambda: xlsx({"Reviews": frame}), ok(2, 2, **texts)),
        Case("xlsx_named.parquet", "a workbook named .parquet", lambda: xlsx({"Reviews": frame}), ok(2, 2, **texts)),
        Case("tsv_named.csv", "tab-separated under a .csv name", lambda: as_tsv, ok(2, 2, **texts)),
        Case("csv_named.tsv", "comma-separated under a .tsv name", lambda: as_csv, ok(2, 2, **texts)),
        Case("table_named.txt", "a CSV table saved as .txt (header names a text column)", lambda: as_csv,
             ok(2, 2, **texts)),
        Case("jsonl_named.csv", "JSON lines under a .csv name",
             lambda: jsonl(frame.to_dict("records")), ok(2, 2, **texts)),
        Case("json_named.csv", "a JSON list under a .csv name",
             lambda: json.dumps(frame.to_dict("records")).encode(), ok(2, 2, **texts)),
        Case("no_extension", "a CSV without any extension", lambda: as_csv, ok(2, 2, **texts)),
        Case("csv_named.parquet", "a CSV named .parquet", lambda: as_csv,
             data_error(r"csv_named\.parquet is not a Parquet file \(no PAR1 header\)")),
        Case("csv_named.xlsx", "a CSV named .xlsx", lambda: as_csv,
             data_error(r"csv_named\.xlsx is not an Excel \.xlsx file \(not a zip archive\)")),
        Case("csv_named.xls", "a CSV named .xls", lambda: as_csv, data_error(r"csv_named\.xls is an old Excel \.xls")),
    ]


def _truncated() -> list[Case]:
    frame = pd.DataFrame({"user_id": [f"u{i:03d}" for i in range(200)],
                          "text": [f"comment number {i} about coffee" for i in range(200)]})
    whole_parquet = parquet(frame)
    whole_xlsx = xlsx({"Sheet1": frame})
    cases = [
        Case(f"truncated_{int(share * 100)}.parquet", f"Parquet cut to {share:.0%} of its bytes",
             lambda share=share: whole_parquet[: int(len(whole_parquet) * share)],
             data_error(rf"truncated_{int(share * 100)}\.parquet is not a readable Parquet file"))
        for share in (0.1, 0.5, 0.9)
    ]
    cases += [
        Case("truncated_last_byte.parquet", "Parquet missing its last byte", lambda: whole_parquet[:-1],
             data_error(r"truncated_last_byte\.parquet is not a readable Parquet file")),
        Case("magic_only.parquet", "just the PAR1 magic", lambda: b"PAR1",
             data_error(r"magic_only\.parquet is not a readable Parquet file")),
        Case("truncated_50.xlsx", "a workbook cut in half", lambda: whole_xlsx[: len(whole_xlsx) // 2],
             data_error(r"truncated_50\.xlsx")),
        Case("truncated_last_byte.xlsx", "a workbook missing its last byte", lambda: whole_xlsx[:-1],
             data_error(r"truncated_last_byte\.xlsx")),
        Case("truncated.csv.gz", "a gzip cut in half",
             lambda: (g := gzip.compress(table(["user_id", "text"], frame.values.tolist()), mtime=0))[: len(g) // 2],
             data_error(r"truncated\.csv\.gz is not a valid gzip file")),
        Case("truncated.json", "a JSON list cut mid-record",
             lambda: json.dumps(frame.to_dict("records")).encode()[:500],
             data_error(r"truncated\.json: not valid JSON at line 1")),
        Case("truncated.jsonl", "JSON lines with the last line cut",
             lambda: jsonl(frame.head(5).to_dict("records"))[:-12],
             data_error(r"truncated\.jsonl: line 5 is not valid JSON")),
        Case("truncated_quote.csv", "a CSV cut inside a quoted comment",
             lambda: b'user_id,text\na,fine\nb,"this comment was cut',
             data_error(r"truncated_quote\.csv: a quote opened on row 3 is never closed")),
    ]
    return cases


def _excel_sheets() -> list[Case]:
    comments = two_users()
    readme = pd.DataFrame({"About": ["Exported from the shop", "Sheet 2 has the reviews"]})
    numbers = pd.DataFrame({"month": ["2024-01", "2024-02"], "orders": [10, 12]})
    return [
        Case("sheets_first_has_text.xlsx", "comments on the first of three sheets",
             lambda: xlsx({"Reviews": comments, "Stats": numbers, "Notes": readme}),
             ok(2, 2, texts=EN, note=r"has 3 sheets: read 'Reviews' \(the first with a comment column\); "
                                     r"ignored 'Stats', 'Notes'")),
        Case("sheets_readme_first.xlsx", "a read-me sheet first, the comments on the second",
             lambda: xlsx({"README": readme, "Reviews": comments}),
             ok(2, 2, texts=EN, note=r"read 'Reviews' \(the first with a comment column\); ignored 'README'")),
        Case("sheets_empty_first.xlsx", "an empty first sheet, the comments on the second",
             lambda: xlsx({"Blank": pd.DataFrame(), "Data": comments}),
             ok(2, 2, texts=EN, note=r"read 'Data' \(the first with a comment column\)")),
        Case("sheets_all_empty.xlsx", "two empty sheets",
             lambda: xlsx({"A": pd.DataFrame(), "B": pd.DataFrame()}),
             data_error(r"sheets_all_empty\.xlsx: every sheet is empty")),
        Case("sheets_no_text.xlsx", "two sheets, neither with a comment column",
             lambda: xlsx({"Stats": numbers, "More": numbers}),
             data_error(r"sheets_no_text\.xlsx has no comment text column .* columns found: 'month', 'orders'")),
        Case("sheets_two_with_text.xlsx", "two sheets with comments: the first is read",
             lambda: xlsx({"2023": two_users(LATIN), "2024": comments}),
             ok(2, 2, texts=LATIN, note=r"read '2023' \(the first with a comment column\); ignored '2024'")),
    ]


def _encodings() -> list[Case]:
    cases = []
    for encoding, texts in TEXTS_BY_ENCODING.items():
        users = [f"user{i}" for i in range(len(texts))]
        rows = list(zip(users, texts, strict=True))
        cases += [
            Case(f"enc_{encoding}.csv", f"CSV in {encoding}",
                 lambda e=encoding, r=rows: table(["user", "comment"], r, encoding=e),
                 ok(len(texts), len(texts), texts=texts, user_ids=users)),
            Case(f"enc_{encoding}.tsv", f"TSV in {encoding}",
                 lambda e=encoding, r=rows: table(["user", "comment"], r, sep="\t", encoding=e),
                 ok(len(texts), len(texts), texts=texts, user_ids=users)),
            Case(f"enc_{encoding}.txt", f"plain text lines in {encoding}",
                 lambda e=encoding, t=texts: lines(t, encoding=e),
                 ok(len(texts), len(texts), texts=texts)),
            Case(f"enc_{encoding}.jsonl", f"JSON lines in {encoding}",
                 lambda e=encoding, r=rows: jsonl([{"user": u, "comment": t} for u, t in r], encoding=e),
                 ok(len(texts), len(texts), texts=texts, user_ids=users)),
        ]
    mixed = [*UNICODE[:2], "Crème brûlée"]
    cases.append(Case(
        "enc_utf8_with_stray_latin1.csv", "UTF-8 with one comment pasted in as Latin-1",
        lambda: table(["user_id", "text"], [["a", mixed[0]], ["b", mixed[1]]]) + b"c," + mixed[2].encode("latin-1")
        + b"\n",
        ok(3, 3, texts=mixed)))
    cases.append(Case(
        "enc_stray_nul.csv", "a long UTF-8 CSV with one stray NUL byte",
        lambda: table(["user_id", "text"], [[f"u{i}", f"comment {i} about tea"] for i in range(100)])
        .replace(b"comment 5 ", b"comment\x005 "),
        ok(100, 100, first_texts=["comment 0 about tea"])))
    return cases


def _newlines_and_quotes() -> list[Case]:
    rows = [["a", "first comment"], ["b", "second comment"], ["c", "third comment"]]
    expected = ok(3, 3, texts=[r[1] for r in rows], user_ids=["a", "b", "c"])
    cases = []
    for label, newline in (("lf", "\n"), ("crlf", "\r\n"), ("cr", "\r")):
        cases += [
            Case(f"newline_{label}.csv", f"CSV with {label.upper()} line ends",
                 lambda n=newline: table(["user_id", "text"], rows, newline=n), expected),
            Case(f"newline_{label}.tsv", f"TSV with {label.upper()} line ends",
                 lambda n=newline: table(["user_id", "text"], rows, sep="\t", newline=n), expected),
            Case(f"newline_{label}.txt", f"text lines with {label.upper()} line ends",
                 lambda n=newline: lines([r[1] for r in rows], newline=n), ok(3, 3, texts=[r[1] for r in rows])),
        ]
    mixed = b"user_id,text\r\na,first comment\rb,second comment\nc,third comment\r\n"
    cases += [
        Case("newline_mixed.csv", "CRLF, CR and LF in one CSV", lambda: mixed, expected),
        Case("newline_mixed.tsv", "CRLF, CR and LF in one TSV", lambda: mixed.replace(b",", b"\t"), expected),
        Case("newline_mixed.txt", "CRLF, CR and LF in one text file",
             lambda: b"first comment\r\nsecond comment\rthird comment\n", ok(3, 3, texts=[r[1] for r in rows])),
        Case("quotes_and_newlines.csv", "quoted comments holding newlines, commas and doubled quotes",
             lambda: b'user_id,text\na,"line one\nline two"\nb,"say ""hi"", then, leave"\r\nc,"crlf\r\ninside"\n',
             ok(3, 3, texts=["line one line two", 'say "hi", then, leave', "crlf inside"])),
        Case("quotes_in_tsv.tsv", "a TSV with a quoted tab and newline inside a comment",
             lambda: b'user_id\ttext\na\t"tab\there"\nb\t"new\nline"\n', ok(2, 2, texts=["tab here", "new line"])),
        Case("quote_mid_field.csv", "a quote in the middle of an unquoted field is text",
             lambda: b'user_id,text\na,he said "great" twice\nb,5" screen\n',
             ok(2, 2, texts=['he said "great" twice', '5" screen'])),
        Case("escaped_newlines.jsonl", "JSON lines whose comments hold escaped newlines and quotes",
             lambda: jsonl([{"user_id": "a", "text": "one\ntwo \"quoted\""}, {"user_id": "b", "text": "x\r\ny"}]),
             ok(2, 2, texts=['one two "quoted"', "x y"])),
        Case("ragged_row.csv", "a row with more fields than the header",
             lambda: b"user_id,text\na,fine\nb,one, too many\n",
             data_error(r"ragged_row\.csv: row 3 has 3 fields but the header has 2")),
        Case("semicolons.csv", "semicolon-separated with decimal-comma ratings",
             lambda: "user_id;text;rating\na;Très bien, merci;4,5\nb;Bof;2\n".encode("cp1252"),
             ok(2, 2, texts=["Très bien, merci", "Bof"], ratings=[4.5, 2.0])),
    ]
    return cases


def _long_and_hostile_text() -> list[Case]:
    long_text = ("word " * 210_000)[:1_000_000]
    unbroken = "A" * 1_000_000
    long_note = r"1 comments are longer than 10,000 characters \(first: row 2\); they were cut to that length"
    return [
        Case("comment_1mb.csv", "one comment of 1 MB among short ones",
             lambda: table(["user_id", "text"], [["a", long_text], ["b", "short one"]]),
             ok(2, 2, max_text_length=10_000, note=long_note)),
        Case("comment_1mb_unbroken.csv", "a 1 MB comment without a single space",
             lambda: table(["user_id", "text"], [["a", unbroken], ["b", "short one"]]),
             ok(2, 2, max_text_length=10_000, note=long_note)),
        Case("comment_1mb.jsonl", "a 1 MB comment in JSON lines",
             lambda: jsonl([{"user_id": "a", "text": long_text}, {"user_id": "b", "text": "short"}]),
             ok(2, 2, max_text_length=10_000, note=r"1 comments are longer than 10,000 characters \(first: row 1\)")),
        Case("user_id_100k.csv", "a user id of 100,000 characters is kept whole",
             lambda: table(["user_id", "text"], [["u" * 100_000, "hello"], ["b", "bye"]]),
             ok(2, 2, user_id_lengths=[100_000, 1])),
        Case("emoji.csv", "emoji, skin tones and flags",
             lambda: table(["user_id", "text"], [["😀", "Love it 😍👍🏽"], ["🇫🇷", "Bof 🤷‍♀️ 🇫🇷"]]),
             ok(2, 2, texts=["Love it 😍👍🏽", "Bof 🤷\u200d♀️ 🇫🇷"], user_ids=["😀", "🇫🇷"])),
        Case("rtl.csv", "Hebrew and Arabic comments and ids",
             lambda: table(["user_id", "text"], [["משתמש", "הקפה מעולה"], ["مستخدم", "القهوة رائعة جدا"]]),
             ok(2, 2, texts=["הקפה מעולה", "القهوة رائعة جدا"], user_ids=["משתמש", "مستخدم"])),
        Case("bidi_controls.csv", "right-to-left override characters are dropped: they disguise what text says",
             lambda: table(["user_id", "text"], [["a", "\u202egnp.exe"], ["b", "plain"]]),
             ok(2, 2, texts=["gnp.exe", "plain"])),
        Case("cjk.csv", "Chinese, Japanese and Korean",
             lambda: table(["用户", "评论"], [["张三", "咖啡很香"], ["山田", "とても美味しい"], ["김", "정말 좋아요"]]),
             ok(3, 3, texts=["咖啡很香", "とても美味しい", "정말 좋아요"], user_ids=["张三", "山田", "김"])),
        Case("combining_and_fullwidth.csv", "combining accents and full-width letters are kept",
             lambda: table(["user_id", "text"], [["a", "cafe\u0301 ＧＯＯＤ"], ["b", "x"]]),
             ok(2, 2, texts=["cafe\u0301 ＧＯＯＤ", "x"])),
        Case("html_payloads.csv", "HTML tags are stripped from comments, entities decoded, ids kept",
             lambda: table(["user_id", "text"], [["<script>alert(1)</script>", "<b>bold</b> &amp; <i>it</i>"],
                                                 ["b", "<img src=x onerror=alert(1)>nice"]]),
             ok(2, 2, texts=["bold & it", "nice"], user_ids=["<script>alert(1)</script>", "b"])),
        Case("formula_cells.csv", "comments starting with = + - @ load as text (exports neutralise them)",
             lambda: table(["user_id", "text"], [["=1+1", "=HYPERLINK(\"http://evil.example\")"], ["@b", "-2 stars"]]),
             ok(2, 2, texts=['=HYPERLINK("http://evil.example")', "-2 stars"], user_ids=["=1+1", "@b"])),
        Case("control_chars.csv", "control characters inside a comment become spaces",
             lambda: table(["user_id", "text"], [["a", "bell\x07and\x1bescape"]]
                           + [[f"u{i}", f"plain comment {i}"] for i in range(20)]),
             ok(21, 21, first_texts=["bell and escape", "plain comment 0"])),
    ]


def _duplicates_and_columns() -> list[Case]:
    return [
        Case("duplicate_rows.csv", "the same row three times",
             lambda: table(["user_id", "text"], [["a", "same"], ["a", "same"], ["a", "same"], ["b", "other"]]),
             ok(2, 2, note=r"dropped 2 duplicate rows")),
        Case("all_rows_identical.csv", "every row identical",
             lambda: table(["user_id", "text"], [["a", "same"]] * 50), ok(1, 1, note=r"dropped 49 duplicate rows")),
        Case("same_text_two_users.csv", "two users writing the same text both keep it",
             lambda: table(["user_id", "text"], [["a", "same"], ["b", "same"]]), ok(2, 2)),
        Case("duplicate_columns.csv", "two columns both named text: the first is used",
             lambda: table(["user_id", "text", "text"], [["a", "first", "second"], ["b", "one", "two"]]),
             ok(2, 2, texts=["first", "one"])),
        Case("no_text_column.csv", "no column that could hold comments",
             lambda: table(["user_id", "stars", "notes_field"], [["a", "5", "x"]]),
             data_error(r"no_text_column\.csv has no comment text column \(looked for names like text, comment")),
        Case("headerless.csv", "data without a header row",
             lambda: table(["a", "great coffee"], [["b", "bad tea"]]),
             data_error(r"headerless\.csv has no comment text column .* columns found: 'a', 'great coffee'")),
        Case("empty_header_names.csv", "a header of empty names", lambda: b",\nx,y\n",
             data_error(r"empty_header_names\.csv has no comment text column")),
        Case("misnamed_columns.csv", "'Reviewer ID' and 'Review Text' are found",
             lambda: table([" Reviewer ID ", "Review Text"], [["a", "x"], ["b", "y"]]),
             ok(2, 2, roles={"user": "Reviewer ID", "text": "Review Text"})),
        Case("camel_case_columns.csv", "Amazon-style camelCase names",
             lambda: table(["reviewerID", "asin", "overall", "reviewText"],
                           [["a", "B01", "5", "x"], ["b", "B02", "1", "y"]]),
             ok(2, 2, roles={"user": "reviewerID", "item": "asin", "rating": "overall", "text": "reviewText"})),
        Case("no_user_column.csv", "only a comment column: each comment is its own user",
             lambda: table(["comment"], [["x"], ["y"], ["z"]]),
             ok(3, 3, note=r"no user column: each of the 3 comments is treated as its own user")),
        Case("missing_user_values.csv", "some rows have no user id",
             lambda: table(["user_id", "text"], [["a", "x"], ["", "y"], ["  ", "z"]]),
             ok(3, 3, note=r"2 rows have no 'user_id' value \(first: row 3\)")),
        Case("override_missing.csv", "the chosen text column is not in the file",
             lambda: table(["user_id", "body"], [["a", "x"]]), data_error(
                 r"override_missing\.csv: column 'comments' \(chosen as text column\) is not in the file; "
                 r"columns: 'user_id', 'body'"),
             load={"text_col": "comments"}),
        Case("override_odd_name.csv", "the text is in a column nobody would guess, chosen by hand",
             lambda: table(["who", "blurb"], [["a", "x"], ["b", "y"]]), ok(2, 2, texts=["x", "y"]),
             load={"user_col": "who", "text_col": "blurb"}),
        Case("override_two_roles.csv", "one column chosen as user and text",
             lambda: table(["who", "blurb"], [["a", "x"]]),
             data_error(r"one column was chosen for two roles \('blurb', 'blurb'\)"),
             load={"user_col": "blurb", "text_col": "blurb"}),
    ]


def _ids_ratings_dates() -> list[Case]:
    ids = ["007", "0042", "1e5", "-0", "00"]
    texts = [f"comment {i}" for i in range(len(ids))]
    frame = pd.DataFrame({"user_id": ids, "item_id": ["0001"] * 5, "text": texts})
    kept = ok(5, 5, user_ids=ids, item_ids=["0001"] * 5)
    return [
        Case("leading_zeros.csv", "ids with leading zeros and number-like ids stay text",
             lambda: table(frame.columns, frame.values.tolist()), kept),
        Case("leading_zeros.tsv", "the same as TSV",
             lambda: table(frame.columns, frame.values.tolist(), sep="\t"), kept),
        Case("leading_zeros.jsonl", "ids as JSON strings", lambda: jsonl(frame.to_dict("records")), kept),
        Case("leading_zeros.parquet", "ids as Parquet strings", lambda: parquet(frame), kept),
        Case("leading_zeros.xlsx", "ids as text cells in a workbook", lambda: xlsx({"Sheet1": frame}), kept),
        Case("numeric_ids.jsonl", "ids written as JSON numbers keep their digits",
             lambda: b'{"user_id": 7, "text": "a"}\n{"user_id": 12345678901234567890, "text": "b"}\n'
                     b'{"user_id": 4.50, "text": "c"}\n',
             ok(3, 3, user_ids=["7", "12345678901234567890", "4.50"])),
        Case("ratings_mixed.csv", "NaN, words, decimal commas, infinities and blanks among ratings",
             lambda: table(["user_id", "text", "rating"], [["a", "w", "5"], ["b", "x", "NaN"], ["c", "y", "five"],
                                                            ["d", "z", "4,5"], ["e", "v", "inf"], ["f", "u", ""],
                                                            ["g", "t", "1e400"]]),
             ok(7, 7, ratings=[5.0, None, None, 4.5, None, None, None],
                note=r"3 values in 'rating' are not numbers \(row 4: 'five'\); they count as missing ratings")),
        Case("ratings_missing_markers.csv", "NA, null, N/A and - are missing ratings, not bad ones",
             lambda: table(["user_id", "text", "rating"], [["a", "w", "NA"], ["b", "x", "null"], ["c", "y", "N/A"],
                                                            ["d", "z", "-"], ["e", "v", "3"]]),
             ok(5, 5, ratings=[None, None, None, None, 3.0])),
        Case("ratings_chosen_empty.csv", "a rating column chosen by hand that holds nothing",
             lambda: table(["user_id", "text", "mark"], [["a", "x", ""], ["b", "y", "NaN"]]),
             data_error(r"column 'mark' has no numbers \(every value is empty\); it cannot be the rating"),
             load={"rating_col": "mark"}),
        Case("dates_chosen_empty.csv", "a time column chosen by hand that holds nothing",
             lambda: table(["user_id", "text", "when"], [["a", "x", ""], ["b", "y", "null"]]),
             data_error(r"column 'when' holds no dates \(every value is empty\); it cannot be the time"),
             load={"time_col": "when"}),
        Case("ratings_all_words.csv", "a rating column without numbers is not used",
             lambda: table(["user_id", "text", "rating"], [["a", "x", "great"], ["b", "y", "bad"]]),
             ok(2, 2, roles={"rating": None}, note=r"column 'rating' holds no numbers, so it is not used")),
        Case("ratings_chosen_words.csv", "a rating column without numbers, chosen by hand",
             lambda: table(["user_id", "text", "mark"], [["a", "x", "great"]]),
             data_error(r"column 'mark' has no numbers \(row 2: 'great'\); it cannot be the rating"),
             load={"rating_col": "mark"}),
        Case("ratings_nan.parquet", "float ratings with NaN in Parquet",
             lambda: parquet(pd.DataFrame({"user_id": ["a", "b"], "text": ["x", "y"], "rating": [4.0, np.nan]})),
             ok(2, 2, ratings=[4.0, None])),
        Case("dates_mixed.csv", "a few unparseable dates among good ones",
             lambda: table(["user_id", "text", "date"], [["a", "w", "2024-03-01"], ["b", "x", "yesterday"],
                                                          ["c", "y", "31/02/2024"], ["d", "z", ""]]),
             ok(4, 4, missing_times=3, note=r"values in 'date' are not dates \(row 3: 'yesterday'\)")),
        Case("dates_all_bad.csv", "a date column with no date in it is not used",
             lambda: table(["user_id", "text", "date"], [["a", "x", "soon"], ["b", "y", "later"]]),
             ok(2, 2, roles={"time": None}, note=r"column 'date' holds no dates or unix times")),
        Case("dates_chosen_bad.csv", "a time column with no date in it, chosen by hand",
             lambda: table(["user_id", "text", "when"], [["a", "x", "soon"]]),
             data_error(r"column 'when' holds no dates \(row 2: 'soon'\); it cannot be the time"),
             load={"time_col": "when"}),
        Case("dates_out_of_range.csv", "years 3000 and 99999 cannot be stored and count as missing",
             lambda: table(["user_id", "text", "date"], [["a", "x", "2024-01-01"], ["b", "y", "3000-01-01"],
                                                          ["c", "z", "99999-01-01"]]),
             ok(3, 3, missing_times=2)),
        Case("dates_unix_ms.csv", "unix milliseconds",
             lambda: table(["user_id", "text", "timestamp"],
                           [["a", "x", "1700000000000"], ["b", "y", "1700000001000"]]),
             ok(2, 2, missing_times=0)),
    ]


def _empty_comments() -> list[Case]:
    return [
        Case("all_comments_blank.csv", "every comment is blank",
             lambda: table(["user_id", "text"], [["a", ""], ["b", "   "], ["c", "\t"]]),
             data_error(r"every comment in all_comments_blank\.csv is empty \(column 'text'\)")),
        Case("all_comments_html.csv", "every comment is markup only",
             lambda: table(["user_id", "text"], [["a", "<br>"], ["b", "<p></p>"], ["c", "<!-- x -->"]]),
             data_error(r"every comment in all_comments_html\.csv is empty")),
        Case("all_comments_invisible.csv", "every comment is zero-width or non-breaking spaces",
             lambda: table(["user_id", "text"], [["a", "\u200b\u200b"], ["b", "\u00a0\u3000"]]),
             data_error(r"every comment in all_comments_invisible\.csv is empty")),
        Case("all_comments_null.parquet", "every comment is null in Parquet",
             lambda: parquet(pd.DataFrame({"user_id": ["a", "b"], "text": [None, None]})),
             data_error(r"every comment in all_comments_null\.parquet is empty")),
        Case("some_comments_empty.csv", "some comments empty: dropped and counted",
             lambda: table(["user_id", "text"], [["a", ""], ["b", "kept"], ["c", "<br>"]]),
             ok(1, 1, texts=["kept"], note=r"dropped 2 empty comments")),
    ]


def _json_shapes() -> list[Case]:
    return [
        Case("single_object.json", "one object instead of a list", lambda: b'{"user_id": "a", "text": "x"}',
             data_error(r"single_object\.json: JSON must be a list of objects")),
        Case("scalars.json", "a list of numbers", lambda: b"[1, 2, 3]",
             data_error(r"scalars\.json: element 1 is not an object with named fields")),
        Case("null.json", "the JSON literal null", lambda: b"null", data_error(r"null\.json: JSON must be a list")),
        Case("columns.json", "a dict of equal-length columns", lambda: json.dumps(two_users().to_dict("list")).encode(),
             ok(2, 2, texts=EN)),
        Case("wrapped.json", "records under one key", lambda: json.dumps({"reviews": two_users().to_dict("records")})
             .encode(), ok(2, 2, texts=EN)),
        Case("bom.json", "a JSON list with a UTF-8 byte-order mark",
             lambda: b"\xef\xbb\xbf" + json.dumps(two_users().to_dict("records")).encode(), ok(2, 2, texts=EN)),
        Case("not_objects.jsonl", "JSON lines holding strings", lambda: b'"a"\n"b"\n',
             data_error(r"not_objects\.jsonl: line 1 is not an object with named fields")),
        Case("nested_values.json", "nested values are kept as JSON text",
             lambda: b'[{"user_id": "a", "text": "x", "meta": {"k": [1, 2]}}, {"user_id": "b", "text": "y"}]',
             ok(2, 2, texts=["x", "y"])),
    ]


def _size_guards() -> list[Case]:
    rows = [[f"u{i}", f"comment {i}"] for i in range(12)]
    big = table(["user_id", "text"], [[f"u{i}", "x" * 100] for i in range(30_000)])  # ~3 MB
    return [
        Case("rows_over_limit.csv", "more rows than max_rows", lambda: table(["user_id", "text"], rows),
             data_error(r"rows_over_limit\.csv has 12 rows, more than the limit of 10; load a sample or raise the "
                        r"limit"), load={"max_rows": 10}),
        Case("rows_at_limit.csv", "exactly max_rows rows", lambda: table(["user_id", "text"], rows),
             ok(12, 12), load={"max_rows": 12}),
        Case("bytes_over_limit.csv", "a 3 MB file over a 1 MB limit", lambda: big,
             data_error(r"bytes_over_limit\.csv is 3\.\d MB, more than the limit of 1\.0 MB; load a sample"),
             load={"max_bytes": MB}),
        Case("gzip_bomb.csv.gz", "a small gzip that expands past the limit", lambda: gzip.compress(big, mtime=0),
             data_error(r"gzip_bomb\.csv\.gz is \d\.\d MB once decompressed, more than the limit of 1\.0 MB"),
             load={"max_bytes": MB}),
        Case("parquet_over_limit.parquet", "a Parquet file that decompresses past the limit",
             lambda: parquet(pd.DataFrame({"user_id": [f"u{i}" for i in range(30_000)],
                                           "text": [f"{i} " + "x" * 100 for i in range(30_000)]})),
             data_error(r"parquet_over_limit\.parquet is \d\.\d MB once decompressed, more than the limit"),
             load={"max_bytes": MB}),
        # Issue 18, case 13: the row and byte limits bound JSON too, before the rows past them are parsed.
        Case("rows_over_limit.json", "a JSON array with more rows than max_rows",
             lambda: json.dumps([dict(zip(("user_id", "text"), row, strict=True)) for row in rows]).encode(),
             data_error(r"rows_over_limit\.json has more than 10 rows, the limit; load a sample"),
             load={"max_rows": 10}),
        Case("rows_at_limit.json", "a JSON array of exactly max_rows rows",
             lambda: json.dumps([dict(zip(("user_id", "text"), row, strict=True)) for row in rows]).encode(),
             ok(12, 12), load={"max_rows": 12}),
        Case("rows_over_limit.jsonl", "JSON lines with more rows than max_rows",
             lambda: jsonl([dict(zip(("user_id", "text"), row, strict=True)) for row in rows]),
             data_error(r"rows_over_limit\.jsonl has 12 rows, more than the limit of 10; load a sample"),
             load={"max_rows": 10}),
        Case("bytes_over_limit.jsonl", "3 MB of JSON lines over a 1 MB limit",
             lambda: jsonl([{"user_id": f"u{i}", "text": "x" * 100} for i in range(30_000)]),
             data_error(r"bytes_over_limit\.jsonl is 3\.\d MB, more than the limit of 1\.0 MB; load a sample"),
             load={"max_bytes": MB}),
        Case("xlsx_over_limit.xlsx", "a workbook that unzips past the limit",
             lambda: xlsx({"Sheet1": pd.DataFrame({"user_id": [f"u{i}" for i in range(3_000)],
                                                   "text": ["y" * 400] * 3_000})}),
             data_error(r"xlsx_over_limit\.xlsx is \d\.\d MB once unzipped, more than the limit of 1\.0 MB"),
             load={"max_bytes": MB}),
    ]


def _pipeline() -> list[Case]:
    coffee = ["espresso tastes rich", "dark roast smells great", "grinder makes fine coffee"]
    shoes = ["trail shoes grip well", "running shorts feel light", "marathon insoles hurt"]
    two = [["coffee-fan", t] for t in coffee] + [["runner", t] for t in shoes]
    three = two + [["gardener", "tomato seeds sprouted"], ["gardener", "pruning shear works"]]
    words = ("tea", "cake", "soup", "bike", "lamp", "sofa")
    six = [[f"user-{i}", f"{word} review {i}"] for i, word in enumerate(words)]
    return [
        Case("one_user.csv", "every comment by one user",
             lambda: table(["user_id", "text"], [["only", t] for t in coffee]),
             config_error(r"one_user\.csv has 1 user; segmentation needs at least 2 users"),
             segment={"algorithm": "kmeans", "k": "auto"}),
        Case("two_users_k2.csv", "two users, k=2: one segment each", lambda: table(["user_id", "text"], two),
             ok(2, 6, segments=2), segment={"algorithm": "kmeans", "k": 2}),
        Case("two_users_auto.csv", "two users, k chosen automatically", lambda: table(["user_id", "text"], two),
             ok(2, 6, segments=2), segment={"algorithm": "kmeans", "k": "auto"}),
        Case("two_users_agglomerative.csv", "two users, agglomerative", lambda: table(["user_id", "text"], two),
             ok(2, 6, segments=2), segment={"algorithm": "agglomerative", "k": 2}),
        Case("k_over_users.csv", "k larger than the number of users", lambda: table(["user_id", "text"], three),
             config_error(r"k=5 is larger than the 3 users in the data; choose k ≤ 3"),
             segment={"algorithm": "kmeans", "k": 5}),
        Case("k_over_users_bisecting.csv", "k larger than the users, bisecting k-means",
             lambda: table(["user_id", "text"], three),
             config_error(r"k=4 is larger than the 3 users"), segment={"algorithm": "bisecting", "k": 4}),
        Case("hdbscan_only_noise.csv", "HDBSCAN finds no segment: every user is noise, and a note says what to do",
             lambda: table(["user_id", "text"], six),
             ok(6, 6, segments=0, noise=6, segment_note=r"hdbscan found no segment: all 6 users are noise; try a "
                                                          r"smaller min_cluster_size"),
             segment={"algorithm": "hdbscan", "min_cluster_size": 10, "reduction": "none"}),
    ]


def _xlsx_cell_at(reference: str) -> bytes:
    """A workbook with a small table and one stray cell far out (its sheet dimension says so)."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["user_id", "text"])
    sheet.append(["a", EN[0]])
    sheet[reference] = "x"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _parquet_dictionary_bomb() -> bytes:
    """A few KB of Parquet whose dictionary repeats one 100 KB text 2,000 times (200 MB expanded)."""
    return parquet(pd.DataFrame({"user_id": [f"u{i % 2}" for i in range(2_000)], "text": ["y" * 100_000] * 2_000}))


def _zip_version_11_5() -> bytes:
    """A workbook whose central directory asks for zip version 11.5 (found by the fuzzer)."""
    data = bytearray(xlsx({"Sheet1": two_users()}))
    at = data.find(b"PK\x01\x02")
    while at != -1:
        data[at + 6 : at + 8] = (115).to_bytes(2, "little")
        at = data.find(b"PK\x01\x02", at + 4)
    return bytes(data)


def _gb2312_junk() -> bytes:
    """3,000 bytes of random two-byte GB2312 codes: valid text to a decoder, one 1,500-character "name"."""
    rng = np.random.default_rng(13)
    pairs = np.stack([rng.integers(0xB0, 0xF8, 1500), rng.integers(0xA1, 0xFF, 1500)], axis=1)
    return pairs.astype(np.uint8).tobytes()


def _hostile_round_two() -> list[Case]:
    """Shapes that once gave silently wrong output, a hang, or an internal error (issue 13)."""
    utf8_rows = [["u1", "señor Müller très bien"], ["u2", "naïve café ☕"]]
    latin_rows = [["u3", "crème brûlée à point"], ["u4", "garçon ça va"]]
    mixed = b"user_id,text\n" + b"".join(
        f"{user},{text}\n".encode("utf-8" if i < 2 else "latin-1")
        for i, (user, text) in enumerate(utf8_rows + latin_rows)
    )
    plain = ["Shoes fell apart after a week", "espresso tastes rich"]
    nul = "".join(f"u{i},{t[:5]}\x00{t[5:]}\n" for i, t in enumerate(plain * 20)).encode()
    deep = b"[" * 100_000 + b"]" * 100_000
    return [
        Case("shifted_header.csv", "every row has one more field than the header (an unquoted comma in each text)",
             lambda: b"user_id,text\nu1,good grinder, even grind\nu2,shoes fell apart, sadly\n",
             ok(2, 2, user_ids=["u1", "u2"], texts=["good grinder, even grind", "shoes fell apart, sadly"],
                note=r"2 rows have more fields than the header: the text 'text' holds unquoted ','")),
        Case("shifted_header_text_first.csv", "one field too many per row, and the text is not the last column",
             lambda: b"text,user_id\ngood grinder, even grind,u1\nshoes fell apart, sadly,u2\n",
             data_error(r"the rows have 3 fields but the header has 2: a text holds the delimiter ',' without "
                        r"quotes; quote the texts or put the text column last")),
        Case("trailing_delimiter.csv", "every row ends with the delimiter, the header does not",
             lambda: b"user_id,text\nu1,good grinder,\nu2,bad shoes,\n",
             ok(2, 2, texts=["good grinder", "bad shoes"], note=r"extra empty field")),
        Case("one_column_commas.csv", "a single text column whose texts hold commas",
             lambda: b"text\ngood grinder, even grind\nshoes fell apart, sadly, truly\n",
             ok(2, 2, texts=["good grinder, even grind", "shoes fell apart, sadly, truly"])),
        Case("mixed_utf8_latin1.csv", "half the rows UTF-8, half Latin-1 (two exports pasted together)",
             lambda: mixed,
             ok(4, 4, texts=[r[1] for r in utf8_rows + latin_rows],
                note=r"2 rows are not UTF-8 and were read as Windows-1252; the other rows are UTF-8")),
        Case("nul_in_every_comment.csv", "a NUL byte inside every comment", lambda: b"user_id,text\n" + nul,
             ok(40, 40, first_texts=plain, note=r"removed 40 NUL bytes, which are not text")),
        Case("rating_1e308.csv", "one rating of 1e308 among junk ratings",
             lambda: table(["user_id", "text", "rating"], [["u1", EN[0], "1e308"], ["u2", EN[1], "4"],
                                                           ["u3", "fine tea", "-1e300"]]),
             ok(3, 3, ratings=[None, 4.0, None], note=r"2 values in 'rating' lie outside ±1,000,000")),
        Case("numeric_ids.csv", "user ids that look like numbers keep their exact spelling",
             lambda: table(["user_id", "text"], [["-1", EN[0]], ["007", EN[1]], ["+3", "fine tea"]]),
             ok(3, 3, user_ids=["-1", "007", "+3"])),
        Case("names_equal_once_trimmed.csv", "columns 'text' and 'text ' (a trailing space)",
             lambda: b"user_id,text,text \nu1,a,b\n",
             data_error(r"columns 'text', 'text ' have the same name once spaces are trimmed; rename one")),
        Case("names_equal_once_trimmed.parquet", "Parquet columns 'text' and ' text'",
             lambda: parquet(pd.DataFrame({"text": ["a"], " text": ["b"]})),
             data_error(r"columns 'text', ' text' have the same name once spaces are trimmed")),
        Case("names_equal_once_trimmed.jsonl", "JSON keys 'text' and 'text '",
             lambda: b'{"text": "a", "text ": "b"}\n',
             data_error(r"columns 'text', 'text ' have the same name once spaces are trimmed")),
        Case("deeply_nested.json", "JSON nested 100,000 levels deep", lambda: deep,
             data_error(r"deeply_nested\.json is nested too deeply to read")),
        Case("lone_surrogate.jsonl", "a lone surrogate escape in a text",
             lambda: b'{"user_id": "a", "text": "half \\ud800 a pair"}\n',
             data_error(r"holds a lone surrogate .* which is not text")),
        Case("lone_surrogate_id.json", "a lone surrogate escape in an id",
             lambda: b'[{"user_id": "\\udfff", "text": "fine"}]',
             data_error(r"holds a lone surrogate")),
        Case("cell_at_xfd.xlsx", "one stray cell at column XFD (16,384 columns)", lambda: _xlsx_cell_at("XFD1"),
             data_error(r"cell_at_xfd\.xlsx \(sheet 'Sheet'\) has 16,384 columns, more than the limit of 1,000")),
        Case("cell_at_xfd60000.xlsx", "one stray cell at XFD60000 (a billion cells)",
             lambda: _xlsx_cell_at("XFD60000"),
             data_error(r"cell_at_xfd60000\.xlsx \(sheet 'Sheet'\) has 16,384 columns")),
        Case("ten_thousand_columns.csv", "a header of 10,000 columns",
             lambda: table(["text", *(f"c{i}" for i in range(9_999))], [["a", *("1" * 9_999)]]),
             data_error(r"ten_thousand_columns\.csv has 10,000 columns, more than the limit of 1,000")),
        Case("ten_thousand_keys.jsonl", "a JSON record with 10,000 keys",
             lambda: json.dumps({"text": "a", **{f"k{i}": i for i in range(9_999)}}).encode(),
             data_error(r"ten_thousand_keys\.jsonl has 10,000 columns, more than the limit of 1,000")),
        Case("parquet_dictionary_bomb.parquet", "a small dictionary-encoded Parquet that expands to 200 MB",
             _parquet_dictionary_bomb,
             data_error(r"is 190\.7 MB once its values are expanded, more than the limit of 64\.0 MB"),
             load={"max_bytes": 64 * MB}),
        Case("zip_version_11_5.xlsx", "a workbook whose zip directory asks for an unknown zip version",
             _zip_version_11_5,
             data_error(r"zip_version_11_5\.xlsx is a damaged zip archive \(zip file version 11\.5\)")),
        Case("high_bytes_junk.csv", "random bytes that all decode as GB2312 characters, with no newline",
             _gb2312_junk, data_error(r"^high_bytes_junk\.csv has a header but no rows \(columns: '.{40}…'\)$")),
    ]


def cases() -> list[Case]:
    """Every case, in a stable order; names are unique."""
    out = [
        *_empty_and_header_only(), *_binary_junk(), *_wrong_extension(), *_truncated(), *_excel_sheets(),
        *_encodings(), *_newlines_and_quotes(), *_long_and_hostile_text(), *_duplicates_and_columns(),
        *_ids_ratings_dates(), *_empty_comments(), *_json_shapes(), *_size_guards(), *_pipeline(),
        *_hostile_round_two(),
    ]
    names = [c.name for c in out]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ValueError(f"case names must be unique: {duplicated}")
    return out


def manifest() -> list[dict[str, Any]]:
    return [case.record() for case in cases()]


def write(folder: Path) -> list[Case]:
    """Write every case's file into ``folder`` and ``cases.json`` beside them; return the cases."""
    folder.mkdir(parents=True, exist_ok=True)
    written = cases()
    for case in written:
        (folder / case.name).write_bytes(case.build())
    (folder / "cases.json").write_text(json.dumps(manifest(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=GENERATED)
    parser.add_argument("--manifest-only", action="store_true", help=f"only rewrite {MANIFEST}")
    args = parser.parse_args()
    MANIFEST.write_text(json.dumps(manifest(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    if not args.manifest_only:
        written = write(args.folder)
        print(f"wrote {len(written)} files to {args.folder}")  # noqa: T201 - a script's report


if __name__ == "__main__":
    main()
