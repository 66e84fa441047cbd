"""Hearing forms: shape only. Times in order, free rooms, finalists and who may do what are the
operations' rules."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import Optional

from competition.i18n import lazy_gettext as _l
from competition.programmes.forms import BerlinDateTimeField


def _optional_int(value: object) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


class ButtonForm(FlaskForm):
    """A button that only carries the CSRF token."""


class SlotForm(FlaskForm):
    starts_at = BerlinDateTimeField(_l("Starts (Berlin time)"), validators=[Optional()])
    ends_at = BerlinDateTimeField(_l("Ends (Berlin time)"), validators=[Optional()])
    room = StringField(_l("Room"))
    video_url = StringField(_l("Video link (https)"))


class AssignSlotForm(FlaskForm):
    proposal_id = SelectField(_l("Finalist"), coerce=_optional_int, validate_choice=False)
