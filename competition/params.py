"""Reading the query string of list pages: every number bounded, every text cleaned.

A query string is typed by anyone: ``page=99999999999999999999`` overflows the database's
integer, a NUL cannot stand in a PostgreSQL text. ``clean_query`` (run before every request)
takes control characters out of every parameter; the readers below bound what pages use.
"""

from __future__ import annotations

import enum
import unicodedata
from typing import TypeVar

from flask import request
from werkzeug.datastructures import ImmutableMultiDict

# The database's integer; an id beyond it names nothing.
MAX_ID = 2**31 - 1
# Far beyond any list, and small enough that page × page size stays an integer.
MAX_PAGE = 100_000
MAX_TEXT = 200

E = TypeVar("E", bound=enum.Enum)


def cleaned(value: str) -> str:
    """``value`` without control characters (NUL, CR, LF, …), at most ``MAX_TEXT`` long."""
    kept = "".join(c for c in value if unicodedata.category(c) != "Cc")
    return kept[:MAX_TEXT]


def clean_query() -> None:
    """before_request hook: every query parameter, whoever reads it, is cleaned."""
    if request.query_string:
        request.args = ImmutableMultiDict(
            [(cleaned(k), cleaned(v)) for k, v in request.args.items(multi=True)]
        )


def text(name: str, *, length: int = 100) -> str:
    return request.args.get(name, "").strip()[:length]


def number(name: str) -> int | None:
    """A whole number from 1 to the largest id, or None for anything else."""
    value = request.args.get(name, "").strip()
    if not value.isascii() or not value.isdigit() or len(value) > 10:
        return None
    found = int(value)
    return found if 1 <= found <= MAX_ID else None


def page(name: str = "page") -> int:
    """A page number: 1 unless the parameter is a number, and never beyond ``MAX_PAGE``."""
    return min(number(name) or 1, MAX_PAGE)


def choice(name: str, kind: type[E]) -> E | None:
    """One of an enum's values, or None for anything else."""
    value = request.args.get(name, "")
    try:
        return kind(value) if value else None
    except ValueError:
        return None
