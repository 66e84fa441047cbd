"""Payment forms: shape only. What a request may be is the core's rule (core/payments.py),
applied by the operations, which name every missing or wrong value at its field."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, TextAreaField

from competition.i18n import lazy_gettext as _l
from competition.programmes.forms import NumberField

DATE_FORMATS = ["%Y-%m-%d", "%d.%m.%Y"]


def _number_or_none(value: object) -> int | None:
    """A chosen option's number; nothing chosen (or anything else) is None, for the operation
    to name at the field."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else None


class RequestForm(FlaskForm):
    member_id = SelectField(_l("Partner"), coerce=_number_or_none, validate_choice=False)
    year = SelectField(_l("Project year"), coerce=_number_or_none, validate_choice=False)
    period_from = DateField(
        _l("Period from"),
        format=DATE_FORMATS,
        invalid_value_message=_l("Enter a date, like 01.03.2027."),
    )
    period_to = DateField(
        _l("Period to"),
        format=DATE_FORMATS,
        invalid_value_message=_l("Enter a date, like 31.05.2027."),
    )
    amount = NumberField(
        _l("Amount (EUR)"),
        kind="money",
        invalid_message=_l("Enter an amount in euro, like 12,500.00 or 12500."),
    )


class RejectForm(FlaskForm):
    reason = TextAreaField(_l("Why the request is rejected"))
