"""The review form: shape only. Scores arrive as ``score-<criterion id>`` fields, one per
criterion of the stage, read by the view; what a valid review is lives in competition.core.scoring
and competition.reviews.operations."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import AnyOf, Length, Optional, Regexp

from competition.i18n import lazy_gettext as _l

# Far above what submitting accepts: a draft keeps whatever was typed, within reason.
MAX_DRAFT_CHARS = 100_000


class ReviewForm(FlaskForm):
    base_revision = HiddenField(validators=[Regexp(r"^\d{1,9}$")])
    comment_for_applicant = TextAreaField(
        _l("Comments for the applicant"), validators=[Optional(), Length(max=MAX_DRAFT_CHARS)]
    )
    comment_for_jury = TextAreaField(
        _l("Confidential comments for the jury"),
        validators=[Optional(), Length(max=MAX_DRAFT_CHARS)],
    )
    confidence = StringField(_l("Your confidence"), validators=[Optional(), Length(max=10)])
    # Which button was pressed: save a draft, or submit.
    action = StringField(validators=[Optional(), AnyOf(["save", "submit"])])
