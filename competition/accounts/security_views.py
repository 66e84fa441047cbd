"""The account's security page (any signed-in person): setting up an authenticator app, disabling
it, the person's passkeys (managed on their own page, ``passkey_views``), and new recovery
codes. A role that requires a second factor leads here
(``second_factor.enforce_second_factor``), so every page of this blueprint (and of the
passkeys') stays reachable without one."""

from __future__ import annotations

from flask import Blueprint, flash, g, make_response, redirect, render_template, url_for
from flask import session as cookie_session

from competition.access import current_person, signed_in
from competition.accounts import factor_operations as factor_ops
from competition.accounts import passkeys, second_factor, totp
from competition.accounts.forms import PasswordAgainForm, TotpSetUpForm
from competition.accounts.operations import LoginRefused
from competition.forms import Attempt, attempt
from competition.i18n import gettext as _

bp = Blueprint("security", __name__, url_prefix="/account/security")

# The secret being set up, kept in the (signed) cookie until a code confirms it, so that a
# reload shows the same QR code and nothing is stored for a set-up never finished.
SETUP_KEY = "totp_setup"


def _status(outcome: Attempt[object]) -> int:
    if isinstance(outcome.error, LoginRefused) and outcome.error.throttled:
        return 429
    return outcome.status


def _codes_page(codes: list[str], *, fresh_factor: bool):  # type: ignore[no-untyped-def]
    # The codes go out in this answer only, never to be shown again.
    response = make_response(
        render_template("accounts/recovery_codes.html", codes=codes, fresh_factor=fresh_factor)
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("")
@signed_in
def show_security():  # type: ignore[no-untyped-def]
    person = current_person()
    return render_template(
        "accounts/security.html",
        authenticator=second_factor.find_totp(person),
        passkeys=passkeys.list_passkeys(person),
        has_factor=second_factor.has_second_factor(person),
        recovery_codes_left=second_factor.unused_recovery_codes(person),
        required=second_factor.required_for(person),
    )


@bp.route("/authenticator", methods=["GET", "POST"])
@signed_in
def set_up_totp():  # type: ignore[no-untyped-def]
    person = current_person()
    if second_factor.find_totp(person) is not None:
        flash(_("You already use an authenticator app."), "info")
        return redirect(url_for(".show_security"))
    secret = cookie_session.get(SETUP_KEY)
    if not totp.is_secret(secret):
        secret = totp.new_secret()
        cookie_session[SETUP_KEY] = secret
    form = TotpSetUpForm()
    done = attempt(
        form,
        lambda: factor_ops.set_up_totp(person, secret=secret, code=form.code.data, now=g.now),
    )
    if done.result is not None:
        cookie_session.pop(SETUP_KEY, None)
        flash(
            _("Your authenticator app is set up: signing in asks for its code from now on."),
            "success",
        )
        return _codes_page(done.result, fresh_factor=True)
    uri = totp.provisioning_uri(secret, account=person.email, issuer=_("Funding competitions"))
    response = make_response(
        render_template(
            "accounts/totp_set_up.html",
            form=form,
            qr=totp.qr_data_url(uri),
            secret=totp.grouped(secret),
            required=second_factor.required_for(person),
        ),
        done.status,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/authenticator/disable", methods=["GET", "POST"])
@signed_in
def disable_totp():  # type: ignore[no-untyped-def]
    person = current_person()
    if second_factor.find_totp(person) is None:
        flash(_("You do not use an authenticator app."), "info")
        return redirect(url_for(".show_security"))
    form = PasswordAgainForm()
    done = attempt(
        form, lambda: factor_ops.disable_totp(person, password=form.password.data, now=g.now)
    )
    if done.done:
        flash(
            _("Your authenticator app is disabled: signing in no longer asks for its code."),
            "success",
        )
        return redirect(url_for(".show_security"))
    return render_template(
        "accounts/totp_disable.html", form=form, required=second_factor.required_for(person)
    ), _status(done)


@bp.route("/recovery-codes", methods=["GET", "POST"])
@signed_in
def new_recovery_codes():  # type: ignore[no-untyped-def]
    person = current_person()
    if not second_factor.has_second_factor(person):
        flash(_("Recovery codes stand in for a second factor: set one up first."), "info")
        return redirect(url_for(".show_security"))
    form = PasswordAgainForm()
    done = attempt(
        form,
        lambda: factor_ops.regenerate_recovery_codes(
            person, password=form.password.data, now=g.now
        ),
    )
    if done.result is not None:
        return _codes_page(done.result, fresh_factor=False)
    return render_template("accounts/recovery_codes_new.html", form=form), _status(done)
