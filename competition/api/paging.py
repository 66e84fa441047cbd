"""Cursor pagination: a list answers ``{"items": [...], "next_cursor": "…" | null}`` and a
``Link: <…>; rel="next"`` header. The cursor is opaque to callers (the last row's id in
base64), so rows added meanwhile never shift a page, as offsets would."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import request, url_for
from marshmallow import Schema, fields, validate

from competition.api.problems import ApiProblem
from competition.extensions import db

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class PageArgs(Schema):
    """The query string of every list: where to go on and how many rows."""

    cursor = fields.String(
        load_default=None, metadata={"description": "next_cursor of the previous page"}
    )
    limit = fields.Integer(
        load_default=DEFAULT_LIMIT,
        validate=validate.Range(1, MAX_LIMIT),
        metadata={"description": f"rows per page, 1 to {MAX_LIMIT}"},
    )


def page_schema(item: type[Schema], name: str) -> type[Schema]:
    """The envelope of a list of ``item``, named for the OpenAPI description."""
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item), required=True),
            "next_cursor": fields.String(
                required=True,
                allow_none=True,
                metadata={"description": "pass as ?cursor= for the next page; null at the end"},
            ),
        },
        name=name,
    )


def encode(after: int) -> str:
    raw = json.dumps({"after": after}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str | None) -> int | None:
    if cursor is None or cursor == "":
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        after = data["after"]
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise ApiProblem(400, detail="The cursor is not one this API gave out.") from None
    if not isinstance(after, int) or isinstance(after, bool) or not 0 <= after < 2**31:
        raise ApiProblem(400, detail="The cursor is not one this API gave out.")
    return after


@dataclass(frozen=True)
class CursorPage:
    items: Sequence[Any]
    next_cursor: str | None

    def body(self) -> dict[str, Any]:
        return {"items": self.items, "next_cursor": self.next_cursor}


def cursor_page(query: sa.Select[Any], id_column: Any, args: dict[str, Any]) -> CursorPage:
    """Rows of ``query`` after the cursor in the order of ``id_column`` (a unique integer)."""
    after = decode(args.get("cursor"))
    limit = int(args.get("limit") or DEFAULT_LIMIT)
    if after is not None:
        query = query.where(id_column > after)
    rows = list(db.session.execute(query.order_by(id_column).limit(limit + 1)).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    return CursorPage(rows, encode(rows[-1].id) if more and rows else None)


def page_of(items: Sequence[T], key: Any, args: dict[str, Any]) -> CursorPage:
    """The same, for a list built in Python (already filtered by permission), ordered by key."""
    after = decode(args.get("cursor"))
    limit = int(args.get("limit") or DEFAULT_LIMIT)
    ordered = sorted(items, key=key)
    if after is not None:
        ordered = [item for item in ordered if key(item) > after]
    more = len(ordered) > limit
    ordered = ordered[:limit]
    return CursorPage(ordered, encode(key(ordered[-1])) if more and ordered else None)


def link_header(page: CursorPage) -> dict[str, str]:
    if page.next_cursor is None:
        return {}
    query = {**request.args.to_dict(), "cursor": page.next_cursor}
    assert request.endpoint is not None
    target = url_for(request.endpoint, **(request.view_args or {}), **query, _external=False)
    return {"Link": f'<{target}>; rel="next"'}
