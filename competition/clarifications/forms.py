"""Clarification forms: shape only. What a question, an answer or a deadline must be is the
operations' rule."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, MultipleFileField, SelectField, TextAreaField
from wtforms.validators import InputRequired

from competition.i18n import lazy_gettext as _l

DEADLINE_FORMAT = "%Y-%m-%dT%H:%M"


def _deadline(label: object) -> DateTimeLocalField:
    return DateTimeLocalField(
        label,
        format=DEADLINE_FORMAT,
        validators=[InputRequired(_l("Enter the deadline."))],
    )


class AskForm(FlaskForm):
    stage_id = SelectField(_l("Stage"), coerce=int, validate_choice=False)
    question = TextAreaField(_l("Question to the consortium"))
    due_at = _deadline(_l("Answer by (Europe/Berlin)"))


class AnswerForm(FlaskForm):
    body = TextAreaField(_l("Your answer"))
    files = MultipleFileField(_l("PDF files (optional)"))


class FollowUpForm(FlaskForm):
    question = TextAreaField(_l("Follow-up question"))
    due_at = _deadline(_l("Answer by (Europe/Berlin)"))


class DeadlineForm(FlaskForm):
    due_at = _deadline(_l("New deadline (Europe/Berlin)"))
