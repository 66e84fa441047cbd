"""Jury forms: shape only. Reasons being required, organisations existing, loads in range and
who may do what are the operations' rules."""

from __future__ import annotations

import re
from collections.abc import Iterable

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import AnyOf, DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from competition.assignment.models import BidLevel
from competition.i18n import gettext as _
from competition.i18n import lazy_gettext as _l

BID_LABELS = {
    BidLevel.EAGER: _l("Eager"),
    BidLevel.WILLING: _l("Willing"),
    BidLevel.NEUTRAL: _l("Neutral"),
    BidLevel.NOT_WILLING: _l("Not willing"),
}


def _optional_int(value: object) -> int | None:
    if value in (None, ""):
        return None
    return int(value)  # type: ignore[call-overload]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ButtonForm(FlaskForm):
    """A button that only carries the CSRF token."""


class RespondForm(FlaskForm):
    answer = HiddenField(validators=[AnyOf(["accept", "decline"], _l("Accept or decline."))])


class ProfileForm(FlaskForm):
    """Organisations are typed names (the registry is too large for a select), matched by the
    operation; former ones already saved are tick boxes, unticked to remove."""

    affiliation = StringField(_l("Your current organisation"), validators=[Length(max=300)])
    former_organisation_ids = MultiCheckboxField(
        _l("Organisations you worked for in the last three years"),
        coerce=int,
        validate_choice=False,
    )
    add_former = StringField(_l("Add a former organisation"), validators=[Length(max=300)])
    topic_ids = MultiCheckboxField(_l("Your expertise"), coerce=int, validate_choice=False)
    max_load = IntegerField(_l("The most proposals you will review"), validators=[Optional()])
    expertise_text = TextAreaField(_l("Your expertise in your own words"))


def declaration_form(proposal_ids: Iterable[int]) -> FlaskForm:
    """A tick box and a reason for each proposal the juror can still declare a conflict with."""

    class DeclarationForm(FlaskForm):
        pass

    for proposal_id in proposal_ids:
        setattr(
            DeclarationForm,
            f"conflict_{proposal_id}",
            BooleanField(_l("I have a conflict of interest with this proposal")),
        )
        setattr(DeclarationForm, f"reason_{proposal_id}", TextAreaField(_l("Reason")))
    return DeclarationForm()


def declared(form: FlaskForm, proposal_ids: Iterable[int]) -> dict[int, str]:
    """The ticked proposals with their reasons."""
    return {
        proposal_id: form[f"reason_{proposal_id}"].data or ""
        for proposal_id in proposal_ids
        if form[f"conflict_{proposal_id}"].data
    }


_BID_FIELD = re.compile(r"^bid_(\d+)$")


class BidsForm(FlaskForm):
    """The bidding page's form: a select ``bid_<proposal id>`` per proposal on the page."""

    q = HiddenField()
    page = HiddenField()

    def chosen(
        self, formdata: Iterable[tuple[str, str]]
    ) -> tuple[dict[int, BidLevel], set[int], bool]:
        """The levels chosen by proposal id, every proposal id the form names, and whether every
        value was a known level."""
        levels: dict[int, BidLevel] = {}
        mentioned: set[int] = set()
        valid = True
        for name, value in formdata:
            match = _BID_FIELD.match(name)
            if not match:
                continue
            mentioned.add(int(match.group(1)))
            if value == "":
                continue
            try:
                levels[int(match.group(1))] = BidLevel(value)
            except ValueError:
                valid = False
        return levels, mentioned, valid


# No Email() validator on these two: it refuses reserved domains such as the demo accounts'
# demo.test, and a juror's stored address must always be usable. The operations check the shape.


class InviteJurorForm(FlaskForm):
    name = StringField(_l("Name"), validators=[Length(max=200)])
    email = EmailField(
        _l("E-mail address"),
        validators=[DataRequired(_l("Enter the juror's e-mail address.")), Length(max=254)],
    )


class OfficerConflictForm(FlaskForm):
    juror_id = SelectField(_l("Juror"), coerce=_optional_int, validate_choice=False)
    proposal_id = SelectField(_l("Proposal"), coerce=_optional_int, validate_choice=False)
    reason = TextAreaField(_l("Reason"))


class RemoveConflictForm(FlaskForm):
    reason = StringField(_l("Why remove it"))


class ExclusionForm(FlaskForm):
    juror_email = EmailField(
        _l("Their e-mail address"),
        validators=[DataRequired(_l("Enter the person's e-mail address.")), Length(max=254)],
    )
    reason = TextAreaField(_l("Reason"))


def bid_choices() -> list[SelectChoice]:
    return [SelectChoice("", _("No bid"))] + [
        SelectChoice(level.value, label) for level, label in BID_LABELS.items()
    ]


class StartRunForm(FlaskForm):
    fairness = BooleanField(_l("Lift the weakest match first (fairness)"))
    one_per_organisation = BooleanField(
        _l("At most one juror from the same organisation per proposal")
    )
    min_non_academic_seats = IntegerField(
        _l("Seats per proposal for jurors from outside academia"),
        default=0,
        validators=[Optional()],
    )


class ChangeForm(FlaskForm):
    kind = HiddenField(validators=[AnyOf(["add", "remove", "swap"], _l("Choose a change."))])
    juror_out = HiddenField()
    juror_in = SelectField(_l("Juror"), coerce=_optional_int, validate_choice=False)
    confirmed = HiddenField()


class DeclineForm(FlaskForm):
    reason = TextAreaField(_l("Why you give this proposal back"), validators=[Length(max=2000)])
