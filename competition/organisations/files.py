"""Tables people upload: CSV (UTF-8, with or without a byte order mark, ``;`` or ``,``
separated) and XLSX (the first sheet), read into rows of text. What the rows mean is the core's
business (``core.registry``); this module only turns bytes into cells, or says why it cannot."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

from competition.core.texts import N_, Text

MAX_ROWS = 50_000
XLSX_MAGIC = b"PK\x03\x04"


class Unreadable(Exception):
    """The file as a whole cannot be read; ``text`` says why, for the person who sent it."""

    def __init__(self, text: Text) -> None:
        super().__init__(str(text))
        self.text = text


def read_table(data: bytes) -> list[list[str]]:
    """Every row of the file as text cells, the header first. XLSX is recognised by its bytes
    (a ZIP archive), anything else is read as CSV."""
    if not data.strip():
        raise Unreadable(N_("The file is empty."))
    rows = _xlsx_rows(data) if data.startswith(XLSX_MAGIC) else _csv_rows(data)
    if len(rows) > MAX_ROWS + 1:
        raise Unreadable(N_("The file has more than %(max)s rows; split it.", max=MAX_ROWS))
    return rows


def _csv_rows(data: bytes) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise Unreadable(
            N_("The file is not a UTF-8 CSV file or an XLSX workbook. Save it as “CSV UTF-8”.")
        ) from error
    first = text.split("\n", 1)[0]
    delimiter = max(";,\t", key=first.count)
    try:
        return [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    except csv.Error as error:
        raise Unreadable(
            N_("The CSV file cannot be read: %(reason)s.", reason=str(error))
        ) from error


def _xlsx_rows(data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a damaged archive
        raise Unreadable(N_("The XLSX workbook cannot be read.")) from error
    try:
        sheet = workbook.worksheets[0]
        rows = []
        for count, values in enumerate(sheet.iter_rows(values_only=True)):
            if count > MAX_ROWS + 1:
                break
            rows.append([_text(v) for v in values])
        return rows
    finally:
        workbook.close()


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, Decimal | float | int):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)
