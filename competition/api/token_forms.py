"""The account page's token form: shape only. What a token may be (a name, at least one area,
a day within a year) is the operation's rule (``tokens.create_token``)."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, RadioField, SelectChoice, StringField

from competition.api.models import API_AREA_LABELS, ApiArea, scope
from competition.api.tokens import NAME_LENGTH
from competition.i18n import lazy_gettext as _l

DATE_FORMATS = ["%Y-%m-%d", "%d.%m.%Y"]
NONE, READ, WRITE = "none", "read", "write"
ACCESS_CHOICES = [
    SelectChoice(NONE, _l("No access")),
    SelectChoice(READ, _l("Read")),
    SelectChoice(WRITE, _l("Read and write")),
]


class TokenForm(FlaskForm):
    name = StringField(_l("Name"), render_kw={"maxlength": NAME_LENGTH, "autocomplete": "off"})
    expires_on = DateField(
        _l("Expires on"),
        format=DATE_FORMATS,
        invalid_value_message=_l("Enter the day the token stops working, like 21.02.2027."),
    )
    # Carries the operation's messages about the areas to the fieldset that offers them.
    scopes = HiddenField()

    areas: list[tuple[ApiArea, RadioField]]

    def chosen_scopes(self) -> list[str]:
        chosen = []
        for area, field in self.areas:
            if field.data == READ:
                chosen.append(scope(area))
            elif field.data == WRITE:
                chosen.append(scope(area, True))
        return chosen


def token_form(areas: list[ApiArea], **kwargs: Any) -> TokenForm:
    """The form with one choice of access per area offered."""

    class AreaForm(TokenForm):
        pass

    for area in areas:
        setattr(
            AreaForm,
            f"area_{area.value}",
            RadioField(
                API_AREA_LABELS[area], choices=ACCESS_CHOICES, default=NONE, validate_choice=False
            ),
        )
    form = AreaForm(**kwargs)
    form.areas = [(area, getattr(form, f"area_{area.value}")) for area in areas]
    return form


class RevokeForm(FlaskForm):
    """The confirmation: its CSRF token is all it carries."""
