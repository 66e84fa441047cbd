"""Helpers shared by every area's views."""

from __future__ import annotations

from flask_wtf import FlaskForm

from competition.errors import DomainError


def show_errors(form: FlaskForm, error: DomainError) -> None:
    """Put each message of a domain error at its field; the rest above the form."""
    for field_name, messages in error.errors.items():
        field = getattr(form, field_name, None) if field_name else None
        if field is not None and hasattr(field, "errors"):
            field.errors = [*list(field.errors), *messages]
        else:
            form.form_errors.extend(messages)
