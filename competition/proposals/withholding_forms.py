"""The confirmation forms for withholding a partner's name from the public and lifting it:
shape only (the reason's rules are the operation's)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, TextAreaField
from wtforms.validators import Length

from competition.i18n import lazy_gettext as _l


class WithholdNameForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason (the programme office reads it)"),
        validators=[Length(max=5000)],
        render_kw={"rows": 4},
    )
    # Where to go back to: the grant's page or the proposal's (a path on this site).
    next = HiddenField()


class ShowNameForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason (optional; the programme office reads it)"),
        validators=[Length(max=5000)],
        render_kw={"rows": 3},
    )
    next = HiddenField()
