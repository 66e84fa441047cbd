"""Membership forms: shape only. What a profile, an evaluation or a decision must be is the
operations' rule (and the core's)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    DateField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional

from competition.i18n import lazy_gettext as _l
from competition.organisations.models import KIND_LABELS, STATE_NAMES


def _kinds() -> list[SelectChoice]:
    return [SelectChoice("", _l("Choose if it is not in the registry"))] + [
        SelectChoice(kind.value, label) for kind, label in KIND_LABELS.items()
    ]


def _states() -> list[SelectChoice]:
    return [SelectChoice("", _l("Choose if it is not in the registry"))] + [
        SelectChoice(state.value, label) for state, label in STATE_NAMES.items()
    ]


class _NewOrganisation:
    """The kind and federal state an organisation the registry does not know is added with."""

    kind = SelectField(_l("Kind of organisation"), choices=_kinds(), validate_choice=False)
    federal_state = SelectField(_l("Federal state"), choices=_states(), validate_choice=False)


class ApplyForm(_NewOrganisation, FlaskForm):
    organisation = StringField(
        _l("Cluster management organisation"),
        validators=[InputRequired(_l("Enter the organisation's name.")), Length(max=300)],
    )
    services = TextAreaField(_l("The cluster's services"), render_kw={"rows": 8})


class ServicesForm(FlaskForm):
    services = TextAreaField(_l("The cluster's services"), render_kw={"rows": 8})


class MemberForm(_NewOrganisation, FlaskForm):
    name = StringField(
        _l("Member organisation"),
        validators=[InputRequired(_l("Enter the organisation's name.")), Length(max=300)],
    )


class MembersFileForm(FlaskForm):
    file = FileField(
        _l("CSV or XLSX file of member organisations"),
        validators=[FileRequired(_l("Choose a CSV or XLSX file."))],
    )


class EvaluationForm(FlaskForm):
    """The scores arrive as fields named score-<criterion id>, read by the view."""

    recommendation = RadioField(_l("Your recommendation"), choices=[], validate_choice=False)
    comment = TextAreaField(_l("Comment"), render_kw={"rows": 8})


class DecisionForm(FlaskForm):
    action = HiddenField()
    evaluation_id = RadioField(
        _l("The evaluation the decision rests on"), choices=[], validate_choice=False
    )
    valid_from = DateField(_l("Member from"), validators=[Optional()])
    valid_until = DateField(_l("Member until"), validators=[Optional()])
    reason = TextAreaField(_l("Reason (the organisation reads it)"), render_kw={"rows": 5})
    confirmed = HiddenField()


class CriterionForm(FlaskForm):
    name = StringField(
        _l("Name"),
        validators=[InputRequired(_l("Enter a name for the criterion.")), Length(max=200)],
    )
    description = TextAreaField(_l("Description"), validators=[Length(max=5000)])
    weight = StringField(_l("Weight"), default="1")
    scale_min = StringField(_l("Lowest score"), default="0")
    scale_max = StringField(_l("Highest score"), default="5")
    scale_step = StringField(_l("Step"), default="1")


class EvaluatorForm(FlaskForm):
    email = StringField(
        _l("The juror's e-mail address"),
        validators=[InputRequired(_l("Enter the juror's e-mail address.")), Length(max=254)],
    )
