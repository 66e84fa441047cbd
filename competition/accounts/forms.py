"""Account forms: shape only. Rules (duplicates, password strength) live in the operations."""

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


def _email_field(label: str = "E-mail address") -> EmailField:
    return EmailField(
        label,
        validators=[
            DataRequired("Enter your e-mail address."),
            Email("Enter a valid e-mail address, like name@example.org."),
            Length(max=254),
        ],
    )


class LoginForm(FlaskForm):
    # No address-shape check here: any stored address must be able to log in, including ones at
    # reserved domains (the demo accounts live at demo.test, which the Email validator refuses).
    email = EmailField(
        "E-mail address", validators=[DataRequired("Enter your e-mail address."), Length(max=254)]
    )
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])
    next = HiddenField()


class RegisterForm(FlaskForm):
    name = StringField("Full name", validators=[DataRequired("Enter your name."), Length(max=200)])
    email = _email_field()
    password = PasswordField(
        "Password", validators=[DataRequired("Choose a password."), Length(max=200)]
    )
    confirm = PasswordField(
        "Repeat the password",
        validators=[
            DataRequired("Repeat the password."),
            EqualTo("password", "The passwords differ."),
        ],
    )


class EmailOnlyForm(FlaskForm):
    email = _email_field()


class NewPasswordForm(FlaskForm):
    password = PasswordField(
        "New password", validators=[DataRequired("Choose a password."), Length(max=200)]
    )
    confirm = PasswordField(
        "Repeat the password",
        validators=[
            DataRequired("Repeat the password."),
            EqualTo("password", "The passwords differ."),
        ],
    )


class AcceptInvitationForm(NewPasswordForm):
    name = StringField("Full name", validators=[DataRequired("Enter your name."), Length(max=200)])


class InviteForm(FlaskForm):
    name = StringField("Name", validators=[Length(max=200)])
    email = _email_field("Their e-mail address")
    role = SelectField(
        "Role", choices=[SelectChoice("juror", "Juror"), SelectChoice("officer", "Officer")]
    )


class ConfirmForm(FlaskForm):
    """A button that only carries the CSRF token."""
