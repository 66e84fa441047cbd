"""Screening forms: shape only. That ineligible needs a reason is the operation's rule."""

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, TextAreaField
from wtforms.validators import InputRequired

from competition.i18n import lazy_gettext as _l
from competition.screening.models import Verdict


class VerdictForm(FlaskForm):
    verdict = RadioField(
        _l("Verdict"),
        choices=[
            SelectChoice(Verdict.ELIGIBLE.value, _l("Eligible")),
            SelectChoice(Verdict.INELIGIBLE.value, _l("Ineligible")),
        ],
        validators=[InputRequired(_l("Choose eligible or ineligible."))],
    )
    reason = TextAreaField(_l("Reason"))
