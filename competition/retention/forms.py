"""Retention forms: shape only."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, TextAreaField
from wtforms.validators import DataRequired, Length

from competition.i18n import lazy_gettext as _l


class ErasureRequestForm(FlaskForm):
    email = EmailField(
        _l("The person's e-mail address"), validators=[DataRequired(), Length(max=254)]
    )
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=2000)])
    confirm = BooleanField(
        _l("I understand that the erasure cannot be undone."),
        validators=[DataRequired(message=_l("Confirm that the erasure cannot be undone."))],
    )
