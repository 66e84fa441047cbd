"""Helpers shared by every area's views."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from flask import request
from flask_wtf import FlaskForm

from competition.errors import DomainError, PermissionDenied, StaleState
from competition.extensions import db

T = TypeVar("T")


def show_errors(form: FlaskForm, error: DomainError) -> None:
    """Put each message of a domain error at its field; the rest above the form."""
    for field_name, messages in error.errors.items():
        field = getattr(form, field_name, None) if field_name else None
        if field is not None and hasattr(field, "errors"):
            field.errors = [*list(field.errors), *messages]
        else:
            form.form_errors.extend(messages)


def status_for(error: DomainError) -> int:
    """403 for what the person may not do, 409 for what changed meanwhile, else 422."""
    if isinstance(error, PermissionDenied):
        return 403
    if isinstance(error, StaleState):
        return 409
    return 422


@dataclass(frozen=True)
class Attempt(Generic[T]):
    """What became of a form's operation: done with its result, or not, with the status the
    page answers with (200 for a page merely shown)."""

    done: bool
    result: T | None = None
    error: DomainError | None = None
    status: int = 200

    @property
    def denied(self) -> bool:
        return isinstance(self.error, PermissionDenied)


def attempt(
    form: FlaskForm, operation: Callable[[], T], *, fields: Mapping[str, str] | None = None
) -> Attempt[T]:
    """Run ``operation`` when the form was posted and is valid. A domain error rolls the
    session back (nothing half-written) and lands at the form's fields (``fields`` renames the
    operation's names for them to the form's); a form that does not validate answers 422 with
    its own messages."""
    if not form.validate_on_submit():
        return Attempt(False, status=422 if request.method == "POST" else 200)
    outcome = perform(operation)
    if outcome.error is not None:
        error = outcome.error
        if fields:
            renamed: dict[str, list[str]] = {}
            for name, messages in error.errors.items():
                renamed.setdefault(fields.get(name, name), []).extend(messages)
            error.errors = renamed
        show_errors(form, error)
    return outcome


def perform(operation: Callable[[], T]) -> Attempt[T]:
    """Run ``operation``; a domain error rolls the session back (nothing half-written) and
    comes back with the status to answer, for pages that show it their own way (a flash, a
    cell of a table, JSON for a script)."""
    try:
        result = operation()
    except DomainError as error:
        db.session.rollback()
        return Attempt(False, error=error, status=status_for(error))
    return Attempt(True, result)


def messages_of(error: DomainError) -> list[str]:
    """Every message of an error, field by field, for a page that lists them together."""
    return [message for messages in error.errors.values() for message in messages]
