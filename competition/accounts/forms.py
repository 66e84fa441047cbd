"""Account forms: shape only. Rules (duplicates, password strength) live in the operations."""

from flask_babel import LazyString
from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    HiddenField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length

from competition.i18n import lazy_gettext as _l


def _email_field(label: LazyString | None = None) -> EmailField:
    return EmailField(
        label or _l("E-mail address"),
        validators=[
            DataRequired(_l("Enter your e-mail address.")),
            Email(_l("Enter a valid e-mail address, like name@example.org.")),
            Length(max=254),
        ],
    )


class LoginForm(FlaskForm):
    # No address-shape check here: any stored address must be able to log in, including ones at
    # reserved domains (the demo accounts live at demo.test, which the Email validator refuses).
    email = EmailField(
        _l("E-mail address"),
        validators=[DataRequired(_l("Enter your e-mail address.")), Length(max=254)],
    )
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password."))])
    next = HiddenField()


class RegisterForm(FlaskForm):
    name = StringField(
        _l("Full name"), validators=[DataRequired(_l("Enter your name.")), Length(max=200)]
    )
    email = _email_field()
    password = PasswordField(
        _l("Password"), validators=[DataRequired(_l("Choose a password.")), Length(max=200)]
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[
            DataRequired(_l("Repeat the password.")),
            EqualTo("password", _l("The passwords differ.")),
        ],
    )


class EmailOnlyForm(FlaskForm):
    email = _email_field()


class NewPasswordForm(FlaskForm):
    password = PasswordField(
        _l("New password"), validators=[DataRequired(_l("Choose a password.")), Length(max=200)]
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[
            DataRequired(_l("Repeat the password.")),
            EqualTo("password", _l("The passwords differ.")),
        ],
    )


class AcceptInvitationForm(NewPasswordForm):
    name = StringField(
        _l("Full name"), validators=[DataRequired(_l("Enter your name.")), Length(max=200)]
    )


class InviteForm(FlaskForm):
    name = StringField(_l("Name"), validators=[Length(max=200)])
    email = _email_field(_l("Their e-mail address"))
    role = SelectField(
        _l("Role"),
        choices=[SelectChoice("juror", _l("Juror")), SelectChoice("officer", _l("Officer"))],
    )


class ConfirmForm(FlaskForm):
    """A button that only carries the CSRF token."""


class SecondStepForm(FlaskForm):
    code = StringField(
        _l("Code"),
        validators=[
            DataRequired(_l("Enter the code from your app, or a recovery code.")),
            Length(max=40),
        ],
    )


class TotpSetUpForm(FlaskForm):
    code = StringField(
        _l("Code from the app"),
        validators=[DataRequired(_l("Enter the six digits your app shows.")), Length(max=20)],
    )


class PasswordAgainForm(FlaskForm):
    """A change to the person's own second factors: their password again, as a confirmation."""

    password = PasswordField(
        _l("Your password"), validators=[DataRequired(_l("Enter your password."))]
    )
