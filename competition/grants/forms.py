"""The grant pages' forms: shape only; the rules live in the core and the operations. The
amounts of an adjustment arrive as fields named ``amount-m<member>-y<year>``, read by
``typed_amounts``."""

from __future__ import annotations

import re
from collections.abc import Mapping

from flask_wtf import FlaskForm
from wtforms import DateField, TextAreaField
from wtforms.validators import Length, Optional

from competition.i18n import lazy_gettext as _l

AMOUNT_FIELD = re.compile(r"^amount-m(\d{1,9})-y([1-9])$")
DATE_FORMATS = ["%Y-%m-%d", "%d.%m.%Y"]
_NOT_A_DATE = _l("Enter a date, like 01.04.2027.")


def _date(label: object, *validators: object, description: object = "") -> DateField:
    return DateField(
        label,
        list(validators) or [Optional()],
        format=DATE_FORMATS,
        invalid_value_message=_NOT_A_DATE,
        description=description,
    )


class ReasonForm(FlaskForm):
    """Declining a grant: why."""

    reason = TextAreaField(_l("Reason"), validators=[Length(max=5000)], render_kw={"rows": 4})


class EndEarlyForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason (the consortium reads it)"), validators=[Length(max=5000)], render_kw={"rows": 4}
    )
    ends_on = _date(
        _l("Funding ends on"),
        description=_l("The first day without funding; empty: today."),
    )


class AdjustForm(FlaskForm):
    starts_on = _date(_l("Starts on"))
    ends_on = _date(
        _l("Ends on"),
        description=_l(
            "The first day after the funded period, e.g. 01.04.2030 for three years from "
            "01.04.2027. The phases follow the new period."
        ),
    )
    conditions = TextAreaField(
        _l("Conditions (Auflagen)"),
        validators=[Length(max=20000)],
        description=_l("What the consortium must meet; the consortium reads it."),
        render_kw={"rows": 5},
    )
    reason = TextAreaField(
        _l("Reason for the change (kept in the audit trail)"),
        validators=[Length(max=5000)],
        render_kw={"rows": 3},
    )


def typed_amounts(form: Mapping[str, str]) -> dict[tuple[int, int], str]:
    """The amounts typed into the table, by (member id, project year)."""
    found = {}
    for name, value in form.items():
        matched = AMOUNT_FIELD.match(name)
        if matched:
            found[(int(matched[1]), int(matched[2]))] = str(value)
    return found
