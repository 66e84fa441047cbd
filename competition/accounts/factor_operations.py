"""Second factors: setting up and disabling an authenticator app, recovery codes, the second step
of signing in (a code or a passkey), and an administrator's reset for a person who lost their
device.

Each is one transaction (see competition.db.operation). Secrets and codes are never logged nor
put in the audit trail.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import current_app

from competition.accounts import passkeys, passwords, sessions, throttle, totp
from competition.accounts.models import RecoveryCode, Role, TotpFactor, User
from competition.accounts.operations import LoginRefused
from competition.accounts.second_factor import (
    find_totp,
    has_second_factor,
    remove_recovery_codes,
    remove_second_factors,
    unused_recovery_codes,
)
from competition.audit.operations import record_event
from competition.db import add_unique, operation
from competition.errors import DomainError, PermissionDenied
from competition.extensions import db
from competition.i18n import gettext as _
from competition.notifications.operations import notify

# How a person signed in with a second step, as the audit trail names it.
METHOD_TOTP = "totp"
METHOD_RECOVERY_CODE = "recovery_code"
METHOD_PASSKEY = "passkey"


def _settings():  # type: ignore[no-untyped-def]
    return current_app.extensions["settings"]


def _secret_key() -> str:
    return str(current_app.config["SECRET_KEY"])


def _window() -> dt.timedelta:
    return dt.timedelta(minutes=_settings().throttle_window_minutes)


def _too_many(wait: int) -> LoginRefused:
    return LoginRefused(
        {"": [_("Too many failed attempts. Try again in %(wait)s minutes.", wait=wait)]},
        throttled=True,
    )


def _confirm_password(user: User, password: str, *, now: dt.datetime) -> None:
    """The signed-in person's password, asked again before a change to their second factors;
    wrong ones count towards the account's failed logins (a taken-over session cannot guess)."""
    bucket = throttle.bucket(_secret_key(), "login-account", user.email)
    limit = _settings().login_failures_per_account
    wait = throttle.retry_after(bucket, limit=limit, window=_window(), now=now)
    if wait is not None:
        raise _too_many(wait)
    if not passwords.verify_password(user.password_hash, password):
        throttle.note([bucket], now=now, window=_window())
        db.session.commit()  # the failure counts even though the change is refused
        raise DomainError({"password": [_("The password is not correct.")]})


def _new_recovery_codes(user: User, *, now: dt.datetime) -> list[str]:
    """Replace the person's recovery codes by ten new ones; returns them (shown once)."""
    remove_recovery_codes(user)
    codes = totp.new_recovery_codes()
    db.session.add_all(
        RecoveryCode(user_id=user.id, code_hash=totp.recovery_code_hash(code), created_at=now)
        for code in codes
    )
    record_event(
        actor=user,
        action="account.recovery_codes_generated",
        object_type="user",
        object_id=user.id,
        after={"count": len(codes)},
        now=now,
    )
    return codes


@operation
def set_up_totp(user: User, *, secret: str, code: str, now: dt.datetime) -> list[str]:
    """Keep the authenticator app whose secret the set-up page showed, once a code from it
    proves the app has it; returns ten new recovery codes, to be shown once.

    Side effects: a ``totp_factors`` row (its code counts as used); the person's recovery codes
    replaced; audit ``account.second_factor_set_up`` and ``account.recovery_codes_generated``.
    """
    if find_totp(user) is not None:
        raise DomainError(
            _("You already use an authenticator app. Disable it first to set up another one.")
        )
    if not totp.is_secret(secret):
        raise DomainError(_("The set-up has expired. Please start again."))
    step = totp.matching_step(secret, code, now=now, after=None)
    if step is None:
        raise DomainError(
            {
                "code": [
                    _(
                        "This code does not match. Enter the six digits your app shows now; "
                        "if it still fails, check that your phone's clock is set automatically."
                    )
                ]
            }
        )
    add_unique(
        TotpFactor(user_id=user.id, secret=secret, created_at=now, last_used_step=step),
        taken=DomainError(
            _("You already use an authenticator app. Disable it first to set up another one.")
        ),
    )
    record_event(
        actor=user,
        action="account.second_factor_set_up",
        object_type="user",
        object_id=user.id,
        after={"method": METHOD_TOTP},
        now=now,
    )
    return _new_recovery_codes(user, now=now)


@operation
def disable_totp(user: User, *, password: str, now: dt.datetime) -> None:
    """The person stops using their authenticator app, after giving their password again.

    Recovery codes go with it when no other second factor remains (they stand in for one).
    Side effects: the ``totp_factors`` row removed; audit ``account.second_factor_disabled``.
    """
    _confirm_password(user, password, now=now)
    factor = find_totp(user)
    if factor is None:
        raise DomainError(_("You do not use an authenticator app."))
    db.session.delete(factor)
    db.session.flush()
    recovery_codes = 0 if has_second_factor(user, fresh=True) else remove_recovery_codes(user)
    record_event(
        actor=user,
        action="account.second_factor_disabled",
        object_type="user",
        object_id=user.id,
        before={"method": METHOD_TOTP},
        after={"recovery_codes_removed": recovery_codes},
        now=now,
    )


@operation
def regenerate_recovery_codes(user: User, *, password: str, now: dt.datetime) -> list[str]:
    """Ten new recovery codes for a person with a second factor, after their password; the old
    ones stop working. Side effects: recovery codes replaced; audit
    ``account.recovery_codes_generated``."""
    _confirm_password(user, password, now=now)
    if not has_second_factor(user, fresh=True):
        raise DomainError(_("Recovery codes stand in for a second factor: set one up first."))
    return _new_recovery_codes(user, now=now)


