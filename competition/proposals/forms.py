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

from competition.organisations.models import STATE_NAMES, OrganisationKind


class StartProposalForm(FlaskForm):
    acronym = StringField("Acronym", validators=[DataRequired("Enter an acronym."), Length(max=40)])
    title = StringField("Title", validators=[DataRequired("Enter a title."), Length(max=300)])


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class GeneralForm(FlaskForm):
    acronym = StringField("Acronym", validators=[DataRequired("Enter an acronym."), Length(max=40)])
    title = StringField("Title", validators=[DataRequired("Enter a title."), Length(max=300)])
    abstract = TextAreaField("Abstract")
    topics = MultiCheckboxField("Topics", coerce=int, validate_choice=False)


class SectionForm(FlaskForm):
    text = TextAreaField("Text")
    base_revision = HiddenField(validators=[DataRequired()])


KIND_CHOICES = [SelectChoice("", "Choose…")] + [
    SelectChoice(k.value, k.label) for k in OrganisationKind
]
STATE_CHOICES = [SelectChoice("", "Choose…")] + [
    SelectChoice(s.value, name) for s, name in STATE_NAMES.items()
]


class MemberForm(FlaskForm):
    organisation = StringField(
        "Organisation",
        validators=[DataRequired("Enter the organisation's name or choose it from the list.")],
    )
    # Checked by the operation, and only when the organisation is new to the registry.
    new_kind = SelectField(
        "Kind (for a new organisation)", choices=KIND_CHOICES, validate_choice=False
    )
    new_federal_state = SelectField(
        "Federal state (for a new organisation)", choices=STATE_CHOICES, validate_choice=False
    )
    role = SelectField(
        "Role",
        choices=[SelectChoice("partner", "Partner"), SelectChoice("coordinator", "Coordinator")],
    )
    contact_name = StringField("Contact person", validators=[Length(max=200)])
    contact_email = EmailField(
        "Contact e-mail",
        validators=[Optional(), Email("Enter a valid e-mail address."), Length(max=254)],
    )


class ButtonForm(FlaskForm):
    """A button whose form carries only the CSRF token."""


class BudgetForm(FlaskForm):
    """The amounts arrive as fields named public-m<member>-y<year> and own-m<member>-y<year>."""

    base_revision = HiddenField(validators=[DataRequired()])


class AttachmentForm(FlaskForm):
    file = FileField("PDF file", validators=[FileRequired("Choose a PDF file to upload.")])


class InviteContributorForm(FlaskForm):
    email = EmailField(
        "E-mail address",
        validators=[
            DataRequired("Enter the e-mail address."),
            Email("Enter a valid e-mail address."),
            Length(max=254),
        ],
    )


class SubmitForm(FlaskForm):
    idempotency_key = HiddenField(validators=[DataRequired()])


class WithdrawForm(FlaskForm):
    reason = TextAreaField("Reason (optional)", validators=[Length(max=1000)])


class ExtensionForm(FlaskForm):
    stage_id = IntegerField("Stage", validators=[DataRequired()])
    closes_at = DateTimeLocalField(
        "New deadline (Europe/Berlin)",
        format="%Y-%m-%dT%H:%M",
        validators=[DataRequired("Enter the new deadline.")],
    )
    reason = TextAreaField("Reason", validators=[DataRequired("Give the reason.")])
