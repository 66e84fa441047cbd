"""Selection forms: shape only. Who may do what, scales and the rules of four eyes are the
operations' business."""

from __future__ import annotations

from flask_babel import LazyString
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Field,
    FieldList,
    Form,
    FormField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import AnyOf, InputRequired, Length, ValidationError

from competition.core.decisions import MAX_RATIONALE, MIN_RATIONALE
from competition.i18n import gettext as _
from competition.i18n import lazy_gettext as _l
from competition.i18n import number

# ranking and line

# The methods an officer can rank with, each explained in one line.
RANKING_METHODS = (
    (
        "bias_model",
        _l("Bias model (recommended)"),
        _l(
            "Estimates each juror's harshness or leniency together with each proposal's "
            "quality, so a proposal is not helped or hurt by who happened to review it."
        ),
    ),
    (
        "zscore",
        _l("Each juror's scores on a common scale"),
        _l(
            "Puts each juror's totals on a common scale before averaging; unreliable for "
            "jurors with few reviews."
        ),
    ),
    (
        "raw",
        _l("Raw means"),
        _l("The weighted mean of the scores exactly as the jurors gave them."),
    ),
)
METHOD_LABELS = {value: label for value, label, _ in RANKING_METHODS}
METHOD_EXPLANATIONS = {value: explanation for value, _, explanation in RANKING_METHODS}


class StartRankingForm(FlaskForm):
    method = RadioField(
        _l("Method"),
        choices=[SelectChoice(value, label) for value, label, _ in RANKING_METHODS],
        default="bias_model",
        validate_choice=False,
        validators=[
            AnyOf(
                [value for value, _, _ in RANKING_METHODS],
                message=_l("Choose one of the three methods."),
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

    proposals = SelectMultipleField(_l("Proposals"), coerce=int, validate_choice=False)
    suggested = SelectField(
        _l("Also choose every proposal the line suggests as"), validate_choice=False, default=""
    )
    outcome = SelectField(
        _l("Outcome"), validators=[InputRequired(_l("Choose the outcome."))], validate_choice=True
    )
    rationale = TextAreaField(
        _l("Rationale"),
        filters=[_stripped],
        validators=[
            Length(
                min=MIN_RATIONALE,
                message=_l(
                    "Give the reason for the decision in at least %(count)d characters.",
                    count=MIN_RATIONALE,
                ),
            ),
            Length(
                max=MAX_RATIONALE,
                message=_l(
                    "Keep the rationale under %(count)s characters.",
                    # The thousands written as the page's language writes them.
                    count=LazyString(number, MAX_RATIONALE, 0),
                ),
            ),
        ],
    )
    # At an interim evaluation: the conditions a grant continues with (required for that
    # outcome, by the operation).
    conditions = TextAreaField(_l("Conditions"), filters=[_stripped])
    ranking_id = HiddenField()


class ConfirmForm(FlaskForm):
    """Choosing decisions to confirm (``scope`` all: every one the officer may confirm), and
    carrying the versions the officer saw from the preview to the commit."""

    decisions = SelectMultipleField(_l("Decisions"), coerce=int, validate_choice=False)
    scope = HiddenField(default="selected", validators=[AnyOf(["selected", "all"])])
    versions = SelectMultipleField(_l("Versions"), validate_choice=False)


class NoteForm(FlaskForm):
    text = TextAreaField(_l("Note for the panel's record"))


class ConsensusForm(FlaskForm):
    score = StringField(_l("Consensus score"))
    reason = TextAreaField(_l("Why the jury agreed on it"))


class RemoveConsensusForm(FlaskForm):
    reason = StringField(_l("Why remove it"))


# selection rules

LINE_BY = (("target", _l("By the selection target")), ("budget", _l("By budget")))
LINE_METHOD_CHOICES = (
    ("merit", _l("Merit order (recommended)")),
    ("optimal", _l("Highest total score within the budget")),
)


def _number(value: str | None) -> float | None:
    try:
        return float(value.replace(",", ".")) if value else None
    except ValueError:
        return None


class ConstraintRowForm(Form):
    """One constraint of the Rules page: what it counts (an attribute and one value or each
    value), at least and at most how many. A row without an attribute is no constraint (so an
    empty row adds nothing and emptying one removes it). Choices are set by the view."""

    attribute = SelectField(_l("Counts proposals by"), validate_choice=False, default="")
    value = SelectField(_l("Value"), validate_choice=False, default="")
    minimum = StringField(_l("At least"), filters=[_stripped])
    maximum = StringField(_l("At most"), filters=[_stripped])

    def validate_minimum(self, field: Field) -> None:
        _whole_or_empty(field)

    def validate_maximum(self, field: Field) -> None:
        _whole_or_empty(field)


class SelectionRulesForm(FlaskForm):
    """The stage's selection rules as an officer sets them; the tie rule's selects are filled
    with the stage's criteria by the view. Shape only: ``rules.update_rules`` judges."""

    tie_rule_1 = SelectField(_l("First"), coerce=str, default="")
    tie_rule_2 = SelectField(_l("Then"), coerce=str, default="")
    tie_rule_3 = SelectField(_l("Finally"), coerce=str, default="")
    confidence_weighted = BooleanField(_l("Weight each review by the juror's stated confidence"))
    overall_threshold = StringField(_l("Overall threshold"), filters=[_stripped])
    min_reviews = StringField(_l("Minimum reviews"), filters=[_stripped], default="3")
    line_by = RadioField(
        _l("How the line is drawn"),
        choices=[SelectChoice(v, label) for v, label in LINE_BY],
        validators=[AnyOf([v for v, _ in LINE_BY], message=_l("Choose target or budget."))],
        validate_choice=False,
    )
    line_method = RadioField(
        _l("For a budget line"),
        choices=[SelectChoice(v, label) for v, label in LINE_METHOD_CHOICES],
        default="merit",
        validators=[
            AnyOf(
                [v for v, _ in LINE_METHOD_CHOICES],
                message=_l("Choose merit order or the highest total score within the budget."),
            )
        ],
        validate_choice=False,
    )
    constraints = FieldList(FormField(ConstraintRowForm), min_entries=0)
    lottery = BooleanField(_l("Draw the places in the grey zone by lot"))
    lottery_seed = StringField(_l("Seed"), filters=[_stripped])

    def validate_overall_threshold(self, field: Field) -> None:
        if field.data and _number(field.data) is None:
            raise ValidationError(_("The threshold must be a number, such as 3.5."))

    def validate_min_reviews(self, field: Field) -> None:
        if not (field.data or "").isdecimal() or int(field.data) < 1:
            raise ValidationError(_("Give a whole number, 1 or more."))

    def threshold(self) -> float | None:
        return _number(self.overall_threshold.data)


def _whole_or_empty(field: Field) -> None:
    if field.data and not field.data.isdecimal():
        raise ValidationError(_("Give a whole number, 0 or more, or leave it empty."))