@operation
def verify_second_step(user: User, *, code: str, client_address: str, now: dt.datetime) -> str:
    """The second step of signing in: a code of the person's authenticator app, or one of their
    recovery codes. Returns the method (``totp`` or ``recovery_code``) for ``finish_login``.

    Throttled like passwords: per account (its own count, which a correct password does not
    clear) and per client address (shared with failed passwords). A code works once: the
    authenticator's step is kept (compare-and-set), a recovery code is marked used.
    Side effects: on failure a throttle row and audit ``account.second_step_failed`` (or
    ``account.second_step_throttled``), committed though refused; on success the account's
    count cleared, and for a recovery code audit ``account.recovery_code_used``.
    """
    buckets = _second_step_buckets(user, client_address, now=now)
    method = _accept_code(user, code, now=now)
    if method is None:
        throttle.note(buckets, now=now, window=_window())
        _audit_failure(user, "account.second_step_failed", now=now)
        raise LoginRefused({"code": [_("This code is not correct, or it has already been used.")]})
    throttle.clear(buckets[0])
    return method


@operation
def verify_passkey_step(
    user: User, payload: object, *, client_address: str, now: dt.datetime
) -> str:
    """The second step of signing in with a passkey: ``payload`` is what the browser's
    ``navigator.credentials.get`` gave for the options of ``passkeys.passkey_sign_in_options``.
    Returns the method (``passkey``) for ``second_factor.open_session``.

    Throttled as codes are, in the same buckets and with the same limits (a failed passkey and
    a failed code count alike). Side effects: on failure a throttle row and audit
    ``passkey.refused`` with the reason (or ``account.second_step_throttled``), committed though
    refused; on success the passkey's sign count, audit ``passkey.used``, the account's count
    cleared.
    """
    buckets = _second_step_buckets(user, client_address, now=now)
    if not passkeys.verify_passkey_sign_in(user, payload, now=now):
        throttle.note(buckets, now=now, window=_window())
        db.session.commit()  # the failure and its audit event count though refused
        raise LoginRefused(
            {"": [_("The passkey was not accepted. Please try again, or use another passkey.")]}
        )
    throttle.clear(buckets[0])
    return METHOD_PASSKEY


def _second_step_buckets(user: User, client_address: str, *, now: dt.datetime) -> list[str]:
    """The throttle's buckets of a second step (the account's, the client address's); refuses
    with LoginRefused (throttled) while either is over its limit."""
    settings = _settings()
    account_bucket = throttle.bucket(_secret_key(), "second-factor-account", str(user.id))
    address_bucket = throttle.bucket(_secret_key(), "login-address", client_address)
    wait = throttle.first_retry_after(
        (
            (account_bucket, settings.login_failures_per_account),
            (address_bucket, settings.login_failures_per_address),
        ),
        window=_window(),
        now=now,
    )
    if wait is not None:
        _audit_failure(user, "account.second_step_throttled", now=now)
        raise _too_many(wait)
    return [account_bucket, address_bucket]


def _audit_failure(user: User, action: str, *, now: dt.datetime) -> None:
    record_event(actor=user, action=action, object_type="user", object_id=user.id, now=now)
    db.session.commit()  # kept even though the operation refuses


def _accept_code(user: User, code: str, *, now: dt.datetime) -> str | None:
    if totp.looks_like_totp(code):
        factor = find_totp(user)
        if factor is None:
            return None
        step = totp.matching_step(factor.secret, code, now=now, after=factor.last_used_step)
        if step is None:
            return None
        # Compare-and-set: of two requests with the same code, one wins.
        taken = db.session.execute(
            sa.update(TotpFactor)
            .where(
                TotpFactor.id == factor.id,
                sa.or_(TotpFactor.last_used_step.is_(None), TotpFactor.last_used_step < step),
            )
            .values(last_used_step=step)
        )
        return METHOD_TOTP if taken.rowcount else None
    used = db.session.execute(
        sa.update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == totp.recovery_code_hash(code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
    )
    if not used.rowcount:
        return None
    record_event(
        actor=user,
        action="account.recovery_code_used",
        object_type="user",
        object_id=user.id,
        after={"remaining": unused_recovery_codes(user)},
        now=now,
    )
    return METHOD_RECOVERY_CODE


@operation
def reset_second_factor(user: User, *, actor: User, now: dt.datetime) -> dict[str, int]:
    """An administrator removes every second factor of another person (a lost device), never
    their own: that would let a stolen administrator's session drop its own protection.

    The person signs in with the password alone next time and, where their role requires one,
    sets up a new factor. Returns what was removed. Side effects: factors and recovery codes
    removed; the person's sessions ended (the lost device may still be signed in); audit
    ``account.second_factor_reset``; an e-mail to the person.
    """
    if not actor.has_role(Role.ADMIN):
        raise PermissionDenied(_("Only administrators can reset a second factor."))
    if user.id == actor.id:
        raise PermissionDenied(
            _("You cannot reset your own second factor; ask another administrator.")
        )
    removed = remove_second_factors(user)
    if not any(name != "recovery_codes" for name in removed):
        raise DomainError(_("%(email)s has no second factor to reset.", email=user.email))
    sessions.end_sessions(user, reason="second factor reset", now=now)
    record_event(
        actor=actor,
        action="account.second_factor_reset",
        object_type="user",
        object_id=user.id,
        before={"removed": removed},
        now=now,
    )
    notify(
        to=user,
        template="accounts/second_factor_reset",
        context={"name": user.name, "admin": actor.name},
        dedup_key=f"accounts.second_factor_reset:{user.id}:{now.isoformat()}",
        now=now,
    )
    return removed
