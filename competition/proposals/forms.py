"""Applicant and officer forms for proposals: shape only; the rules live in core and operations."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    DateTimeLocalField,
    EmailField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from competition.i18n import lazy_gettext as _l
from competition.organisations.models import KIND_LABELS, STATE_NAMES, OrganisationKind


class StartProposalForm(FlaskForm):
    acronym = StringField(
        _l("Acronym"), validators=[DataRequired(_l("Enter an acronym.")), Length(max=40)]
    )
    title = StringField(
        _l("Title"), validators=[DataRequired(_l("Enter a title.")), Length(max=300)]
    )


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class GeneralForm(FlaskForm):
    acronym = StringField(
        _l("Acronym"), validators=[DataRequired(_l("Enter an acronym.")), Length(max=40)]
    )
    title = StringField(
        _l("Title"), validators=[DataRequired(_l("Enter a title.")), Length(max=300)]
    )
    abstract = TextAreaField(_l("Abstract"))
    topics = MultiCheckboxField(_l("Topics"), coerce=int, validate_choice=False)


class SectionForm(FlaskForm):
    text = TextAreaField(_l("Text"))
    base_revision = HiddenField(validators=[DataRequired()])


KIND_CHOICES = [SelectChoice("", _l("Choose…"))] + [
    SelectChoice(k.value, KIND_LABELS[k]) for k in OrganisationKind
]
STATE_CHOICES = [SelectChoice("", _l("Choose…"))] + [
    SelectChoice(s.value, name) for s, name in STATE_NAMES.items()
]


class MemberForm(FlaskForm):
    organisation = StringField(
        _l("Organisation"),
        validators=[DataRequired(_l("Enter the organisation's name or choose it from the list."))],
    )
    # Checked by the operation, and only when the organisation is new to the registry.
    new_kind = SelectField(
        _l("Kind (for a new organisation)"), choices=KIND_CHOICES, validate_choice=False
    )
    new_federal_state = SelectField(
        _l("Federal state (for a new organisation)"), choices=STATE_CHOICES, validate_choice=False
    )
    role = SelectField(
        _l("Role"),
        choices=[
            SelectChoice("partner", _l("Partner")),
            SelectChoice("coordinator", _l("Coordinator")),
            SelectChoice("associated_partner", _l("Associated partner")),
            SelectChoice("subcontractor", _l("Subcontractor")),
        ],
    )
    contact_name = StringField(_l("Contact person"), validators=[Length(max=200)])
    contact_email = EmailField(
        _l("Contact e-mail"),
        validators=[Optional(), Email(_l("Enter a valid e-mail address.")), Length(max=254)],
    )


class PartnersFileForm(FlaskForm):
    file = FileField(
        _l("CSV or XLSX file of partners"),
        validators=[FileRequired(_l("Choose a CSV or XLSX file."))],
    )


class ButtonForm(FlaskForm):
    """A button whose form carries only the CSRF token."""


class BudgetForm(FlaskForm):
    """The amounts arrive as fields named public-m<member>-y<year> and own-m<member>-y<year>."""

    base_revision = HiddenField(validators=[DataRequired()])


class AttachmentForm(FlaskForm):
    file = FileField(_l("PDF file"), validators=[FileRequired(_l("Choose a PDF file to upload."))])


class InviteContributorForm(FlaskForm):
    email = EmailField(
        _l("E-mail address"),
        validators=[
            DataRequired(_l("Enter the e-mail address.")),
            Email(_l("Enter a valid e-mail address.")),
            Length(max=254),
        ],
    )


class SubmitForm(FlaskForm):
    idempotency_key = HiddenField(validators=[DataRequired()])


class WithdrawForm(FlaskForm):
    reason = TextAreaField(_l("Reason (optional)"), validators=[Length(max=1000)])


class ExtensionForm(FlaskForm):
    stage_id = IntegerField(_l("Stage"), validators=[DataRequired()])
    closes_at = DateTimeLocalField(
        _l("New deadline (Europe/Berlin)"),
        format="%Y-%m-%dT%H:%M",
        validators=[DataRequired(_l("Enter the new deadline."))],
    )
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(_l("Give the reason."))])
