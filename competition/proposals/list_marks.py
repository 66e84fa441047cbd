"""Marks that the areas above proposals put on the officers' proposal list (an open
clarification request, …): each is a filter of the list and a small marker in its rows. The
areas register them at app creation, so that the proposals area never imports them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app

_KEY = "proposal_list_marks"


@dataclass(frozen=True)
class ListMark:
    # The list's query-string name: ``?open_clarification=1`` keeps the marked proposals.
    key: str
    label: Any  # the filter's label (a lazy text, read in the reader's language)
    marker: Any  # the row's marker
    # The ids of the proposals that carry the mark, as a subquery (never a list of ids).
    proposal_ids: Callable[[], sa.Select[tuple[int]]]


def register_mark(app: Flask, mark: ListMark) -> None:
    app.extensions.setdefault(_KEY, {})[mark.key] = mark


def list_marks() -> list[ListMark]:
    """The registered marks, in the order of registration."""
    marks: dict[str, ListMark] = current_app.extensions.get(_KEY, {})
    return list(marks.values())


def marks_named(keys: tuple[str, ...]) -> list[ListMark]:
    """The registered marks among ``keys``; a key nobody registered is ignored."""
    return [mark for mark in list_marks() if mark.key in keys]
