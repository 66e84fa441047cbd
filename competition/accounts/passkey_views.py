"""A person's passkeys page (list, add, remove) and the passkey as the second step of signing in.

The ceremonies run in the browser (static/passkeys.js): it asks for options, lets the
authenticator answer and posts the answer as JSON with the CSRF token in its header. Every rule
is in ``passkeys`` and ``factor_operations``; these views only carry JSON to them and back.
The second step's two calls are public: they serve the person who passed the password step in
this browser (``second_factor.pending_login``), who has no session yet.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from competition.access import current_person, public, signed_in
from competition.accounts import factor_operations as factor_ops
from competition.accounts import passkeys, second_factor
from competition.accounts.models import User
from competition.accounts.operations import LoginRefused
from competition.accounts.passkey_models import NAME_LENGTH
from competition.errors import DomainError
from competition.forms import Attempt, attempt, perform
from competition.i18n import gettext as _
from competition.i18n import lazy_gettext as _l

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
        "accounts/passkey_remove.html",
        form=form,
        passkey=passkey,
        has_password=bool(person.password_hash),
        no_password=passkeys.NO_PASSWORD,
    ), removed.status


def _pending() -> tuple[User, str | None]:
    """The person in the middle of signing in, or a 401 telling the script to start again."""
    pending = None if current_user.is_authenticated else second_factor.pending_login(g.now)
    if pending is None:
        message = _("Please log in again: the time for the second step has run out.")
        refusal = jsonify(errors={"form": [message]}, next=url_for("accounts.login"))
        refusal.status_code = 401
        abort(refusal)
    return pending


@bp.route("/login/passkey/options", methods=["POST"])
@public
def sign_in_options():  # type: ignore[no-untyped-def]
    user, _next_url = _pending()
    outcome = perform(lambda: passkeys.passkey_sign_in_options(user, now=g.now))
    return _answer(outcome, options=outcome.result)


@bp.route("/login/passkey/verify", methods=["POST"])
@public
def verify_sign_in():  # type: ignore[no-untyped-def]
    user, next_url = _pending()
    payload = _json_body()
    outcome = perform(
        lambda: factor_ops.verify_passkey_step(
            user, payload, client_address=request.remote_addr or "unknown", now=g.now
        )
    )
    if outcome.error is not None:
        throttled = isinstance(outcome.error, LoginRefused) and outcome.error.throttled
        return jsonify(errors=_messages(outcome.error)), 429 if throttled else outcome.status
    second_factor.open_session(user, method=outcome.result)
    return jsonify(next=second_factor.landing(next_url))
