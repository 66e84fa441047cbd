"""Forms of the registry's pages: shape only; the rules live in core and operations."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, HiddenField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length

from competition.i18n import lazy_gettext as _l
from competition.organisations.models import KIND_LABELS, STATE_NAMES, OrganisationKind

KIND_CHOICES = [SelectChoice("", _l("Choose…"))] + [
    SelectChoice(k.value, KIND_LABELS[k]) for k in OrganisationKind
]
STATE_CHOICES = [SelectChoice("", _l("None (outside Germany)"))] + [
    SelectChoice(s.value, name) for s, name in STATE_NAMES.items()
]


class ImportForm(FlaskForm):
    file = FileField(
        _l("CSV or XLSX file"), validators=[FileRequired(_l("Choose a CSV or XLSX file."))]
    )
    update_existing = BooleanField(
        _l("Update the kind and federal state of organisations already in the registry")
    )


class OrganisationForm(FlaskForm):
    name = StringField(
        _l("Name"), validators=[DataRequired(_l("Enter the organisation's name.")), Length(max=300)]
    )
    # Checked by the operation, which names the problem at the field.
    kind = SelectField(_l("Kind"), choices=KIND_CHOICES, validate_choice=False)
    federal_state = SelectField(_l("Federal state"), choices=STATE_CHOICES, validate_choice=False)
    country = StringField(_l("Country (two-letter code)"), validators=[Length(max=40)])


class MergeForm(FlaskForm):
    into = HiddenField(validators=[DataRequired()])
