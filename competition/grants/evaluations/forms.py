"""The form that starts an interim evaluation: shape only; the operation judges."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from flask_wtf import FlaskForm
from wtforms import Field, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, ValidationError

from competition.grants.evaluations.operations import CriterionSpec
from competition.i18n import gettext as _
from competition.i18n import lazy_gettext as _l
from competition.programmes.forms import BerlinDateTimeField, WholeNumberField

# The criteria an interim evaluation starts with, in the officer's language: the officer edits
# them on the form, and later on the stage's criteria pages.
DEFAULT_CRITERIA = (
    _l("Progress against the plan"),
    _l("Quality of the results"),
    _l("The plan for the next phase"),
    _l("Management and finances"),
)


def default_criteria() -> str:
    return "\n".join(f"{name} | 1" for name in DEFAULT_CRITERIA)


def parse_criteria(text: str) -> tuple[list[CriterionSpec], list[str]]:
    """One criterion per line, 'Name | weight' (weight 1 when left out)."""
    specs: list[CriterionSpec] = []
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, _sep, weight = (part.strip() for part in line.partition("|"))
        try:
            value = Decimal(weight.replace(",", ".")) if weight else Decimal(1)
        except InvalidOperation:
            problems.append(
                _("Line %(line)s: the weight must be a number, like 1 or 1.5.", line=number)
            )
            continue
        if not value.is_finite():
            problems.append(
                _("Line %(line)s: the weight must be a number, like 1 or 1.5.", line=number)
            )
            continue
        specs.append(CriterionSpec(name=name, weight=value))
    return specs, problems


class StartEvaluationForm(FlaskForm):
    """The view fills ``phase`` with the phases the call's grants run in."""

    phase = SelectField(_l("Phase to evaluate"), coerce=int, validate_choice=True)
    name = StringField(
        _l("Name of the evaluation"),
        validators=[InputRequired(_l("Enter a name for the evaluation.")), Length(max=200)],
    )
    opens_at = BerlinDateTimeField(
        _l("The consortia submit from (Berlin time)"),
        validators=[InputRequired(_l("Enter when submission opens."))],
    )
    closes_at = BerlinDateTimeField(
        _l("Report and plan due (Berlin time)"),
        validators=[InputRequired(_l("Enter when submission closes."))],
    )
    reviews_due_at = BerlinDateTimeField(
        _l("Reviews due (Berlin time)"),
        validators=[InputRequired(_l("Enter when the reviews are due."))],
    )
    reviewers_per_proposal = WholeNumberField(
        _l("Jurors per grant"),
        validators=[InputRequired(_l("Enter how many jurors review each grant."))],
        default=3,
    )
    max_load_per_juror = WholeNumberField(
        _l("Maximum grants per juror"),
        validators=[InputRequired(_l("Enter how many grants a juror reviews at most."))],
        default=10,
    )
    criteria = TextAreaField(
        _l("Criteria"),
        validators=[Length(max=20000)],
        description=_l(
            "One criterion per line: 'Name | weight', scored from 0 to 5 in half points. "
            "Change them later on the stage's criteria pages."
        ),
        render_kw={"rows": 6},
    )

    def validate_criteria(self, field: Field) -> None:
        problems = parse_criteria(field.data or "")[1]
        if problems:
            raise ValidationError(" ".join(problems))

    def values(self) -> dict[str, Any]:
        """After validation: what ``start_interim_evaluation`` takes."""
        return {
            "phase": self.phase.data,
            "name": self.name.data or "",
            "opens_at": self.opens_at.utc,
            "closes_at": self.closes_at.utc,
            "reviews_due_at": self.reviews_due_at.utc,
            "reviewers_per_proposal": self.reviewers_per_proposal.data,
            "max_load_per_juror": self.max_load_per_juror.data,
            "criteria": parse_criteria(self.criteria.data or "")[0],
            # The stage's two sections, named in the officer's language (editable later).
            "report_title": _("Report on the phase"),
            "plan_title": _("Plan for the next phase"),
        }
