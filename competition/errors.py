"""Errors that operations raise and views turn into messages at the right place."""

from __future__ import annotations


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
