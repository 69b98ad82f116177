"""Exports: names applied, spreadsheet formula injection neutralised, numbers kept as numbers."""

from __future__ import annotations

import io
import json

import numpy as np
import openpyxl
import pandas as pd
import pytest

from segmentation.describe.export import (
    apply_names,
    assignments_csv,
    assignments_json,
    assignments_parquet,
    assignments_xlsx,
    safe_cell,
    segments_json,
)
from segmentation.describe.segments import SegmentDescription
from segmentation.runs.records import SegmentName

DANGEROUS = ['=HYPERLINK("http://x","y")', "+1+2", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]


def assignments() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user_id": ["=cmd|' /C calc'!A0", "u2", "@evil", "u4"],
            "segment": [0, 1, -1, 0],
            "segment_name": ["Coffee", "+Running", "Noise / unassigned", "Coffee"],
            "x": [-1.5, 0.25, 3.0, -0.0],
            "y": [1.0, -2.0, 0.0, 4.5],
            "n_comments": [3, 1, 2, 5],
        }
    )


@pytest.mark.parametrize("value", DANGEROUS)
def test_safe_cell_prefixes_formula_triggers_with_a_quote(value: str) -> None:
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize(
    "value", ["Coffee", "", "a=b", " =x", "'quoted", "咖啡", -1, 2.5, None, np.int64(-3)]
)
def test_safe_cell_leaves_harmless_values_and_numbers_alone(value: object) -> None:
    assert safe_cell(value) is value


def test_csv_neutralises_injection_and_reads_back_as_the_intended_text() -> None:
    raw = assignments()
    data = assignments_csv(raw)
    back = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", keep_default_na=False)

    assert back["user_id"].tolist() == [safe_cell(value) for value in raw["user_id"]]
    assert back["user_id"].str.removeprefix("'").tolist() == raw["user_id"].tolist()
    assert back["segment_name"].tolist() == ["Coffee", "'+Running", "Noise / unassigned", "Coffee"]
    # Numbers stay numbers: the noise segment is -1, not "'-1", and coordinates keep their sign.
    assert back["segment"].tolist() == [0, 1, -1, 0]
    assert pd.api.types.is_integer_dtype(back["segment"])
    assert back["x"].tolist() == raw["x"].tolist()


@pytest.mark.parametrize("writer", [assignments_csv, assignments_xlsx])
def test_ids_that_look_like_numbers_are_exported_exactly_as_in_the_source(writer) -> None:
    raw = assignments().assign(user_id=["-1", "+7", "-2.5e3", "=-1"])
    data = writer(raw)
    if writer is assignments_csv:
        back = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype={"user_id": str}, keep_default_na=False)
    else:
        back = pd.read_excel(io.BytesIO(data), dtype={"user_id": str})
    # A plain number is no formula; "=-1" still is, and stays neutralised.
    assert back["user_id"].tolist() == ["-1", "+7", "-2.5e3", "'=-1"]


def test_csv_applies_saved_names_and_keeps_unnamed_segments() -> None:
    names = {0: SegmentName("Espresso lovers", "", "user", "t"), 1: "=Runners"}
    back = pd.read_csv(io.BytesIO(assignments_csv(assignments(), names)), keep_default_na=False)
    assert back["segment_name"].tolist() == [
        "Espresso lovers",
        "'=Runners",
        "Noise / unassigned",
        "Espresso lovers",
    ]


def test_csv_carries_the_saved_descriptions_beside_the_names() -> None:
    names = {0: SegmentName("Espresso lovers", "=Buy beans weekly", "user", "t"), 1: "Runners"}
    back = pd.read_csv(io.BytesIO(assignments_csv(assignments(), names)), keep_default_na=False)
    assert back["segment_description"].tolist() == ["'=Buy beans weekly", "", "", "'=Buy beans weekly"]
    assert "segment_description" not in assignments_csv(assignments(), {1: "Runners"}).decode("utf-8-sig")


def test_csv_neutralises_dangerous_column_names_too() -> None:
    frame = assignments().assign(**{"=HYPERLINK(1)": ["a", "b", "c", "d"]})
    header = assignments_csv(frame).decode("utf-8-sig").splitlines()[0]
    assert header.endswith(",'=HYPERLINK(1)")


def test_csv_is_utf8_with_bom_so_excel_reads_chinese() -> None:
    frame = assignments().assign(segment_name="咖啡爱好者")
    data = assignments_csv(frame)
    assert data.startswith(b"\xef\xbb\xbf")
    assert pd.read_csv(io.BytesIO(data))["segment_name"].tolist() == ["咖啡爱好者"] * 4


def test_xlsx_cells_are_text_not_formulas_and_numbers_stay_numbers() -> None:
    workbook = openpyxl.load_workbook(io.BytesIO(assignments_xlsx(assignments())))
    sheet = workbook.active
    rows = list(sheet.iter_rows(values_only=True))
    header, first, third = rows[0], rows[1], rows[3]
    assert header[:3] == ("user_id", "segment", "segment_name")
    assert first[0] == "'=cmd|' /C calc'!A0"
    assert third[1] == -1 and isinstance(third[1], int)
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_parquet_and_json_keep_text_as_is_with_names_applied() -> None:
    names = {1: "Runners"}
    parquet = pd.read_parquet(io.BytesIO(assignments_parquet(assignments(), names)))
    assert parquet["user_id"].tolist() == assignments()["user_id"].tolist()
    assert parquet["segment_name"].tolist() == ["Coffee", "Runners", "Noise / unassigned", "Coffee"]
    assert parquet["segment"].tolist() == [0, 1, -1, 0]

    records = json.loads(assignments_json(assignments(), names))
    assert records[1]["segment_name"] == "Runners"
    assert records[2]["segment"] == -1 and records[0]["x"] == -1.5


def test_apply_names_adds_the_column_when_missing_and_does_not_touch_the_input() -> None:
    frame = assignments().drop(columns="segment_name")
    named = apply_names(frame, {0: "Coffee"})
    assert named["segment_name"].tolist() == ["Coffee", "", "", "Coffee"]
    assert "segment_name" not in frame.columns


def test_segments_json_applies_names_keeps_suggestions_and_writes_strict_json() -> None:
    descriptions = [
        SegmentDescription(
            0, "Espresso · crema", 3, 0.6, ["espresso", "crema"], ["Nice crema"], ["I-1"], 4.5
        ),
        SegmentDescription(1, "咖啡 · 拿铁", 1, 0.2, ["咖啡"], ["咖啡很香"], None, float("nan")),
        SegmentDescription(-1, "Noise / unassigned", 1, 0.2, [], [], None, None),
    ]
    names = {0: SegmentName("Home baristas", "Buy beans weekly", "user", "t")}
    records = json.loads(segments_json(descriptions, names).decode("utf-8"))

    assert [r["name"] for r in records] == ["Home baristas", "咖啡 · 拿铁", "Noise / unassigned"]
    assert records[0]["suggested_name"] == "Espresso · crema"
    assert records[0]["description"] == "Buy beans weekly" and records[1]["description"] == ""
    assert records[1]["mean_rating"] is None  # NaN is not valid JSON
    assert records[2]["id"] == -1
