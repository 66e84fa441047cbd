"""Selection forms: shape only. Who may do what, scales and the rules of four eyes are the
operations' business."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import AnyOf, InputRequired, Length

from competition.selection.operations import MAX_RATIONALE, MIN_RATIONALE

# ranking and line

# The methods an officer can rank with, each explained in one line.
RANKING_METHODS = (
    (
        "bias_model",
        "Bias model (recommended)",
        "Estimates each juror's harshness or leniency together with each proposal's quality, "
        "so a proposal is not helped or hurt by who happened to review it.",
    ),
    (
        "zscore",
        "Per-juror z-scores",
        "Puts each juror's totals on a common scale before averaging; unreliable for jurors "
        "with few reviews.",
    ),
    (
        "raw",
        "Raw means",
        "The weighted mean of the scores exactly as the jurors gave them.",
    ),
)


class StartRankingForm(FlaskForm):
    method = RadioField(
        "Method",
        choices=[SelectChoice(value, label) for value, label, _ in RANKING_METHODS],
        default="bias_model",
        validate_choice=False,
        validators=[
            AnyOf(
                [value for value, _, _ in RANKING_METHODS],
                message="Choose one of the three methods.",
            )
        ],
    )


class RecomputeForm(FlaskForm):
    """A button: recompute a ranking from today's inputs and compare."""


class DrawLotteryForm(FlaskForm):
    """Carries what the officer confirmed: the ranking, the grey zone and the places."""

    ranking_id = HiddenField()
    candidates = HiddenField()
    places = HiddenField()


# decisions and panel


def _stripped(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class ProposeForm(FlaskForm):
    """The bulk decision form: ticked proposals, or the line's suggestion for an outcome, with
    one outcome and one rationale. The same fields carry the choice from the preview to the
    commit."""

    proposals = SelectMultipleField("Proposals", coerce=int, validate_choice=False)
    suggested = SelectField(
        "Also choose every proposal the line suggests as", validate_choice=False, default=""
    )
    outcome = SelectField(
        "Outcome", validators=[InputRequired("Choose the outcome.")], validate_choice=True
    )
    rationale = TextAreaField(
        "Rationale",
        filters=[_stripped],
        validators=[
            Length(
                min=MIN_RATIONALE,
                message=f"Give the reason for the decision in at least {MIN_RATIONALE} characters.",
            ),
            Length(
                max=MAX_RATIONALE,
                message=f"Keep the rationale under {MAX_RATIONALE:,} characters.",
            ),
        ],
    )
    ranking_id = HiddenField()


class ConfirmForm(FlaskForm):
    """Choosing decisions to confirm (``scope`` all: every one the officer may confirm), and
    carrying the versions the officer saw from the preview to the commit."""

    decisions = SelectMultipleField("Decisions", coerce=int, validate_choice=False)
    scope = HiddenField(default="selected", validators=[AnyOf(["selected", "all"])])
    versions = SelectMultipleField("Versions", validate_choice=False)


class NoteForm(FlaskForm):
    text = TextAreaField("Note for the panel's record")


class ConsensusForm(FlaskForm):
    score = StringField("Consensus score")
    reason = TextAreaField("Why the jury agreed on it")


class RemoveConsensusForm(FlaskForm):
    reason = StringField("Why remove it")
