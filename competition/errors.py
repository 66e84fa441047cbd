"""Errors that operations raise and views turn into messages at the right place."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from competition.core.texts import Text
from competition.i18n import say


class DomainError(Exception):
    """One or more problems with what the user asked for, keyed by form field ('' for the form)."""

    def __init__(self, errors: dict[str, list[str]] | str, *, field: str = "") -> None:
        if isinstance(errors, str):
            errors = {field: [errors]}
        self.errors = errors
        super().__init__("; ".join(m for msgs in errors.values() for m in msgs))


class PermissionDenied(DomainError):
    """The actor may not do this."""


class StaleState(DomainError):
    """Someone else changed the object first; the user must reload and decide again."""


class Problem(Protocol):
    """What a pure plan of the core reports (e.g. ``core.decisions.Problem``)."""

    @property
    def kind(self) -> str: ...  # invalid, stale or denied
    @property
    def message(self) -> Text | str: ...
    @property
    def field(self) -> str: ...


def refuse(problems: Sequence[Problem]) -> None:
    """Raise the first of a plan's problems as the error the views know; nothing when none."""
    for problem in problems:
        error = {"stale": StaleState, "denied": PermissionDenied}.get(problem.kind, DomainError)
        raise error(say(problem.message), field=problem.field)
