"""A person's passkeys page (list, add, remove) and the passkey check ("confirm it's you").

The ceremonies run in the browser (static/passkeys.js): it asks for options, lets the
authenticator answer and posts the answer as JSON with the CSRF token in its header. Every rule
is in ``passkeys``; these views only carry JSON to it and back.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from competition.access import current_person, signed_in
from competition.accounts import passkeys
from competition.accounts.passkey_models import NAME_LENGTH
from competition.errors import DomainError
from competition.forms import Attempt, attempt, perform

bp = Blueprint("passkeys", __name__)


class AddPasskeyForm(FlaskForm):
    """Posted by the script as JSON; here for the field, its label and the CSRF token."""

    name = StringField(
        _l("Name of the passkey"), render_kw={"maxlength": NAME_LENGTH, "autocomplete": "off"}
    )


class RemovePasskeyForm(FlaskForm):
    password = PasswordField(
        _l("Your password"), validators=[DataRequired(_l("Enter your password."))]
    )


class CheckPasskeyForm(FlaskForm):
    """Only the CSRF token, which the script sends in its header."""


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400)
    return body


def _answer(outcome: Attempt[Any], **done: Any):  # type: ignore[no-untyped-def]
    """The script's answer: what was asked for, or the refusal's messages by field."""
    if outcome.error is not None:
        return jsonify(errors=_messages(outcome.error)), outcome.status
    return jsonify(**done)


def _messages(error: DomainError) -> dict[str, list[str]]:
    return {field or "form": messages for field, messages in error.errors.items()}


@bp.route("/account/passkeys")
@signed_in
def list_passkeys():  # type: ignore[no-untyped-def]
    return render_template(
        "accounts/passkeys.html",
        passkeys=passkeys.list_passkeys(current_person()),
        form=AddPasskeyForm(),
    )


@bp.route("/account/passkeys/options", methods=["POST"])
@signed_in
def registration_options():  # type: ignore[no-untyped-def]
    name = str(_json_body().get("name") or "")
    outcome = perform(lambda: passkeys.registration_options(current_person(), name=name, now=g.now))
    return _answer(outcome, options=outcome.result)


@bp.route("/account/passkeys", methods=["POST"])
@signed_in
def add_passkey():  # type: ignore[no-untyped-def]
    body = _json_body()
    credential = body.get("credential")
    if not isinstance(credential, dict):
        abort(400)
    outcome = perform(
        lambda: passkeys.add_passkey(
            current_person(), name=str(body.get("name") or ""), credential=credential, now=g.now
        )
    )
    if outcome.result is not None:
        flash(_("The passkey “%(name)s” is added.", name=outcome.result.name), "success")
    return _answer(outcome, next=url_for(".list_passkeys"))


@bp.route("/account/passkeys/<int:passkey_id>/remove", methods=["GET", "POST"])
@signed_in
def remove_passkey(passkey_id: int):  # type: ignore[no-untyped-def]
    person = current_person()
    passkey = passkeys.find_passkey(person, passkey_id)
    if passkey is None:
        abort(404)
    name = passkey.name
    form = RemovePasskeyForm()
    removed = attempt(
        form,
        lambda: passkeys.remove_passkey(
            person, passkey, password=form.password.data or "", now=g.now
        ),
    )
    if removed.done:
        flash(_("The passkey “%(name)s” is removed.", name=name), "success")
        return redirect(url_for(".list_passkeys"))
    return render_template(
        "accounts/passkey_remove.html", form=form, passkey=passkey
    ), removed.status


@bp.route("/login/passkey")
@signed_in
def check_passkey():  # type: ignore[no-untyped-def]
    """Confirm it is you with a passkey. For now a signed-in person's re-authentication; the
    login's second step will offer the same two calls."""
    return render_template(
        "accounts/passkey_check.html",
        form=CheckPasskeyForm(),
        has_passkeys=passkeys.has_passkeys(current_person()),
    )


@bp.route("/login/passkey/options", methods=["POST"])
@signed_in
def sign_in_options():  # type: ignore[no-untyped-def]
    outcome = perform(lambda: passkeys.passkey_sign_in_options(current_person(), now=g.now))
    return _answer(outcome, options=outcome.result)


@bp.route("/login/passkey/verify", methods=["POST"])
@signed_in
def verify_sign_in():  # type: ignore[no-untyped-def]
    payload = _json_body()
    if not passkeys.verify_passkey_sign_in(current_person(), payload, now=g.now):
        message = _("The passkey was not accepted. Please try again, or use another passkey.")
        return jsonify(errors={"form": [message]}), 422
    flash(_("Thank you: your passkey confirmed that it is you."), "success")
    return jsonify(next=url_for(".list_passkeys"))
