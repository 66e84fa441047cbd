"""Screening forms: shape only. That ineligible needs a reason is the operation's rule."""

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, TextAreaField
from wtforms.validators import InputRequired

from competition.screening.models import Verdict


class VerdictForm(FlaskForm):
    verdict = RadioField(
        "Verdict",
        choices=[
            SelectChoice(Verdict.ELIGIBLE.value, "Eligible"),
            SelectChoice(Verdict.INELIGIBLE.value, "Ineligible"),
        ],
        validators=[InputRequired("Choose eligible or ineligible.")],
    )
    reason = TextAreaField("Reason")
