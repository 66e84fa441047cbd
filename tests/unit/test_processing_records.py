"""The records of processing name every table that holds personal data, so a new table cannot
slip past the records page and the privacy notice."""

from __future__ import annotations

import sqlalchemy as sa

from competition import _import_models
from competition.extensions import db
from competition.legal.processing import NOT_PERSONAL, PROCESSINGS, named_tables


def tables() -> dict[str, sa.Table]:
    _import_models()
    return dict(db.metadata.tables)


def holds_personal_data(table: sa.Table) -> bool:
    return any(
        column.name in ("email", "name")
        or any(key.column.table.name == "users" for key in column.foreign_keys)
        for column in table.columns
    )


def test_every_table_with_personal_data_is_in_the_records_of_processing() -> None:
    personal = {name for name, table in tables().items() if holds_personal_data(table)}
    assert "users" in personal and "reviews" not in personal  # the rule reads columns
    missing = personal - named_tables() - set(NOT_PERSONAL)
    assert not missing, f"name these tables in competition/legal/processing.py: {sorted(missing)}"


def test_the_records_name_only_tables_that_exist_and_each_once() -> None:
    known = set(tables())
    listed = [table for processing in PROCESSINGS for table in processing.tables]
    assert len(listed) == len(set(listed))
    assert set(listed) <= known
    assert set(NOT_PERSONAL) <= known
    assert not set(NOT_PERSONAL) & set(listed)


def test_each_processing_says_what_why_who_and_how_long() -> None:
    keys = [processing.key for processing in PROCESSINGS]
    assert len(keys) == len(set(keys))
    for processing in PROCESSINGS:
        for text in (
            processing.name,
            processing.data,
            processing.purpose,
            processing.legal_basis,
            processing.recipients,
            processing.retention,
        ):
            assert text._args[0].strip()  # the message id, read without an app
        assert processing.tables
